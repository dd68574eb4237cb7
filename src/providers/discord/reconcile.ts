// Finding a Discord webhook message again after an unknown outcome. A webhook can read back only a message
// whose id it already knows (Get Webhook Message, https://discord.com/developers/docs/resources/webhook#get-webhook-message);
// it cannot list the channel. Execute Webhook takes no idempotency key: the `nonce` and `enforce_nonce`
// that make a repeated send return the first message are parameters of Create Message, the bot's call
// (https://discord.com/developers/docs/resources/message#create-message), not of Execute Webhook, whose
// parameters do not include them. So what was sent is written in the send journal before the request goes
// out, and afterwards:
// - no record under the marker: nothing was ever sent, so the post is absent (a retry is safe);
// - a record: the message may exist, and nothing can tell. That is said as it is (`cannot_reconcile`),
//   which the publishing engine turns into the `unknown` outcome for a person to check.
import { SentPosts } from '../sent-posts.ts';
import type { SendJournal } from '../send-journal.ts';
import { ProviderError, type AccountRef, type PublishedPost } from '../types.ts';
import { PROVIDER } from './errors.ts';

export interface SentMessage {
  threadId?: string;
  threadName?: string;
  replyTo?: string;
}

export function discordSent(journal?: SendJournal): SentPosts<SentMessage> {
  return new SentPosts<SentMessage>(PROVIDER, journal);
}

export async function findByMarker(sent: SentPosts<SentMessage>, account: AccountRef, marker: string): Promise<PublishedPost | null> {
  const record = await sent.get(account.externalId, marker);
  if (!record) return null;
  const where = record.threadName ? ` (a new post "${record.threadName}")` : record.threadId ? ` (in thread ${record.threadId})` : '';
  throw new ProviderError('permanent',
    `Discord: a message to ${account.username}${where} was sent at ${new Date(record.firstSentAt).toISOString()} without an answer, and a webhook cannot read its channel back to see whether it arrived; check the channel before publishing again`,
    { provider: PROVIDER, reason: 'cannot_reconcile' });
}
