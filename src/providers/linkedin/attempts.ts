// What was sent under each marker, written down before the request goes out: LinkedIn has no idempotency
// key, so this record (the send journal, send-journal.ts; the app keeps it in PostgreSQL for every worker)
// is what reconcile.ts matches posts against, and what tells publish that a duplicate answer is the
// earlier send of the same marker.
import type { SendJournal } from '../send-journal.ts';
import { SentPosts } from '../sent-posts.ts';
import { PROVIDER } from './api.ts';

/** What one marker sent. */
export interface Attempt {
  commentary: string;
  replyTo?: string;
  author: string;
}

export type Attempts = SentPosts<Attempt>;

export const linkedInAttempts = (journal: SendJournal | undefined): Attempts => new SentPosts<Attempt>(PROVIDER, journal);
