// Publishing to a Telegram chat: text with sendMessage (1-4096 characters), one photo, video or file with
// sendPhoto / sendVideo / sendDocument and the text as its caption (0-1024 characters), 2-10 items as an
// album with sendMediaGroup (the caption on the first item), and the next part of a thread as a reply in
// the same chat (reply_parameters.message_id). Text goes without parse_mode, so what is counted is what
// is sent. (https://core.telegram.org/bots/api#sendmessage, #sendphoto, #sendvideo, #senddocument,
// #sendmediagroup, #replyparameters.) The Bot API gives bots no view or reaction counts of a message
// (the Message object has none: https://core.telegram.org/bots/api#message), so there are no metrics.
import { countText } from '../text.ts';
import type { SentPosts } from '../sent-posts.ts';
import { ProviderError, type AccountRef, type ProviderLimits, type PublishRequest, type PublishedPost } from '../types.ts';
import type { BotApi } from './api.ts';
import { messageUrl } from './chat.ts';
import { PROVIDER } from './errors.ts';
import { filePart, mediaKinds, type MediaKind } from './media.ts';
import type { SentMessage } from './reconcile.ts';

interface Message { message_id: number; chat: { id: number; username?: string } }

/** The options a Telegram target takes (checked when the post is saved too: src/modules/posts/validate.ts). */
export interface TelegramOptions {
  /** Sends without a notification sound (disable_notification). */
  silent?: boolean;
  /** Sends images and videos as files (sendDocument), uncompressed. */
  asDocuments?: boolean;
}

export const TELEGRAM_OPTION_KEYS = ['silent', 'asDocuments'] as const;

const refuse = (why: string, reason = 'refused_before_sending') => new ProviderError('permanent', `Telegram: ${why}`, { provider: PROVIDER, reason });

export function readOptions(options: Record<string, unknown> | undefined): TelegramOptions {
  const o = options ?? {};
  for (const k of Object.keys(o)) if (!(TELEGRAM_OPTION_KEYS as readonly string[]).includes(k)) throw refuse(`unknown option "${k}" (Telegram takes ${TELEGRAM_OPTION_KEYS.join(', ')})`, 'bad_option');
  for (const k of TELEGRAM_OPTION_KEYS) if (o[k] !== undefined && typeof o[k] !== 'boolean') throw refuse(`the option "${k}" is true or false`, 'bad_option');
  return { ...(o.silent === true ? { silent: true } : {}), ...(o.asDocuments === true ? { asDocuments: true } : {}) };
}

const METHOD: Record<MediaKind, string> = { photo: 'sendPhoto', video: 'sendVideo', document: 'sendDocument' };

export function telegramPosts(api: BotApi, limits: ProviderLimits, sent: SentPosts<SentMessage>) {
  return {
    async publish(account: AccountRef, post: PublishRequest): Promise<PublishedPost> {
      const options = readOptions(post.options);
      const kinds = mediaKinds(post.media, limits.media, options.asDocuments === true);
      const length = countText(limits.textCounting, post.text);
      const max = post.media.length > 0 ? limits.maxCaptionLength ?? limits.maxTextLength : limits.maxTextLength;
      if (length > max) throw refuse(`the ${post.media.length > 0 ? 'caption' : 'text'} is ${length} characters; Telegram allows ${max}`);
      if (post.media.length === 0 && post.text.trim() === '') throw refuse('the message is empty');
      let replyTo: number | undefined;
      if (post.replyTo !== undefined) {
        if (!/^\d{1,15}$/.test(post.replyTo)) throw refuse(`"${post.replyTo.slice(0, 40)}" is not a message id to reply to`);
        replyTo = Number(post.replyTo);
      }
      const common = {
        chat_id: account.externalId,
        ...(replyTo !== undefined ? { reply_parameters: { message_id: replyTo } } : {}),
        ...(options.silent ? { disable_notification: true } : {}),
      };
      const token = account.tokens.accessToken;
      const method = post.media.length === 0 ? 'sendMessage' : post.media.length === 1 ? METHOD[kinds[0]!] : 'sendMediaGroup';
      // The files are read before anything is written down, so a failed read leaves no trace of a send.
      let form: FormData | undefined;
      if (post.media.length > 0) {
        form = new FormData();
        for (const [k, v] of Object.entries(common)) form.append(k, typeof v === 'object' ? JSON.stringify(v) : String(v));
        if (post.media.length === 1) {
          const { blob, fileName } = await filePart(post.media[0]!, 'file0');
          form.append(kinds[0]!, blob, fileName);
          if (post.text !== '') form.append('caption', post.text);
        } else {
          const items = [];
          for (const [i, m] of post.media.entries()) {
            const { blob, fileName } = await filePart(m, `file${i}`);
            form.append(`file${i}`, blob, fileName);
            items.push({ type: kinds[i]!, media: `attach://file${i}`, ...(i === 0 && post.text !== '' ? { caption: post.text } : {}) });
          }
          form.append('media', JSON.stringify(items));
        }
      }
      // Written down before the request leaves: the only evidence there is after an unknown outcome.
      await sent.record(account.externalId, post.marker, { method, ...(post.replyTo !== undefined ? { replyTo: post.replyTo } : {}) });

      let first: Message;
      if (!form) {
        first = await api.send<Message>(token, method, { ...common, text: post.text });
      } else if (method !== 'sendMediaGroup') {
        first = await api.send<Message>(token, method, form, true);
      } else {
        const messages = await api.send<Message[]>(token, method, form, true);
        if (!Array.isArray(messages) || !messages[0]) throw new ProviderError('unknown_outcome', 'Telegram: sendMediaGroup answered without the messages it sent', { provider: PROVIDER, reason: 'malformed_response' });
        first = messages[0];
      }
      if (typeof first?.message_id !== 'number') throw new ProviderError('unknown_outcome', `Telegram: ${method} answered without a message_id`, { provider: PROVIDER, reason: 'malformed_response' });
      const url = messageUrl({ id: first.chat?.id ?? account.externalId, username: first.chat?.username }, first.message_id);
      return { remoteId: String(first.message_id), ...(url ? { url } : {}) };
    },
  };
}
