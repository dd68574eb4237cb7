// LinkedIn's error answers as ProviderError kinds. The body is `{ status, serviceErrorCode, code, message }`
// (https://learn.microsoft.com/en-us/linkedin/shared/api-guide/concepts/error-handling); quotas are daily and
// reset at midnight UTC, and a 429 carries no Retry-After
// (https://learn.microsoft.com/en-us/linkedin/shared/api-guide/concepts/rate-limits); a retired
// LinkedIn-Version answers 426; the same commentary again answers 422 DUPLICATE_POST naming the earlier post
// (https://learn.microsoft.com/en-us/linkedin/marketing/community-management/shares/posts-api).
import type { HttpResponse } from '../../infra/http/client.ts';
import { bodySnippet, retryAfterMs } from '../errors.ts';
import { parseJson, redactSecrets } from '../http.ts';
import { ProviderError } from '../types.ts';

interface LinkedInErrorBody {
  status?: number;
  serviceErrorCode?: number;
  code?: string;
  message?: string;
  errorDetails?: { inputErrors?: { code?: string; description?: string }[] };
  error?: string;
  error_description?: string;
}

function errorOf(res: HttpResponse): LinkedInErrorBody {
  const e = parseJson(res);
  return e && typeof e === 'object' ? e as LinkedInErrorBody : {};
}

/** Milliseconds to the next 00:00 UTC, when LinkedIn's daily quotas reset. */
export function untilUtcMidnight(now = Date.now()): number {
  const d = new Date(now);
  return Date.UTC(d.getUTCFullYear(), d.getUTCMonth(), d.getUTCDate() + 1) - now;
}

/** The URN of the earlier post a 422 DUPLICATE_POST names ('' when it names none), or undefined when the answer is not one. */
export function duplicateOf(res: HttpResponse): string | undefined {
  if (res.status !== 422) return undefined;
  const e = errorOf(res);
  const texts = [e.message, ...(e.errorDetails?.inputErrors ?? []).map((i) => i.description)].filter((s): s is string => typeof s === 'string');
  const isDuplicate = (e.errorDetails?.inputErrors ?? []).some((i) => i.code === 'DUPLICATE_POST') || texts.some((t) => /duplicate/i.test(t));
  if (!isDuplicate) return undefined;
  for (const t of texts) {
    const m = /urn:li:(?:share|ugcPost):\d+/.exec(t);
    if (m) return m[0];
  }
  return '';
}

/** A non-2xx LinkedIn answer as a ProviderError. */
export function linkedInError(what: string, res: HttpResponse, creates = false): ProviderError {
  const e = errorOf(res);
  const reason = redactSecrets([e.code ?? e.error, e.message ?? e.error_description].filter(Boolean).join(': ')).slice(0, 300) || bodySnippet(res);
  const base = { provider: 'linkedin', status: res.status };
  if (res.status === 401) return new ProviderError('auth_expired', `linkedin: ${what} refused the token (${reason})`, { ...base, reason: e.code ?? 'unauthorized' });
  if (res.status === 429) {
    // No Retry-After from LinkedIn; its quotas are daily and reset at midnight UTC.
    const wait = retryAfterMs(res.headers) ?? untilUtcMidnight();
    return new ProviderError('rate_limited', `linkedin: ${what} is over LinkedIn's daily quota (${reason})`, { ...base, reason: e.code ?? 'throttled', retryAfterMs: wait });
  }
  if (res.status === 426) {
    return new ProviderError('permanent', `linkedin: the pinned LinkedIn-Version is no longer active; raise LINKEDIN_VERSION (${reason})`, { ...base, reason: 'NONEXISTENT_VERSION' });
  }
  const dup = duplicateOf(res);
  if (dup !== undefined) {
    return new ProviderError('permanent', `linkedin: ${what} was refused as a duplicate${dup ? ` of ${dup}` : ''}`, { ...base, reason: dup ? `duplicate_post ${dup}` : 'duplicate_post' });
  }
  if (res.status === 504 && creates) {
    return new ProviderError('unknown_outcome', `linkedin: ${what} timed out inside LinkedIn (504); it may have been accepted`, { ...base, reason });
  }
  if (res.status >= 500) return new ProviderError('transient', `linkedin: ${what} failed on LinkedIn's side (${res.status})`, { ...base, reason });
  return new ProviderError('permanent', `linkedin: ${what} was refused (${reason})`, { ...base, reason });
}
