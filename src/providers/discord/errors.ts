// Discord's error answers as ProviderError kinds. An error is `{ message, code, errors? }` with a JSON
// error code (https://discord.com/developers/docs/topics/opcodes-and-status-codes#json); a 429 is
// `{ message, retry_after, global, code? }` with `Retry-After` and `X-RateLimit-*` headers, and the wait is
// `retry_after` seconds (a float) or the header (https://discord.com/developers/docs/topics/rate-limits#exceeding-a-rate-limit).
// A webhook that was deleted answers 404 code 10015 (Unknown Webhook) and a wrong token 401 code 50027
// (Invalid Webhook Token): either way the account needs a new webhook URL.
import type { HttpResponse } from '../../infra/http/client.ts';
import { bodySnippet, retryAfterMs } from '../errors.ts';
import { parseJson, redactSecrets } from '../http.ts';
import { ProviderError } from '../types.ts';

export const PROVIDER = 'discord';

/** JSON error codes AllIN tells apart (opcodes-and-status-codes#json). */
export const CODES = {
  unknownChannel: 10003, unknownMessage: 10008, unknownWebhook: 10015, tooManyAttachments: 30015,
  tooLarge: 40005, emptyMessage: 50006, invalidWebhookToken: 50027, invalidFormBody: 50035,
  forumNeedsThread: 220001, forumThreadBoth: 220002, threadsOnlyInForum: 220003,
} as const;

interface ErrorBody { message?: unknown; code?: unknown; retry_after?: unknown; global?: unknown; errors?: unknown }

/** How long a 429 asks to wait: the body's retry_after (seconds, a float), else the headers. */
export function discordWaitMs(body: ErrorBody, headers: Record<string, string>): number | undefined {
  if (typeof body.retry_after === 'number' && body.retry_after >= 0) return Math.ceil(body.retry_after * 1000);
  const after = Number(headers['x-ratelimit-reset-after']);
  if (headers['x-ratelimit-reset-after'] !== undefined && Number.isFinite(after) && after >= 0) return Math.ceil(after * 1000);
  return retryAfterMs(headers);
}

export function discordError(operation: string, res: HttpResponse, creates: boolean): ProviderError {
  const body = (parseJson(res) ?? {}) as ErrorBody;
  const code = typeof body.code === 'number' ? body.code : undefined;
  const message = typeof body.message === 'string' ? redactSecrets(body.message).slice(0, 200) : bodySnippet(res);
  // Field errors (50035) say which field and why; the first of them is enough for a person.
  const detail = code === CODES.invalidFormBody && body.errors ? `: ${redactSecrets(JSON.stringify(body.errors)).slice(0, 200)}` : '';
  const reason = `${message}${code !== undefined ? ` (${code})` : ''}${detail}`;
  const base = { provider: PROVIDER, status: res.status, reason };
  if (res.status === 429) {
    const wait = discordWaitMs(body, res.headers);
    const scope = body.global === true ? 'the global rate limit' : `the rate limit${res.headers['x-ratelimit-scope'] ? ` (${res.headers['x-ratelimit-scope']})` : ''}`;
    return new ProviderError('rate_limited', `Discord: ${operation} hit ${scope}`, { ...base, ...(wait !== undefined ? { retryAfterMs: wait } : {}) });
  }
  if (res.status === 401 || code === CODES.unknownWebhook || code === CODES.invalidWebhookToken) {
    return new ProviderError('auth_expired', `Discord: the webhook is gone or its token was reset (${reason}); connect the channel again with its current webhook URL`, base);
  }
  if (res.status >= 500) {
    // A gateway that gave up may have passed the message on: for a send, that is not "nothing happened".
    if (creates && (res.status === 502 || res.status === 504)) {
      return new ProviderError('unknown_outcome', `Discord: ${operation} answered ${res.status} from a gateway; the message may have been sent`, base);
    }
    return new ProviderError('transient', `Discord: ${operation} failed on Discord's side (${res.status})`, base);
  }
  if (code === CODES.forumNeedsThread) return new ProviderError('permanent', `Discord: this webhook posts to a forum or media channel, where every message starts or joins a post: give the post a title (option threadName) or a thread (option threadId) (${reason})`, base);
  if (code === CODES.threadsOnlyInForum) return new ProviderError('permanent', `Discord: a post title (option threadName) only works in a forum or media channel; this webhook posts to a text channel (${reason})`, base);
  if (code === CODES.unknownChannel) return new ProviderError('permanent', `Discord: the thread is not in this webhook's channel, or no longer exists (${reason})`, base);
  if (res.status === 413 || code === CODES.tooLarge) return new ProviderError('permanent', `Discord: the files are larger than the channel takes (${reason})`, base);
  if (res.status === 403) return new ProviderError('permanent', `Discord: the webhook may not do this (${reason})`, base);
  return new ProviderError('permanent', `Discord: ${operation} was refused (${reason})`, base);
}
