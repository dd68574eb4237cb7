// Connecting a Telegram chat: a bot token from @BotFather and the chat the bot posts to (a channel's
// @username or a numeric chat id). The token is checked with getMe, the chat with getChat, and the bot's
// own standing there with getChatMember: in a channel it must be an administrator with can_post_messages;
// in a group it must be a member allowed to send messages
// (https://core.telegram.org/bots/api#getme, #getchat, #getchatmember, #chatmemberadministrator).
// A bot token has no expiry and no refresh: "refresh" checks it still works.
import { ProviderError, type AccountRef, type ConnectedIdentity, type TokenSet } from '../types.ts';
import { BOT_TOKEN, type BotApi } from './api.ts';
import { PROVIDER } from './errors.ts';

interface User { id: number; is_bot?: boolean; username?: string; first_name?: string }
interface Chat { id: number; type: string; title?: string; username?: string }
interface ChatMember { status: string; can_post_messages?: boolean; can_send_messages?: boolean; is_member?: boolean }

// The reason is the sentence itself: the accounts module shows it to the person connecting.
const refuse = (why: string, code: string) => new ProviderError('permanent', `Telegram: ${why} (${code})`, { provider: PROVIDER, reason: why });

/**
 * The chat as the Bot API takes it: `@username` for a public channel or group (typed with or without the
 * @, or as a t.me link), or a numeric id (channels and supergroups start with -100).
 */
export function parseChat(input: string): string {
  const s = input.trim();
  if (/^-?\d{1,20}$/.test(s)) return s;
  if (/^(https?:\/\/)?(t\.me|telegram\.me)\/(\+|joinchat\/)/i.test(s)) {
    throw refuse('an invite link does not name the chat for a bot; use the channel\'s @username or its numeric id', 'invite_link');
  }
  const m = /^(?:(?:https?:\/\/)?(?:t\.me|telegram\.me)\/|@)?([A-Za-z][A-Za-z0-9_]{3,31})\/?$/i.exec(s);
  if (!m) throw refuse(`"${s.slice(0, 64)}" is neither a @username nor a numeric chat id`, 'bad_chat');
  return `@${m[1]}`;
}

/** A link to a message: public chats by username; others by the t.me/c form (members only; UNCONFIRMED in the docs). */
export function messageUrl(chat: { id: number | string; username?: string | undefined }, messageId: number): string | undefined {
  if (chat.username) return `https://t.me/${chat.username}/${messageId}`;
  const id = String(chat.id);
  return id.startsWith('-100') ? `https://t.me/c/${id.slice(4)}/${messageId}` : undefined;
}

function mayPost(chat: Chat, me: ChatMember): string | null {
  if (chat.type === 'channel') {
    if (me.status === 'creator') return null;
    if (me.status !== 'administrator') return 'the bot is not an administrator of this channel; add it as one, allowed to post messages';
    return me.can_post_messages === true ? null : 'the bot is an administrator of this channel but may not post messages; allow "Post messages" for it';
  }
  if (me.status === 'administrator' || me.status === 'creator' || me.status === 'member') return null;
  if (me.status === 'restricted' && me.is_member !== false && me.can_send_messages === true) return null;
  if (me.status === 'kicked') return 'the bot was removed from this group; add it again';
  return 'the bot is not a member of this group allowed to send messages; add it';
}

export function telegramChats(api: BotApi) {
  return {
    async signIn(chatInput: string, token: string): Promise<{ tokens: TokenSet; identities: ConnectedIdentity[] }> {
      const t = token.trim();
      if (!BOT_TOKEN.test(t)) throw new ProviderError('auth_expired', 'Telegram: this is not a bot token (it looks like 123456789:AA…, from @BotFather)', { provider: PROVIDER, reason: 'not_a_bot_token' });
      const chatId = parseChat(chatInput);
      const bot = await api.read<User>(t, 'getMe');
      const chat = await api.read<Chat>(t, 'getChat', { chat_id: chatId });
      if (chat.type === 'private') throw refuse('this is a private chat with a person; connect a channel or a group', 'private_chat');
      const me = await api.read<ChatMember>(t, 'getChatMember', { chat_id: String(chat.id), user_id: String(bot.id) });
      const why = mayPost(chat, me);
      if (why) throw refuse(why, 'bot_cannot_post');
      const title = chat.title ?? chat.username ?? String(chat.id);
      return {
        tokens: { accessToken: t },
        identities: [{
          externalId: String(chat.id), kind: 'page',
          username: chat.username ? `@${chat.username}` : title, displayName: title,
          ...(chat.username ? { profileUrl: `https://t.me/${chat.username}` } : {}),
          data: { chatType: chat.type, ...(chat.username ? { chatUsername: chat.username } : {}), botId: bot.id, ...(bot.username ? { botUsername: bot.username } : {}) },
        }],
      };
    },

    /**
     * The token still works (getMe: a 401 makes the account need reconnecting) and the bot may still post in
     * the chat (if not, the account needs the user too: it is reported the same way).
     */
    async refresh(account: AccountRef): Promise<TokenSet> {
      const bot = await api.read<User>(account.tokens.accessToken, 'getMe');
      const chat = await api.read<Chat>(account.tokens.accessToken, 'getChat', { chat_id: account.externalId });
      const me = await api.read<ChatMember>(account.tokens.accessToken, 'getChatMember', { chat_id: String(chat.id), user_id: String(bot.id) });
      const why = mayPost(chat, me);
      if (why) throw new ProviderError('auth_expired', `Telegram: ${why}`, { provider: PROVIDER, reason: 'bot_cannot_post' });
      return account.tokens;
    },
  };
}
