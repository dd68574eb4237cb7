// What was sent under each marker, written down before the request goes out: X has no idempotency key, so
// this record (the send journal, send-journal.ts; the app keeps it in PostgreSQL for every worker) is what
// reconcile.ts matches the account's timeline against, and what tells publish that a duplicate answer is the
// earlier send of the same marker.
import type { SendJournal } from '../send-journal.ts';
import { SentPosts } from '../sent-posts.ts';
import { PROVIDER } from './api.ts';

/** What one marker sent. */
export interface Attempt {
  text: string;
  replyTo?: string;
}

export type Attempts = SentPosts<Attempt>;

export const xAttempts = (journal: SendJournal | undefined): Attempts => new SentPosts<Attempt>(PROVIDER, journal);
