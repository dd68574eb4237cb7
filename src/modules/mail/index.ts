// The mail module's public surface: what other modules use to send a mail.
export { queueMail } from './outbox.ts';
export { templates } from './templates.ts';
export type { Mail, MailAttachment } from './templates.ts';
