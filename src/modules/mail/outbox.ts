// Mail is written to the outbox in the caller's transaction and delivered by a job, so a mail exists if
// and only if what caused it was committed, and delivery is retried with backoff when SMTP fails.
import { desc, eq, sql } from 'drizzle-orm';
import type { Db, DbOrTx } from '../../infra/db/client.ts';
import { addJob } from '../../infra/queue/add-job.ts';
import { mailAttachments, mailOutbox } from './schema.ts';
import type { Mail } from './templates.ts';

export const SEND_MAIL_TASK = 'send_mail';

export async function queueMail(db: DbOrTx, to: string, mail: Mail): Promise<string> {
  const [row] = await db.insert(mailOutbox).values({ to, subject: mail.subject, text: mail.text, html: mail.html ?? null, template: mail.template })
    .returning({ id: mailOutbox.id });
  if (mail.attachments?.length) {
    await db.insert(mailAttachments).values(mail.attachments.map((a) => ({ mailId: row!.id, filename: a.filename, contentType: a.contentType, content: a.content })));
  }
  await addJob(db, SEND_MAIL_TASK, { id: row!.id }, { maxAttempts: 10 });
  return row!.id;
}

export async function recentMail(db: Db, opts: { to?: string; limit?: number } = {}) {
  const q = db.select().from(mailOutbox).orderBy(desc(mailOutbox.createdAt)).limit(opts.limit ?? 20);
  return opts.to ? q.where(eq(mailOutbox.to, opts.to.trim().toLowerCase())) : q;
}

export async function markSent(db: Db, id: string): Promise<void> {
  await db.update(mailOutbox).set({ sentAt: sql`now()`, attempts: sql`${mailOutbox.attempts} + 1` }).where(eq(mailOutbox.id, id));
}

export async function markFailed(db: Db, id: string, error: string): Promise<void> {
  await db.update(mailOutbox).set({ attempts: sql`${mailOutbox.attempts} + 1`, lastError: error.slice(0, 500) }).where(eq(mailOutbox.id, id));
}
