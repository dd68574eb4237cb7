// Telegram, through the Bot API. Documentation: https://core.telegram.org/bots/api (making requests,
// sendMessage, sendPhoto, sendVideo, sendDocument, sendMediaGroup, ReplyParameters, getMe, getChat,
// getChatMember, ResponseParameters, sending files). The facts used here, each with its page and status,
// are in docs/NETWORKS.md (Network facts: Telegram).
//
// A Telegram "account" in AllIN is one chat (a channel or a group) and the bot that posts there: the user
// types the chat and the bot's token (connect: bot_token). The token is stored encrypted like every
// token; it is part of each request's URL path, so it is kept out of metrics labels and error texts.
// No app registration, no OAuth, no refresh: a token lives until it is revoked in @BotFather.
//
// This file is the network's entry point: its metadata and createTelegram, which puts the parts in
// telegram/ together. Each part does one job:
//   api.ts        Bot API calls (URL with the token, GET for reads, POST for sends, the {ok, result} body)
//   errors.ts     {ok:false, error_code, description, parameters} as ProviderError kinds (retry_after)
//   chat.ts       connecting a chat: token (getMe), chat (getChat), the bot's rights (getChatMember)
//   media.ts      photo, video and file checks and multipart parts
//   posts.ts      text, one media, albums, replies (threads)
//   reconcile.ts  the send journal and the honest answer after an unknown outcome
import { botApi } from './telegram/api.ts';
import { telegramChats } from './telegram/chat.ts';
import { PROVIDER } from './telegram/errors.ts';
import { MAX_ALBUM, MAX_FILE_BYTES, MAX_PHOTO_BYTES } from './telegram/media.ts';
import { telegramPosts } from './telegram/posts.ts';
import { chatMembers } from './telegram/account.ts';
import { findByMarker, telegramSent } from './telegram/reconcile.ts';
import { ProviderError, type Provider, type ProviderDeps, type ProviderMetadata } from './types.ts';

export { BOT_TOKEN } from './telegram/api.ts';
export { messageUrl, parseChat } from './telegram/chat.ts';
export { readOptions, TELEGRAM_OPTION_KEYS, type TelegramOptions } from './telegram/posts.ts';

export const TELEGRAM_API_URL = 'https://api.telegram.org';

const meta: ProviderMetadata = {
  id: 'telegram',
  displayName: 'Telegram',
  docsUrl: 'https://core.telegram.org/bots/api',
  connect: 'bot_token',
  refreshTokenRotates: false,
  // Revoking a token is done in @BotFather; the Bot API's logOut would take the bot off the cloud server
  // for everyone who uses it, so disconnecting only forgets the token.
  supportsRevocation: false,
  userSuppliedHost: false,
  limits: {
    // "characters after entities parsing": UTF-16 code units are the safe count (UNCONFIRMED which unit).
    textCounting: 'utf16', maxTextLength: 4096, maxCaptionLength: 1024, threads: true, firstComment: false,
    media: {
      maxCount: MAX_ALBUM, imageTypes: ['image/jpeg', 'image/png'], videoTypes: ['video/mp4'],
      maxImageBytes: MAX_PHOTO_BYTES, maxVideoBytes: MAX_FILE_BYTES, mixing: true, required: false,
    },
  },
  accountMetrics: { fields: ['followers'], historyDays: 0, docs: 'https://core.telegram.org/bots/api#getchatmembercount' },
};

export function createTelegram(deps: ProviderDeps): Provider {
  const api = botApi(deps.http, deps.settings.baseUrls.api ?? TELEGRAM_API_URL);
  const chats = telegramChats(api);
  const sent = telegramSent(deps.journal);
  const posts = telegramPosts(api, meta.limits, sent);
  return {
    meta,
    signIn: (identifier, password) => chats.signIn(identifier, password),
    refresh: (account) => chats.refresh(account),
    // The chat is part of the sign-in (a token alone does not say where to post): signIn returns it.
    identities: async () => {
      throw new ProviderError('permanent', 'Telegram: the chat is named at sign-in, with the bot token', { provider: PROVIDER, reason: 'sign_in_names_the_chat' });
    },
    publish: (account, post) => posts.publish(account, post),
    findByMarker: (account, marker) => findByMarker(sent, account, marker),
    accountMetrics: (account) => chatMembers(api, account),
  };
}
