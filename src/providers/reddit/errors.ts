// Reddit's error answers as ProviderError kinds. The API answers a refused request with an HTTP status and
// `{message, error}` (401 for a token that no longer works, 403 for a subreddit or action the user may not use, 404,
// 429 when over the rate limit, 5xx); the form endpoints (submit, comment) answer 200 with `{json: {errors: [[code,
// message, field], …]}}` when they refuse what was sent (https://www.reddit.com/dev/api#POST_api_submit, api_type=json).
// The rate-limit headers X-Ratelimit-Used, -Remaining and -Reset (seconds to the end of the window) come on every
// answer (https://support.reddithelp.com/hc/en-us/articles/16160319875092-Reddit-Data-API-Wiki); a per-user action
// limit comes as the RATELIMIT error with the wait in its words ("try again in 9 minutes") or in `json.ratelimit`
// (seconds; UNCONFIRMED that the field is always there).
import type { HttpResponse } from '../../infra/http/client.ts';
import { bodySnippet, retryAfterMs } from '../errors.ts';
import { parseJson, redactSecrets } from '../http.ts';
import { ProviderError } from '../types.ts';

export const PROVIDER = 'reddit';

/** Seconds to the end of the rate-limit window, as a wait in ms (Reddit's reset is a count of seconds, not a time). */
export function resetWaitMs(headers: Record<string, string>): number | undefined {
  const direct = retryAfterMs({ ...(headers['retry-after'] ? { 'retry-after': headers['retry-after'] } : {}) });
  if (direct !== undefined) return direct;
  const s = Number(headers['x-ratelimit-reset']);
  return Number.isFinite(s) && s >= 0 && s < 86_400 ? Math.ceil(s * 1000) : undefined;
}

/** The wait a RATELIMIT message names ("try again in 9 minutes", "… 30 seconds"), in ms. */
export function waitInWords(text: string): number | undefined {
  const m = /(\d+)\s*(second|minute|hour)s?/i.exec(text);
  if (!m) return undefined;
  const unit = m[2]!.toLowerCase() === 'second' ? 1000 : m[2]!.toLowerCase() === 'minute' ? 60_000 : 3_600_000;
  return Number(m[1]) * unit;
}

/** What a person does about each refusal of submit or comment, by Reddit's error code. */
const ADVICE: Record<string, string> = {
  SUBREDDIT_NOEXIST: 'that subreddit does not exist',
  SUBREDDIT_NOTALLOWED: 'you may not post in that subreddit',
  SUBREDDIT_REQUIRED: 'a subreddit is required',
  NO_SELFS: 'that subreddit does not take text posts',
  NO_LINKS: 'that subreddit does not take link posts',
  NO_TEXT: 'that subreddit requires text',
  TOO_LONG: 'a field is too long',
  BAD_URL: 'the link is not one Reddit takes',
  ALREADY_SUB: 'that link was already posted there',
  SUBMIT_VALIDATION_FLAIR_REQUIRED: 'that subreddit requires a flair: choose one (flairId)',
  SUBMIT_VALIDATION_BODY_REQUIRED: 'that subreddit requires a body text',
  SUBMIT_VALIDATION_BODY_NOT_ALLOWED: 'that subreddit takes no body text',
  BAD_FLAIR_TEMPLATE_ID: 'that flair is not one of the subreddit\'s',
  THREAD_LOCKED: 'the post is locked: no more comments',
  DELETED_LINK: 'the post was deleted',
  DELETED_COMMENT: 'the comment was deleted',
  TOO_OLD: 'the post is archived: no more comments',
  USER_BLOCKED: 'you cannot reply to that user',
};

/** A `json.errors` answer of submit or comment as a ProviderError. */
export function formRefusal(operation: string, errors: unknown[][], ratelimitSeconds?: unknown): ProviderError {
  const [code, message] = (errors[0] ?? []) as [unknown, unknown];
  const c = typeof code === 'string' ? code.slice(0, 60) : 'UNKNOWN';
  const text = typeof message === 'string' ? redactSecrets(message).slice(0, 300) : '';
  const base = { provider: PROVIDER, status: 200, reason: c };
  if (c === 'RATELIMIT') {
    const wait = typeof ratelimitSeconds === 'number' ? Math.ceil(ratelimitSeconds * 1000) : waitInWords(text);
    return new ProviderError('rate_limited', `Reddit: ${operation}: ${text || 'you are doing that too much'}`, { ...base, ...(wait !== undefined ? { retryAfterMs: wait } : {}) });
  }
  if (c === 'USER_REQUIRED') return new ProviderError('auth_expired', `Reddit: ${operation} needs a signed-in user (USER_REQUIRED)`, base);
  return new ProviderError('permanent', `Reddit: ${operation}: ${ADVICE[c] ?? 'Reddit refused it'}${text ? ` (${text})` : ''}`, base);
}

/** A non-2xx answer as a ProviderError. */
export function redditError(operation: string, res: HttpResponse, creates: boolean): ProviderError {
  const body = (parseJson(res) ?? {}) as { message?: unknown; error?: unknown; reason?: unknown };
  const said = [body.reason, body.message].find((x) => typeof x === 'string') as string | undefined;
  const reason = said ? redactSecrets(said).slice(0, 200) : bodySnippet(res);
  const base = { provider: PROVIDER, status: res.status, reason };
  if (res.status === 401) return new ProviderError('auth_expired', `Reddit: ${operation} refused the token (${reason})`, base);
  if (res.status === 429) {
    const wait = resetWaitMs(res.headers);
    return new ProviderError('rate_limited', `Reddit: ${operation} is over Reddit's rate limit`, { ...base, ...(wait !== undefined ? { retryAfterMs: wait } : {}) });
  }
  if (res.status >= 500) {
    if (creates && (res.status === 502 || res.status === 504)) {
      return new ProviderError('unknown_outcome', `Reddit: ${operation} answered ${res.status} from a gateway; the post may have been made`, base);
    }
    return new ProviderError('transient', `Reddit: ${operation} failed on Reddit's side (${res.status})`, base);
  }
  if (res.status === 403) return new ProviderError('permanent', `Reddit: ${operation} is not allowed for this account (${reason}): the subreddit may be private, or the account banned there`, base);
  if (res.status === 404) return new ProviderError('permanent', `Reddit: ${operation}: not found (${reason}); check the subreddit's name`, base);
  return new ProviderError('permanent', `Reddit: ${operation} was refused (${reason})`, base);
}
