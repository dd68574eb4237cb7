// Telegram Bot API calls (https://core.telegram.org/bots/api#making-requests): every method is
// `<base>/bot<token>/<METHOD>`, answered `{ok: true, result}` or `{ok: false, error_code, description,
// parameters}`. The bot token is part of the URL path, so the metrics label is the method name alone and
// every quoted body or transport message goes through redactSecrets, which takes `bot<token>` out.
// Reads go as GET (retried on their own by the HttpClient); the sending methods as POST, marked `creates`.
import type { HttpClient } from '../../infra/http/client.ts';
import { malformed } from '../errors.ts';
import { adapterCalls } from '../request.ts';
import { ProviderError } from '../types.ts';
import { PROVIDER, telegramError } from './errors.ts';

/** A bot token as @BotFather issues it: the bot's numeric id, a colon, a secret (https://core.telegram.org/bots/api#authorizing-your-bot). */
export const BOT_TOKEN = /^\d{1,20}:[A-Za-z0-9_-]{20,100}$/;

export interface BotApi {
  /** A method that reads (getMe, getChat, getChatMember): query parameters, a GET. */
  read<T>(token: string, method: string, params?: Record<string, string>): Promise<T>;
  /** A method that sends a message: a JSON body, or a multipart form carrying files. */
  send<T>(token: string, method: string, body: Record<string, unknown> | FormData, media?: boolean): Promise<T>;
}

export function botApi(http: HttpClient, baseUrl: string): BotApi {
  const calls = adapterCalls(http, { provider: PROVIDER, error: telegramError });
  const url = (token: string, method: string) => {
    // Checked before it goes into a path: a stored token is one that passed this at sign-in.
    if (!BOT_TOKEN.test(token)) throw malformedToken();
    return `${baseUrl.replace(/\/+$/, '')}/bot${token}/${method}`;
  };
  const result = <T>(res: Parameters<typeof calls.read>[0], method: string, creates: boolean): T => {
    const body = calls.read<{ ok?: unknown; result?: unknown }>(res, method, creates);
    if (body.ok !== true || body.result === undefined || body.result === null) throw malformed(PROVIDER, method, creates, res.status);
    return body.result as T;
  };
  return {
    async read<T>(token: string, method: string, params: Record<string, string> = {}) {
      const q = new URLSearchParams(params).toString();
      const res = await calls.call({ method: 'GET', url: `${url(token, method)}${q ? `?${q}` : ''}`, operation: method });
      return result<T>(res, method, false);
    },
    async send<T>(token: string, method: string, body: Record<string, unknown> | FormData, media = false) {
      const res = await calls.call({ method: 'POST', url: url(token, method), operation: method, body, ...(media ? { media: true } : {}) }, true);
      return result<T>(res, method, true);
    },
  };
}

function malformedToken(): ProviderError {
  return new ProviderError('auth_expired', 'Telegram: this is not a bot token (it looks like 123456789:AA…, from @BotFather)', { provider: PROVIDER, reason: 'not_a_bot_token' });
}
