// Finding a Slack message again after an unknown outcome. Slack has no idempotency key for chat.postMessage, and
// `client_msg_id` is set by Slack's own clients, not by an app's call. What an app's message carries, and what reading
// the channel back returns, is its metadata (https://docs.slack.dev/messaging/message-metadata): each message AllIN
// posts carries `{event_type: "allin_post", event_payload: {marker}}`, and conversations.history returns it with
// include_all_metadata=true (https://docs.slack.dev/reference/methods/conversations.history#arg_include_all_metadata),
// as conversations.replies does for a thread (https://docs.slack.dev/reference/methods/conversations.replies). Files
// are shared by files.completeUploadExternal, which takes no metadata: that message is known by its file ids, which
// exist before it is posted. What was sent (channel, thread, file ids) is written in the send journal first, so:
// - no record under the marker: nothing was sent (absent, a retry is safe);
// - a record: the channel is read back from the first send (less a margin) and the message is found or not; when
//   the pages run out before the window does, it cannot be decided (unknown_outcome), never "not found".
import type { SentPosts } from '../sent-posts.ts';
import { ProviderError, type AccountRef, type PublishedPost } from '../types.ts';
import type { SlackApi } from './api.ts';
import { PROVIDER } from './errors.ts';

export const EVENT_TYPE = 'allin_post';

export interface SentMessage {
  channel: string;
  threadTs?: string;
  /** Files shared by files.completeUploadExternal, whose message carries no metadata. */
  fileIds?: string[];
}

export interface HistoryMessage {
  ts?: string;
  thread_ts?: string;
  metadata?: { event_type?: string; event_payload?: { marker?: unknown } };
  files?: { id?: string }[];
}

const SKEW_MS = 2 * 60_000;
const PAGES = 5;

/** The message sent under `marker` (by metadata) or sharing `fileIds`, in a page of messages. */
export function matchMessage(messages: HistoryMessage[], marker: string, fileIds?: string[]): HistoryMessage | undefined {
  return messages.find((m) => (m.metadata?.event_type === EVENT_TYPE && m.metadata.event_payload?.marker === marker)
    || (fileIds && fileIds.length > 0 && (m.files ?? []).some((f) => f.id !== undefined && fileIds.includes(f.id))));
}

/** The message in the channel (or thread) since `from` (ms); null when every page since then was read without it. */
export async function searchChannel(api: SlackApi, token: string, sent: SentMessage, marker: string, from: number): Promise<HistoryMessage | null> {
  const method = sent.threadTs ? 'conversations.replies' : 'conversations.history';
  let cursor = '';
  for (let page = 0; page < PAGES; page++) {
    const r = await api.read<{ messages?: HistoryMessage[]; has_more?: boolean; response_metadata?: { next_cursor?: string } }>(token, method, {
      channel: sent.channel, ...(sent.threadTs ? { ts: sent.threadTs } : {}), oldest: (Math.max(0, from) / 1000).toFixed(6), include_all_metadata: 'true', limit: '100',
      ...(cursor ? { cursor } : {}),
    });
    const hit = matchMessage(r.messages ?? [], marker, sent.fileIds);
    if (hit?.ts) return hit;
    cursor = r.response_metadata?.next_cursor ?? '';
    if (!r.has_more || !cursor) return null;
  }
  throw new ProviderError('unknown_outcome', `Slack: the channel holds more messages since the send than AllIN reads back (${PAGES} pages); the outcome cannot be established`, { provider: PROVIDER, reason: 'cannot_reconcile' });
}

export async function findByMarker(api: SlackApi, sent: SentPosts<SentMessage>, account: AccountRef, marker: string, since: Date, url: (channel: string, ts: string, root?: string) => string | undefined): Promise<PublishedPost | null> {
  const record = await sent.get(account.externalId, marker);
  if (!record) return null;
  const from = Math.min(since.getTime(), record.firstSentAt) - SKEW_MS;
  const hit = await searchChannel(api, account.tokens.accessToken, record, marker, from);
  if (!hit?.ts) return null;
  return remote(record.channel, hit.ts, record.threadTs, url);
}

/** A message's remote id: `<channel>/<ts>`, or `<channel>/<thread root ts>/<ts>` for a reply in a thread. */
export function remote(channel: string, ts: string, root: string | undefined, url: (channel: string, ts: string, root?: string) => string | undefined): PublishedPost {
  const u = url(channel, ts, root);
  return { remoteId: root && root !== ts ? `${channel}/${root}/${ts}` : `${channel}/${ts}`, ...(u ? { url: u } : {}) };
}

/** A remote id taken apart; undefined when it is not one of AllIN's Slack ids. */
export function parseRemote(id: string): { channel: string; root: string; ts: string } | undefined {
  const parts = id.split('/');
  const ts = /^\d{1,12}\.\d{1,8}$/;
  if (parts.length < 2 || parts.length > 3 || !/^[CGD][A-Z0-9]{6,20}$/.test(parts[0]!) || !parts.slice(1).every((p) => ts.test(p))) return undefined;
  return { channel: parts[0]!, root: parts[1]!, ts: parts[parts.length - 1]! };
}
