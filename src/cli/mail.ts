// `allin mail [--to EMAIL] [--limit N]`: the outgoing mail in the outbox, newest first. In development
// (no MAIL_URL) this is where verification and reset links are read.
import { parseArgs } from 'node:util';
import type { Config } from '../config.ts';
import type { Logger } from '../infra/logger.ts';
import { withDatabase } from '../infra/db/connect.ts';
import { databaseTarget } from '../dev-secrets.ts';
import { applyMigrations } from '../infra/db/migrate.ts';
import { createDb } from '../infra/db/client.ts';
import { recentMail } from '../modules/mail/outbox.ts';

export async function mailCommand(args: string[], config: Config, log: Logger): Promise<number> {
  const { values } = parseArgs({ args, options: { to: { type: 'string' }, limit: { type: 'string' }, json: { type: 'boolean' } } });
  const limit = Math.min(100, Math.max(1, Number(values.limit ?? 5) || 5));
  return withDatabase(databaseTarget(config), log, async (pool) => {
    await applyMigrations(pool, log);
    const rows = await recentMail(createDb(pool), { limit, ...(values.to ? { to: values.to } : {}) });
    if (values.json) {
      console.log(JSON.stringify(rows.map((r) => ({ ...r, createdAt: r.createdAt.toISOString(), sentAt: r.sentAt?.toISOString() ?? null }))));
      return 0;
    }
    if (rows.length === 0) console.log('No mail yet.');
    for (const m of rows) {
      console.log(`── ${m.createdAt.toISOString()}  to ${m.to}  ${m.sentAt ? '(delivered)' : '(pending)'}\nSubject: ${m.subject}\n\n${m.text}\n`);
    }
    return 0;
  });
}
