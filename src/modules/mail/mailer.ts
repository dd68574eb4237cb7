// Delivery: SMTP through nodemailer when MAIL_URL is set. Without it (development), a mail is logged
// (recipient and subject; the body may hold a token and stays in the outbox) and counts as delivered:
// read it with `allin mail` or, in development, GET /api/dev/mail.
import { createTransport, type Transporter } from 'nodemailer';
import { eq } from 'drizzle-orm';
import type { Task } from 'graphile-worker';
import type { Db } from '../../infra/db/client.ts';
import type { Logger } from '../../infra/logger.ts';
import { mailAttachments, mailOutbox } from './schema.ts';
import type { MailAttachment } from './templates.ts';
import { markFailed, markSent } from './outbox.ts';

export interface Mailer {
  kind: 'smtp' | 'outbox';
  deliver(to: string, subject: string, text: string, extra?: { html?: string | undefined; attachments?: MailAttachment[] | undefined }): Promise<void>;
  close(): void;
}

export function createMailer(opts: { url: string | undefined; from: string; log: Logger }): Mailer {
  if (!opts.url) {
    return {
      kind: 'outbox',
      async deliver(to, subject) {
        opts.log.info({ to, subject }, 'mail kept in the outbox (MAIL_URL is not set); read it with `allin mail`');
      },
      close() {},
    };
  }
  const transport: Transporter = createTransport(opts.url, { from: opts.from });
  return {
    kind: 'smtp',
    async deliver(to, subject, text, extra = {}) {
      await transport.sendMail({
        to, subject, text, ...(extra.html ? { html: extra.html } : {}),
        ...(extra.attachments?.length ? { attachments: extra.attachments.map((a) => ({ filename: a.filename, contentType: a.contentType, content: a.content })) } : {}),
      });
    },
    close() {
      transport.close();
    },
  };
}

export function sendMailTask(db: Db, mailer: Mailer, log: Logger): Task {
  return async (payload) => {
    const { id } = payload as { id: string };
    const [row] = await db.select().from(mailOutbox).where(eq(mailOutbox.id, id));
    if (!row || row.sentAt) return; // deleted, or already delivered by an earlier attempt
    try {
      const files = await db.select().from(mailAttachments).where(eq(mailAttachments.mailId, id));
      await mailer.deliver(row.to, row.subject, row.text, {
        html: row.html ?? undefined, attachments: files.map((f) => ({ filename: f.filename, contentType: f.contentType, content: f.content })),
      });
      await markSent(db, id);
    } catch (err) {
      const message = (err as Error).message;
      await markFailed(db, id, message);
      log.warn({ mailId: id, err: message }, 'mail delivery failed; it will be retried');
      throw err;
    }
  };
}
