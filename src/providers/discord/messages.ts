// Publishing to a Discord channel through its webhook: Execute Webhook with `wait=true`, so the answer is
// the message itself (https://discord.com/developers/docs/resources/webhook#execute-webhook). Text is
// `content` (up to 2000 characters); embeds come from the target's options; media go as files in a
// multipart request, `files[n]` with the JSON in `payload_json` and each file's alt text as its attachment
// `description` (https://discord.com/developers/docs/reference#uploading-files). In a forum or media channel
// the first message starts a post titled by `threadName` (thread_name); a thread's next parts go into the
// thread the previous part is in (thread_id), and in a text channel they follow as messages of their own,
// since a webhook cannot reply to a message (Execute Webhook takes no message_reference). A message is
// known as "<channel id>/<message id>": the channel is the thread when it is in one, which deleting needs.
// Discord gives a webhook no figures of its messages (no views; reactions only through a bot), so there are
// no metrics.
import { countText } from '../text.ts';
import type { SentPosts } from '../sent-posts.ts';
import { ProviderError, type AccountRef, type MediaItem, type ProviderLimits, type PublishRequest, type PublishedPost } from '../types.ts';
import type { WebhookApi } from './api.ts';
import { PROVIDER } from './errors.ts';
import { discordOptionProblems, readDiscordOptions } from './options.ts';
import type { SentMessage } from './reconcile.ts';
import { messageUrl, refOf } from './webhook.ts';

/** "MiB" as the docs write it: 10 × 2^20 bytes per file, the default for every server (boosts raise it). */
export const MAX_FILE_BYTES = 10 * 1024 * 1024;
export const MAX_FILES = 10;
/** SUPPRESS_NOTIFICATIONS (1 << 12): https://discord.com/developers/docs/resources/message#message-object-message-flags */
const SUPPRESS_NOTIFICATIONS = 1 << 12;

interface Message { id: string; channel_id: string; webhook_id?: string }

const refuse = (why: string, reason = 'refused_before_sending') => new ProviderError('permanent', `Discord: ${why}`, { provider: PROVIDER, reason });

/** "<channel id>/<message id>" read back, or why it is not one. */
export function parseRemoteId(remoteId: string): { channelId: string; messageId: string } {
  const m = /^(\d{1,21})\/(\d{1,21})$/.exec(remoteId);
  if (!m) throw refuse(`"${remoteId.slice(0, 50)}" is not a Discord message of AllIN's (channel/message)`, 'bad_remote_id');
  return { channelId: m[1]!, messageId: m[2]! };
}

const EXT: Record<string, string> = { 'image/jpeg': 'jpg', 'image/png': 'png', 'image/gif': 'gif', 'image/webp': 'webp', 'video/mp4': 'mp4', 'video/quicktime': 'mov' };

function checkMedia(media: MediaItem[], limits: ProviderLimits): void {
  if (media.length > MAX_FILES) throw refuse(`a message holds at most ${MAX_FILES} files; this has ${media.length}`, 'media_refused');
  media.forEach((m, i) => {
    const types = [...limits.media.imageTypes, ...limits.media.videoTypes];
    if (!types.includes(m.mimeType)) throw refuse(`file ${i + 1} is ${m.mimeType}; AllIN sends ${types.join(', ')} to Discord`, 'media_refused');
    if (m.bytes > MAX_FILE_BYTES) throw refuse(`file ${i + 1} is ${m.bytes} bytes; a webhook uploads files of at most 10 MiB (10,485,760 bytes)`, 'media_refused');
  });
}

export function discordMessages(api: WebhookApi, limits: ProviderLimits, sent: SentPosts<SentMessage>) {
  return {
    async publish(account: AccountRef, post: PublishRequest): Promise<PublishedPost> {
      const problems = discordOptionProblems(post.options);
      if (problems.length > 0) throw refuse(problems.join('; '), 'bad_option');
      const options = readDiscordOptions(post.options);
      checkMedia(post.media, limits);
      const length = countText(limits.textCounting, post.text);
      if (length > limits.maxTextLength) throw refuse(`the text is ${length} characters; Discord allows ${limits.maxTextLength}`);
      if (post.text.trim() === '' && post.media.length === 0 && !options.embeds) throw refuse('the message is empty');
      const webhookChannel = typeof account.data.channelId === 'string' ? account.data.channelId : undefined;

      // Where it goes: the thread of the part it follows, a thread named in the options, or the channel.
      let threadId = options.threadId;
      let threadName = options.threadName;
      if (post.replyTo !== undefined) {
        const prev = parseRemoteId(post.replyTo);
        threadName = undefined; // the post (thread) was started by the first part
        threadId = prev.channelId !== webhookChannel ? prev.channelId : undefined;
      }
      const payload: Record<string, unknown> = {
        ...(post.text !== '' ? { content: post.text } : {}),
        ...(options.embeds ? { embeds: options.embeds } : {}),
        ...(threadName ? { thread_name: threadName } : {}),
        ...(options.silent ? { flags: SUPPRESS_NOTIFICATIONS } : {}),
      };
      // The files are read before anything is written down, so a failed read leaves no trace of a send.
      let body: Record<string, unknown> | FormData = payload;
      if (post.media.length > 0) {
        const form = new FormData();
        const attachments = [];
        for (const [i, m] of post.media.entries()) {
          const bytes = await m.read();
          const filename = `file${i}.${EXT[m.mimeType] ?? 'bin'}`;
          form.append(`files[${i}]`, new Blob([new Uint8Array(bytes)], { type: m.mimeType }), filename);
          attachments.push({ id: i, filename, ...(m.altText ? { description: m.altText.slice(0, 1024) } : {}) });
        }
        form.append('payload_json', JSON.stringify({ ...payload, attachments }));
        body = form;
      }
      // Written down before the request leaves: the only evidence there is after an unknown outcome.
      await sent.record(account.externalId, post.marker, { ...(threadId ? { threadId } : {}), ...(threadName ? { threadName } : {}), ...(post.replyTo !== undefined ? { replyTo: post.replyTo } : {}) });

      const msg = await api.execute<Message>(refOf(account), body, threadId);
      if (typeof msg?.id !== 'string' || !/^\d+$/.test(msg.id) || typeof msg.channel_id !== 'string') {
        throw new ProviderError('unknown_outcome', 'Discord: the webhook answered without the message it sent', { provider: PROVIDER, reason: 'malformed_response' });
      }
      const url = messageUrl(account.data.guildId, msg.channel_id, msg.id);
      return { remoteId: `${msg.channel_id}/${msg.id}`, ...(url ? { url } : {}) };
    },

    /** Deletes a message the webhook sent; one already gone counts as deleted. */
    async deletePost(account: AccountRef, remoteId: string): Promise<void> {
      const { channelId, messageId } = parseRemoteId(remoteId);
      const webhookChannel = typeof account.data.channelId === 'string' ? account.data.channelId : undefined;
      await api.deleteMessage(refOf(account), messageId, channelId !== webhookChannel ? channelId : undefined);
    },
  };
}
