// YouTube's error answers as ProviderError kinds. Every error of the Data API is
// `{"error": {"code", "message", "errors": [{"domain", "reason", "message"}]}}` with the HTTP status as `code`
// (https://developers.google.com/youtube/v3/docs/errors). The reasons that matter here:
// - quotaExceeded (403): the project's daily quota is spent; quotas reset at midnight Pacific Time
//   (https://developers.google.com/youtube/v3/determine_quota_cost), so the wait is until then;
// - rateLimitExceeded / userRateLimitExceeded (403, UNCONFIRMED for the Data API: Google's general reasons) and HTTP 429:
//   too many requests now, a short wait;
// - uploadLimitExceeded (400): the channel uploaded as many videos as it may in 24 hours (UNCONFIRMED: from YouTube's
//   announcement, not the errors page), so a day's wait;
// - 401 (authError, youtubeSignupRequired): the token is dead, or the Google account has no channel;
// - 5xx: YouTube's side, worth another try.
import type { HttpResponse } from '../../infra/http/client.ts';
import { bodySnippet, retryAfterMs } from '../errors.ts';
import { parseJson, redactSecrets } from '../http.ts';
import { ProviderError } from '../types.ts';

export const PROVIDER = 'youtube';

/** Milliseconds from `now` to the next midnight in Pacific Time, when YouTube's daily quotas reset. */
export function untilPacificMidnight(now = new Date()): number {
  const parts = new Intl.DateTimeFormat('en-US', { timeZone: 'America/Los_Angeles', hour12: false, hour: '2-digit', minute: '2-digit', second: '2-digit' }).formatToParts(now);
  const n = (t: string) => Number(parts.find((p) => p.type === t)?.value ?? 0);
  // hour12: false writes midnight as 24 in some ICU versions.
  const elapsed = (((n('hour') % 24) * 60 + n('minute')) * 60 + n('second')) * 1000 + now.getMilliseconds();
  return Math.max(1000, 86_400_000 - elapsed);
}

/** The first reason of a Google error body, and its message. */
export function googleReason(res: HttpResponse): { reason?: string; message?: string } {
  const b = parseJson(res) as { error?: { message?: unknown; errors?: { reason?: unknown }[] } | string; error_description?: unknown } | null;
  if (!b || typeof b !== 'object') return {};
  if (typeof b.error === 'string') return { reason: b.error, ...(typeof b.error_description === 'string' ? { message: b.error_description } : {}) };
  const r = b.error?.errors?.[0]?.reason;
  const m = b.error?.message;
  return { ...(typeof r === 'string' ? { reason: r.slice(0, 80) } : {}), ...(typeof m === 'string' ? { message: redactSecrets(m).slice(0, 300) } : {}) };
}

/** What a person does about each refusal, by YouTube's reason. */
const ADVICE: Record<string, string> = {
  invalidTitle: 'the title is not one YouTube takes (1-100 characters, no < or >)',
  invalidDescription: 'the description is not one YouTube takes (at most 5,000 bytes, no < or >)',
  invalidTags: 'the tags are not ones YouTube takes (500 characters in all)',
  invalidCategoryId: 'that category does not exist (categoryId)',
  invalidPublishAt: 'the scheduled time is not one YouTube takes (a future time, with privacy private)',
  invalidRecordingDetails: 'the recording details are not valid',
  invalidVideoGameRating: 'the video game rating is not valid',
  invalidFilename: 'the file name is not valid',
  mediaBodyRequired: 'the upload carried no video',
  invalidVideoMetadata: 'the video\'s details are not valid',
  defaultLanguageNotSet: 'a default language is required for localized details',
  forbidden: 'YouTube does not allow this for the account',
  forbiddenLicenseSetting: 'that licence cannot be set',
  forbiddenPrivacySetting: 'that privacy setting cannot be set',
  youtubeSignupRequired: 'the Google account has no YouTube channel: create one at youtube.com, then reconnect',
  videoNotFound: 'the video is gone',
  channelNotFound: 'the channel is gone',
  playlistNotFound: 'the channel\'s uploads playlist was not found',
};

/** A non-2xx answer of the Data API (or of an upload session) as a ProviderError. */
export function youtubeError(operation: string, res: HttpResponse, creates: boolean): ProviderError {
  const { reason, message } = googleReason(res);
  const said = message ?? bodySnippet(res);
  const base = { provider: PROVIDER, status: res.status, reason: reason ?? said };
  if (reason === 'quotaExceeded' || reason === 'dailyLimitExceeded') {
    return new ProviderError('rate_limited', `YouTube: ${operation}: this AllIN's YouTube API quota for today is spent; it resets at midnight Pacific Time`, { ...base, reason, retryAfterMs: untilPacificMidnight() });
  }
  if (reason === 'uploadLimitExceeded') {
    return new ProviderError('rate_limited', `YouTube: ${operation}: the channel has uploaded as many videos as YouTube allows in 24 hours`, { ...base, reason, retryAfterMs: 86_400_000 });
  }
  if (res.status === 429 || reason === 'rateLimitExceeded' || reason === 'userRateLimitExceeded') {
    const wait = retryAfterMs(res.headers) ?? 60_000;
    return new ProviderError('rate_limited', `YouTube: ${operation} is over YouTube's rate limit`, { ...base, retryAfterMs: wait });
  }
  if (reason === 'youtubeSignupRequired') return new ProviderError('permanent', `YouTube: ${operation}: ${ADVICE[reason]}`, base);
  if (res.status === 401) return new ProviderError('auth_expired', `YouTube: ${operation} refused the token (${said})`, base);
  if (res.status >= 500) {
    if (creates && (res.status === 502 || res.status === 504)) {
      return new ProviderError('unknown_outcome', `YouTube: ${operation} answered ${res.status} from a gateway; the video may have been made`, base);
    }
    return new ProviderError('transient', `YouTube: ${operation} failed on YouTube's side (${res.status})`, base);
  }
  const advice = reason ? ADVICE[reason] : undefined;
  return new ProviderError('permanent', `YouTube: ${operation}: ${advice ?? 'YouTube refused it'}${said ? ` (${said})` : ''}`, base);
}
