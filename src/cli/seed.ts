// `allin seed`: fills an empty database with an agency-sized dataset (src/seed/plan.ts), the same rows for
// the same seed, scale and anchor, for benchmarks and load tests at scale (docs/PERFORMANCE.md, Data scale).
// It refuses a database that holds users, workspaces, accounts or posts unless --force, which empties it
// first; in production it refuses such a database even then, and wants its own password.
import { parseArgs } from 'node:util';
import type { Config } from '../config.ts';
import { parseEncryptionKeys } from '../config.ts';
import type { Logger } from '../infra/logger.ts';
import { safeUrl } from '../infra/logger.ts';
import { withDatabase } from '../infra/db/connect.ts';
import { databaseTarget } from '../dev-secrets.ts';
import { applyMigrations } from '../infra/db/migrate.ts';
import { TokenCipher } from '../infra/crypto/token-cipher.ts';
import { PasswordHasher, passwordProblem } from '../modules/auth/passwords.ts';
import { LocalDiskStorage } from '../modules/media/storage.ts';
import { seedPlan, planTotals, DEFAULT_SEED_PASSWORD, SEED_OWNER_EMAIL, LARGEST_WORKSPACE_NAME, BASELINE_WORKSPACE_NAME } from '../seed/plan.ts';
import { seedDatabase } from '../seed/seeder.ts';
import { databaseContents, describeContents, emptyDatabase, isEmpty } from '../seed/guard.ts';
import { datasetFingerprint } from '../seed/fingerprint.ts';

export const SEED_USAGE = `Usage: allin seed [--scale N] [--seed N] [--now ISO] [--password PW] [--force] [--fingerprint] [--json]

Fills an empty database with an agency-sized dataset, the same for the same seed, scale and --now:
50 workspaces; the largest ("${LARGEST_WORKSPACE_NAME}") with 100 Sandbox accounts, 25 members and
100,000 posts over two years (one back, one ahead) with variants, threads and media, 300,000 targets in
every state, attempt logs, metrics, audit log and webhook deliveries; "${BASELINE_WORKSPACE_NAME}" with
exactly 20 posts; 48 smaller ones. About a minute on two cores.

  --scale N         fraction of the full size, (0, 1] (default 1; 0.01 for a quick one)
  --seed N          the seed (default 1): the same seed gives the same data
  --now ISO         the instant the two years are built around (default: now, to the minute); within
                    the last 10 minutes or the next day, so what is scheduled is still ahead
  --password PW     every seeded member's password (default: ${DEFAULT_SEED_PASSWORD}, printed;
                    also ALLIN_SEED_PASSWORD; required in production)
  --force           empty the database first if it holds anything (never in production)
  --fingerprint     print a digest of the data (the same for the same seed, scale and --now)
  --json            print the summary as JSON

The database is DATABASE_URL (or the embedded one of \`npm start\` in this folder); media files go to MEDIA_DIR.`;

const MIB = 1024 * 1024;

export async function seedCommand(args: string[], config: Config, log: Logger): Promise<number> {
  let values;
  try {
    ({ values } = parseArgs({
      args, strict: true,
      options: {
        scale: { type: 'string' }, seed: { type: 'string' }, now: { type: 'string' }, password: { type: 'string' }, force: { type: 'boolean' },
        fingerprint: { type: 'boolean' }, json: { type: 'boolean' }, help: { type: 'boolean', short: 'h' },
      },
    }));
  } catch (err) {
    console.error(`allin seed: ${(err as Error).message}\n\n${SEED_USAGE}`);
    return 64;
  }
  if (values.help) {
    console.log(SEED_USAGE);
    return 0;
  }
  const usage = (why: string) => {
    console.error(`allin seed: ${why}\n\n${SEED_USAGE}`);
    return 64;
  };
  const scale = values.scale === undefined ? 1 : Number(values.scale);
  if (!(scale > 0 && scale <= 1)) return usage(`--scale: "${values.scale}" is not a number above 0 and at most 1`);
  const seed = values.seed === undefined ? 1 : Number(values.seed);
  if (!Number.isSafeInteger(seed)) return usage(`--seed: "${values.seed}" is not a whole number`);
  const realNow = Date.now();
  const anchor = values.now === undefined ? new Date(Math.floor(realNow / 60_000) * 60_000) : new Date(values.now);
  if (Number.isNaN(anchor.getTime())) return usage(`--now: "${values.now}" is not an instant (e.g. 2026-12-07T10:00:00Z)`);
  if (anchor.getTime() < realNow - 10 * 60_000 || anchor.getTime() > realNow + 86_400_000) {
    return usage(`--now: ${anchor.toISOString()} is too far from the present: targets scheduled between it and now would all be due at once, or published posts would lie in the future. Give an instant within the last 10 minutes or the next day`);
  }
  const production = config.NODE_ENV === 'production';
  const password = values.password ?? process.env.ALLIN_SEED_PASSWORD ?? (production ? undefined : DEFAULT_SEED_PASSWORD);
  if (!password) return usage('in production the seeded members need a password of your own: --password or ALLIN_SEED_PASSWORD (the default one is public)');
  const weak = passwordProblem(password, [SEED_OWNER_EMAIL]);
  if (weak) return usage(`--password ${weak}`);

  const plan = seedPlan(seed, scale);
  return withDatabase(databaseTarget(config), log, async (pool) => {
    await applyMigrations(pool, log);
    const where = config.DATABASE_URL ? safeUrl(config.DATABASE_URL) : `the embedded PostgreSQL in ${config.ALLIN_HOME}`;
    const contents = await databaseContents(pool);
    if (!isEmpty(contents)) {
      if (!values.force) {
        console.error(`allin seed: ${where} is not empty (${describeContents(contents)}). Seed a new database (createdb, then DATABASE_URL), or give --force to empty this one first.`);
        return 65;
      }
      if (production) {
        console.error(`allin seed: ${where} is a production database (NODE_ENV=production) and is not empty (${describeContents(contents)}): it is never emptied. Seed a new database.`);
        return 65;
      }
      console.error(`Emptying ${where} (${describeContents(contents)}), as --force asks.`);
      await emptyDatabase(pool);
    }
    const totals = planTotals(plan);
    const say = values.json ? () => {} : (line: string) => console.log(line);
    say(`Seeding ${where}: seed ${seed}, scale ${scale}, anchor ${anchor.toISOString()}`);
    say(`  ${totals.workspaces} workspaces, ${totals.users} users, ${totals.accounts} accounts, ${totals.posts.toLocaleString('en-US')} posts, ${totals.targets.toLocaleString('en-US')} targets, ${totals.media} media, ${totals.inboxMessages.toLocaleString('en-US')} inbox messages`);
    // One hash for every member: argon2id is slow on purpose, and they all share the password.
    const passwordHash = await new PasswordHasher({ maxWaitMs: 60_000 }).hash(password);
    const result = await seedDatabase(pool, {
      plan, anchor, passwordHash, progress: say,
      cipher: new TokenCipher(parseEncryptionKeys(config.ENCRYPTION_KEYS!).keys),
      storage: new LocalDiskStorage(config.MEDIA_DIR),
      simulatorUrl: config.SIMULATOR_URL ?? 'http://127.0.0.1:7070',
    });
    const fingerprint = values.fingerprint ? await datasetFingerprint(pool) : undefined;
    const largest = result.workspaces[0]!;
    const baseline = result.workspaces[1]!;
    if (values.json) {
      console.log(JSON.stringify({
        seed, scale, anchor: anchor.toISOString(), seconds: result.seconds, analyzeSeconds: result.analyzeSeconds, databaseBytes: result.databaseBytes,
        steps: result.steps, rows: result.rows, targetStates: result.targetStates, workspaces: result.workspaces, signIn: { email: SEED_OWNER_EMAIL, password },
        ...(fingerprint ? { fingerprint } : {}),
      }, null, 2));
      return 0;
    }
    const n = (x: number) => x.toLocaleString('en-US');
    say('');
    say(`Seeded in ${result.seconds.toFixed(1)} s (statistics ${result.analyzeSeconds.toFixed(1)} s more); the database is now ${n(Math.round(result.databaseBytes / MIB))} MiB.`);
    say(`  rows: ${Object.entries(result.rows).map(([t, c]) => `${t} ${n(c)}`).join(', ')}`);
    say(`  targets by state: ${Object.entries(result.targetStates).map(([s, c]) => `${s} ${n(c)}`).join(', ')}`);
    say(`  largest: "${largest.name}" ${largest.id}: ${largest.accounts} accounts, ${largest.members} members, ${n(largest.posts)} posts, ${n(largest.targets)} targets`);
    say(`  baseline: "${baseline.name}" ${baseline.id}: ${baseline.accounts} accounts, ${baseline.members} members, ${n(baseline.posts)} posts, ${n(baseline.targets)} targets`);
    if (fingerprint) say(`  fingerprint: ${fingerprint.digest}`);
    say('');
    say(`Sign in as ${SEED_OWNER_EMAIL} (owner of both) or any seeded member (agency-editor-01@seed.example.com, client02-owner@seed.example.com, …)`);
    say(`with the password ${password}`);
    say('Media files are in MEDIA_DIR; the Sandbox accounts\' tokens are placeholders the network simulator never issued (see docs/PERFORMANCE.md, Data scale).');
    say('Load test: LIMIT_API_USER=1000000/60 allin serve (or start) on this database, then allin loadtest agency --url http://127.0.0.1:7000');
    return 0;
  });
}
