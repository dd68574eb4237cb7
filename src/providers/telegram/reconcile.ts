// Finding a Telegram message again after an unknown outcome. The Bot API has no idempotency key, and a
// bot cannot read a chat's history back (there is no method that lists a chat's messages: a bot sees new
// messages only as updates, https://core.telegram.org/bots/api#getting-updates, which AllIN does not
// consume, since a bot has one update stream and the user's own bot may be reading it). So what was sent
// is written in the send journal before the request goes out, and afterwards:
// - no record under the marker: nothing was ever sent, so the post is absent (a retry is safe);
// - a record: the message may exist, and nothing can tell. That is said as it is (`cannot_reconcile`),
//   which the publishing engine turns into the `unknown` outcome for a person to check.
import { SentPosts } from '../sent-posts.ts';
import type { SendJournal } from '../send-journal.ts';
import { ProviderError, type AccountRef, type PublishedPost } from '../types.ts';
import { PROVIDER } from './errors.ts';

export interface SentMessage {
  /** The Bot API method used (sendMessage, sendPhoto, sendMediaGroup, …). */
  method: string;
  replyTo?: string;
}

export function telegramSent(journal?: SendJournal): SentPosts<SentMessage> {
  return new SentPosts<SentMessage>(PROVIDER, journal);
}

export async function findByMarker(sent: SentPosts<SentMessage>, account: AccountRef, marker: string): Promise<PublishedPost | null> {
  const record = await sent.get(account.externalId, marker);
  if (!record) return null;
  throw new ProviderError('permanent',
    `Telegram: a ${record.method} to ${account.username} was sent at ${new Date(record.firstSentAt).toISOString()} without an answer, and a bot cannot read the chat back to see whether it arrived; check the chat before publishing again`,
    { provider: PROVIDER, reason: 'cannot_reconcile' });
}
