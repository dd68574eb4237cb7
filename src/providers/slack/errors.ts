// Slack's error answers as ProviderError kinds. Every Web API method answers HTTP 200 with `{ok: false, error}`
// when it refuses (https://docs.slack.dev/apis/web-api/#responses), the error a code listed on each method's page
// (https://docs.slack.dev/reference/methods/chat.postMessage#errors); `missing_scope` adds `needed` and `provided`.
// A rate limit is HTTP 429 with Retry-After in seconds (https://docs.slack.dev/apis/web-api/rate-limits). Slack says
// of internal_error and fatal_error that "it's possible some aspect of the operation succeeded": for a call that
// creates a message that is an unknown outcome, never "nothing happened".
import type { HttpResponse } from '../../infra/http/client.ts';
import { bodySnippet, retryAfterMs } from '../errors.ts';
import { parseJson, redactSecrets } from '../http.ts';
import { ProviderError } from '../types.ts';

export const PROVIDER = 'slack';

/** The token no longer works: refresh once (a rotating token), then the workspace must be reconnected. */
const AUTH = new Set(['not_authed', 'invalid_auth', 'account_inactive', 'token_revoked', 'token_expired', 'no_permission', 'org_login_required', 'team_access_not_granted']);
/** Slack's side failed, possibly after acting. */
const MAYBE_DONE = new Set(['internal_error', 'fatal_error', 'request_timeout']);
/** Slack's side failed before acting. */
const TRANSIENT = new Set(['service_unavailable', 'team_added_to_org', 'ratelimited', 'rate_limited']);

/** What a person does about each refusal, by Slack's error code. */
const ADVICE: Record<string, string> = {
  channel_not_found: 'the channel does not exist in this workspace, or it is private and the app is not in it: check the channel and invite the app (/invite @AllIN)',
  not_in_channel: 'the app is not a member of this channel: invite it there (/invite @AllIN)',
  is_archived: 'the channel is archived: unarchive it or choose another',
  msg_too_long: 'the message is too long for Slack',
  no_text: 'the message is empty',
  invalid_blocks: 'Slack refused the blocks (Block Kit): check them in the Block Kit Builder',
  invalid_blocks_format: 'the blocks are not a list of Block Kit blocks',
  too_many_attachments: 'too many attachments',
  thread_not_found: 'the message this one answers is gone',
  cannot_reply_to_message: 'Slack does not allow replies to that message',
  restricted_action: 'a workspace setting keeps the app from posting in this channel',
  restricted_action_read_only_channel: 'the channel is read-only for apps',
  restricted_action_thread_only_channel: 'the channel takes replies in threads only',
  restricted_action_non_threadable_channel: 'the channel does not take threads',
  ekm_access_denied: 'the workspace\'s administrators have suspended posting',
  missing_scope: 'the app was not granted a permission it needs: reconnect the workspace to grant it',
  file_size_too_large: 'the file is larger than Slack takes',
  file_not_found: 'the uploaded file was not found',
  duplicate_channel_not_found: 'the channel does not exist',
  invalid_metadata_format: 'Slack refused the message metadata',
  invalid_arguments: 'Slack refused the request\'s arguments',
  message_not_found: 'the message is gone',
};

interface ErrorBody { ok?: unknown; error?: unknown; needed?: unknown; provided?: unknown }

/** An `{ok: false, error}` answer as a ProviderError. */
export function slackRefusal(operation: string, body: ErrorBody, creates: boolean, status = 200): ProviderError {
  const code = typeof body.error === 'string' ? body.error.slice(0, 100) : 'unknown_error';
  const base = { provider: PROVIDER, status, reason: code };
  if (AUTH.has(code)) return new ProviderError('auth_expired', `Slack: ${operation} refused the token (${code}); reconnect the workspace if this persists`, base);
  if (MAYBE_DONE.has(code)) {
    return creates
      ? new ProviderError('unknown_outcome', `Slack: ${operation} failed inside Slack (${code}), possibly after posting`, base)
      : new ProviderError('transient', `Slack: ${operation} failed inside Slack (${code})`, base);
  }
  if (TRANSIENT.has(code)) return new ProviderError(code.includes('rate') ? 'rate_limited' : 'transient', `Slack: ${operation} is unavailable for now (${code})`, base);
  const needed = code === 'missing_scope' && typeof body.needed === 'string' ? ` (needs ${redactSecrets(body.needed).slice(0, 100)})` : '';
  const advice = ADVICE[code] ?? `Slack refused it (${code})`;
  return new ProviderError('permanent', `Slack: ${operation}: ${advice}${needed}`, base);
}

/** A non-2xx answer (HTTP 429, a gateway's 5xx) as a ProviderError. */
export function slackError(operation: string, res: HttpResponse, creates: boolean): ProviderError {
  const body = (parseJson(res) ?? {}) as ErrorBody;
  const code = typeof body.error === 'string' ? body.error : undefined;
  const base = { provider: PROVIDER, status: res.status, reason: code ?? bodySnippet(res) };
  if (res.status === 429) {
    const wait = retryAfterMs(res.headers);
    return new ProviderError('rate_limited', `Slack: ${operation} is rate limited`, { ...base, ...(wait !== undefined ? { retryAfterMs: wait } : {}) });
  }
  if (res.status >= 500) {
    if (creates && (res.status === 502 || res.status === 504)) {
      return new ProviderError('unknown_outcome', `Slack: ${operation} answered ${res.status} from a gateway; the message may have been posted`, base);
    }
    return new ProviderError('transient', `Slack: ${operation} failed on Slack's side (${res.status})`, base);
  }
  if (code) return slackRefusal(operation, body, creates, res.status);
  if (res.status === 401) return new ProviderError('auth_expired', `Slack: ${operation} refused the token`, base);
  return new ProviderError('permanent', `Slack: ${operation} was refused (HTTP ${res.status}: ${base.reason})`, base);
}
