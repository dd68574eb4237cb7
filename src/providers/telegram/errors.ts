// Telegram's error answers as ProviderError kinds (https://core.telegram.org/bots/api#making-requests and
// #responseparameters): `{ok: false, error_code, description, parameters}`, where `parameters.retry_after`
// is the flood-control wait in seconds and `parameters.migrate_to_chat_id` the supergroup a group became.
// 401: the token was revoked or replaced in @BotFather; 403: the bot was removed from the chat or may not
// write there; 400: the request (chat not found, text too long, a reply to a message that is gone).
import type { HttpResponse } from '../../infra/http/client.ts';
import { bodySnippet, retryAfterMs } from '../errors.ts';
import { parseJson, redactSecrets } from '../http.ts';
import { ProviderError } from '../types.ts';

export const PROVIDER = 'telegram';

interface ErrorBody {
  description?: unknown;
  parameters?: { retry_after?: unknown; migrate_to_chat_id?: unknown };
}

export function telegramError(operation: string, res: HttpResponse, creates: boolean): ProviderError {
  const body = (parseJson(res) ?? {}) as ErrorBody;
  const reason = typeof body.description === 'string' ? redactSecrets(body.description).slice(0, 300) : bodySnippet(res);
  const base = { provider: PROVIDER, status: res.status, reason };
  if (res.status === 429) {
    const seconds = body.parameters?.retry_after;
    const wait = typeof seconds === 'number' && seconds >= 0 ? seconds * 1000 : retryAfterMs(res.headers);
    return new ProviderError('rate_limited', `Telegram: ${operation} hit flood control (${reason})`, { ...base, ...(wait !== undefined ? { retryAfterMs: wait } : {}) });
  }
  if (res.status === 401) {
    return new ProviderError('auth_expired', `Telegram: ${operation} refused the bot token (${reason}); it was revoked or replaced in @BotFather: reconnect with the current one`, base);
  }
  const migrated = body.parameters?.migrate_to_chat_id;
  if (typeof migrated === 'number') {
    return new ProviderError('permanent', `Telegram: the group became a supergroup with id ${migrated}; reconnect it with that id`, { ...base, reason: `group_migrated: ${reason}` });
  }
  if (res.status >= 500) {
    // A gateway that gave up may have passed the message on: for a send, that is not "nothing happened".
    if (creates && (res.status === 502 || res.status === 504)) {
      return new ProviderError('unknown_outcome', `Telegram: ${operation} answered ${res.status} from a gateway; the message may have been sent`, base);
    }
    return new ProviderError('transient', `Telegram: ${operation} failed on Telegram's side (${res.status})`, base);
  }
  if (res.status === 403) return new ProviderError('permanent', `Telegram: the bot may not do this in the chat (${reason}); make it an administrator allowed to post`, base);
  return new ProviderError('permanent', `Telegram: ${operation} was refused (${reason})`, base);
}
