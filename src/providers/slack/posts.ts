// Publishing to a Slack channel: text with chat.postMessage (https://docs.slack.dev/reference/methods/chat.postMessage)
// as section blocks of mrkdwn text (3,000 characters a section: https://docs.slack.dev/reference/block-kit/blocks/section-block)
// with the text itself as the notification fallback, or the post's own blocks; files through the external upload flow
// (media.ts) shared with the text as their comment (files.completeUploadExternal); the next part of a thread, and a
// first comment, as replies in the thread of the first message (thread_ts, always the root's). Text is escaped as
// Slack asks (&, <, > as &amp; &lt; &gt;: https://docs.slack.dev/messaging/formatting-message-text#escaping), so what
// is counted is what people read. Figures: the reactions on a message and its replies (reactions.get:
// https://docs.slack.dev/reference/methods/reactions.get).
import { pollUntilReady } from '../poll.ts';
import { postMetrics } from '../post-metrics.ts';
import type { SentPosts } from '../sent-posts.ts';
import { countText } from '../text.ts';
import { ProviderError, type AccountRef, type PostMetrics, type ProviderLimits, type PublishRequest, type PublishedPost } from '../types.ts';
import type { SlackApi } from './api.ts';
import { PROVIDER } from './errors.ts';
import { memberChannels } from './identities.ts';
import { checkFiles, uploadFiles } from './media.ts';
import { CHANNEL_ID, slackOptionProblems, type SlackOptions } from './options.ts';
import { EVENT_TYPE, parseRemote, remote, searchChannel, type SentMessage } from './reconcile.ts';

const SECTION = 3000;

const refuse = (why: string, reason = 'refused_before_sending') => new ProviderError('permanent', `Slack: ${why}`, { provider: PROVIDER, reason });

/** Text as Slack's mrkdwn takes it: the three control characters escaped. */
export const escapeText = (s: string): string => s.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;');

/** Sections of at most 3,000 characters, cut at a paragraph, a line or a space where one is near. */
export function sections(text: string): Record<string, unknown>[] {
  const out: Record<string, unknown>[] = [];
  let rest = text;
  while (rest.length > 0) {
    let cut = rest.length;
    if (rest.length > SECTION) {
      const window = rest.slice(0, SECTION);
      cut = Math.max(window.lastIndexOf('\n\n'), window.lastIndexOf('\n'), window.lastIndexOf(' '));
      if (cut < SECTION / 2) cut = SECTION;
      // Never between the halves of a surrogate pair.
      if (/[\uD800-\uDBFF]/.test(rest[cut - 1] ?? '')) cut--;
    }
    out.push({ type: 'section', text: { type: 'mrkdwn', text: rest.slice(0, cut) } });
    rest = rest.slice(cut).replace(/^\n+/, '');
  }
  return out;
}

export function readOptions(options: Record<string, unknown> | undefined): SlackOptions {
  const problems = slackOptionProblems(options);
  if (problems.length > 0) throw refuse(problems.join('; '), 'bad_option');
  return options as unknown as SlackOptions;
}

export function slackPosts(api: SlackApi, limits: ProviderLimits, sent: SentPosts<SentMessage>, url: (account: AccountRef) => (channel: string, ts: string, root?: string) => string | undefined) {
  /** The channel's id: as given, or found by name among the channels the app is in. */
  const channelId = async (token: string, channel: string): Promise<string> => {
    if (CHANNEL_ID.test(channel)) return channel;
    const name = channel.replace(/^#/, '');
    const hit = (await memberChannels(api, token)).find((c) => c.name === name);
    if (!hit) throw refuse(`the app is not in a channel named #${name}: invite it there (/invite @AllIN), or give the channel's id`, 'channel_not_found');
    return hit.id;
  };

  return {
    async publish(account: AccountRef, post: PublishRequest): Promise<PublishedPost> {
      const options = readOptions(post.options);
      const token = account.tokens.accessToken;
      checkFiles(post.media);
      const text = escapeText(post.text);
      const length = countText(limits.textCounting, text);
      if (length > limits.maxTextLength) throw refuse(`the text is ${length} characters; Slack takes ${limits.maxTextLength}`);
      if (post.text.trim() === '' && post.media.length === 0 && !options.blocks) throw refuse('the message is empty');
      let channel: string;
      let root: string | undefined;
      if (post.replyTo !== undefined) {
        const parent = parseRemote(post.replyTo);
        if (!parent) throw refuse(`"${post.replyTo.slice(0, 60)}" is not a Slack message to reply to`);
        channel = parent.channel;
        root = parent.root;
      } else {
        channel = await channelId(token, options.channel);
      }
      const link = url(account);

      if (post.media.length > 0) {
        const fileIds = await uploadFiles(api, token, post.media);
        await sent.record(account.externalId, post.marker, { channel, ...(root ? { threadTs: root } : {}), fileIds });
        const sentAt = Date.now();
        await api.write(token, 'files.completeUploadExternal', {
          files: fileIds.map((id) => ({ id })), channel_id: channel, ...(text !== '' ? { initial_comment: text } : {}), ...(root ? { thread_ts: root } : {}),
        }, { form: true, creates: true });
        // The answer names the files, not the message; Slack shares them in the channel a moment later (UNCONFIRMED
        // how long): the message is read back by its file ids.
        let found: string | undefined;
        const seen = await pollUntilReady({ firstDelayMs: 250, maxDelayMs: 2000, deadlineMs: 10_000 }, async () => {
          const hit = await searchChannel(api, token, { channel, ...(root ? { threadTs: root } : {}), fileIds }, post.marker, sentAt - 60_000);
          found = hit?.ts;
          return found !== undefined;
        });
        if (!seen || !found) throw new ProviderError('unknown_outcome', 'Slack: the files were shared, but their message has not appeared in the channel yet', { provider: PROVIDER, reason: 'not_yet_visible' });
        return remote(channel, found, root, link);
      }

      const body: Record<string, unknown> = {
        channel, text: text.slice(0, 40_000),
        blocks: options.blocks ?? sections(text),
        metadata: { event_type: EVENT_TYPE, event_payload: { marker: post.marker } },
        unfurl_links: options.unfurlLinks === true,
        ...(root ? { thread_ts: root, ...(options.broadcast ? { reply_broadcast: true } : {}) } : {}),
      };
      if ((body.blocks as unknown[]).length > 50) throw refuse('the text makes more than 50 sections; shorten it');
      // Written down before the request leaves: the evidence reconcile.ts reads after an unknown outcome.
      await sent.record(account.externalId, post.marker, { channel, ...(root ? { threadTs: root } : {}) });
      const r = await api.write<{ channel?: string; ts?: string }>(token, 'chat.postMessage', body, { creates: true });
      if (typeof r.ts !== 'string') throw new ProviderError('unknown_outcome', 'Slack: chat.postMessage answered without the message\'s ts', { provider: PROVIDER, reason: 'malformed_response' });
      return remote(r.channel ?? channel, r.ts, root, link);
    },

    async metrics(account: AccountRef, remoteId: string): Promise<PostMetrics> {
      const m = parseRemote(remoteId);
      if (!m) throw refuse(`"${remoteId.slice(0, 60)}" is not a Slack message`, 'bad_remote_id');
      const r = await api.read<{ message?: { reactions?: { count?: unknown }[]; reply_count?: unknown } }>(account.tokens.accessToken, 'reactions.get', { channel: m.channel, timestamp: m.ts, full: 'true' });
      const reactions = r.message?.reactions ?? [];
      const likes = reactions.reduce((n, x) => n + (typeof x.count === 'number' ? x.count : 0), 0);
      return postMetrics({ likes, replies: typeof r.message?.reply_count === 'number' ? r.message.reply_count : 0 });
    },
  };
}
