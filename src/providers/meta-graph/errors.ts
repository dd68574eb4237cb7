// Meta's error envelope and throttling headers, mapped to ProviderError kinds for Facebook, Instagram and
// Threads alike. Documentation:
//   https://developers.facebook.com/docs/graph-api/guides/error-handling
//   https://developers.facebook.com/docs/graph-api/overview/rate-limiting
import type { HttpResponse } from '../../infra/http/client.ts';
import { bodySnippet, retryAfterMs } from '../errors.ts';
import { parseJson, redactSecrets } from '../http.ts';
import { ProviderError } from '../types.ts';

/** The Graph error envelope, `{ error: { message, type, code, error_subcode, error_user_msg, fbtrace_id } }`. */
export interface GraphErrorBody {
  message?: string;
  type?: string;
  code?: number;
  subcode?: number;
  userMessage?: string;
  fbtraceId?: string;
}

const str = (v: unknown) => (typeof v === 'string' ? v : undefined);
const num = (v: unknown) => (typeof v === 'number' ? v : typeof v === 'string' && v !== '' && Number.isFinite(Number(v)) ? Number(v) : undefined);

export function graphErrorOf(res: HttpResponse): GraphErrorBody | undefined {
  const body = parseJson(res);
  if (!body || typeof body !== 'object') return undefined;
  const b = body as Record<string, unknown>;
  if (b.error && typeof b.error === 'object') {
    const e = b.error as Record<string, unknown>;
    return { message: str(e.message), type: str(e.type), code: num(e.code), subcode: num(e.error_subcode), userMessage: str(e.error_user_msg), fbtraceId: str(e.fbtrace_id) };
  }
  // Instagram Login's token endpoint answers { error_type, code, error_message }.
  if (typeof b.error_type === 'string' || typeof b.error_message === 'string') {
    return { message: str(b.error_message), type: str(b.error_type), code: num(b.code) };
  }
  return undefined;
}

/**
 * How long to wait after a throttling error: Retry-After when present, else the largest
 * `estimated_time_to_regain_access` (minutes) of X-Business-Use-Case-Usage. X-App-Usage carries
 * percentages only (a rolling hour), so it gives no time.
 */
export function metaRetryAfterMs(headers: Record<string, string>): number | undefined {
  const direct = retryAfterMs(headers);
  if (direct !== undefined) return direct;
  const buc = headers['x-business-use-case-usage'];
  if (!buc) return undefined;
  try {
    const usage = JSON.parse(buc) as Record<string, { estimated_time_to_regain_access?: unknown }[]>;
    let minutes: number | undefined;
    for (const list of Object.values(usage)) {
      for (const entry of Array.isArray(list) ? list : []) {
        const m = Number(entry.estimated_time_to_regain_access);
        if (Number.isFinite(m) && m > 0) minutes = Math.max(minutes ?? 0, m);
      }
    }
    return minutes === undefined ? undefined : minutes * 60_000;
  } catch {
    return undefined;
  }
}

// Throttling codes of the error-handling and rate-limiting guides: 4 app, 17 user, 32 Page, 613 custom,
// 80001 Pages BUC, 80002 Instagram BUC.
const RATE_LIMIT_CODES = new Set([4, 17, 32, 613, 80001, 80002]);
// "Temporary issue due to downtime": 1 unknown, 2 service; 341 application limit ("wait and retry").
const TRANSIENT_CODES = new Set([1, 2, 341]);
const POSTING_TOO_FAST = 1390008; // Facebook subcode "You are posting too fast"
const IG_PUBLISH_LIMIT = 2207042; // Instagram subcode (code 9): 24 h publishing quota reached
const IG_DOWNLOAD_TIMEOUT = 2207003; // Instagram subcode: Meta timed out fetching the media, retry

function describe(e: GraphErrorBody | undefined, res: HttpResponse): string {
  if (!e) return bodySnippet(res);
  const codes = e.code !== undefined ? ` [code ${e.code}${e.subcode !== undefined ? `/${e.subcode}` : ''}]` : '';
  return redactSecrets(`${e.userMessage ?? e.message ?? e.type ?? 'error'}${codes}`).slice(0, 300);
}

/**
 * A Graph error answer as a ProviderError. `tokenCall`: a call to a token endpoint, where any
 * OAuthException-style 4xx (bad code, redirect_uri mismatch, dead token) means the authorisation is
 * not accepted.
 */
export function graphError(provider: string, what: string, res: HttpResponse, opts: { tokenCall?: boolean } = {}): ProviderError {
  const e = graphErrorOf(res);
  const reason = describe(e, res);
  const base = { provider, status: res.status, reason };
  const code = e?.code;
  const sub = e?.subcode;
  if (code === 190 || code === 102 || res.status === 401) {
    return new ProviderError('auth_expired', `${provider}: ${what} refused the token (${reason})`, base);
  }
  if (res.status === 429 || (code !== undefined && RATE_LIMIT_CODES.has(code)) || sub === POSTING_TOO_FAST || sub === IG_PUBLISH_LIMIT) {
    const wait = metaRetryAfterMs(res.headers);
    return new ProviderError('rate_limited', `${provider}: ${what} is rate limited (${reason})`, { ...base, ...(wait !== undefined ? { retryAfterMs: wait } : {}) });
  }
  if (opts.tokenCall && res.status >= 400 && res.status < 500) {
    return new ProviderError('auth_expired', `${provider}: the network does not accept this authorisation (${reason})`, base);
  }
  if ((code !== undefined && TRANSIENT_CODES.has(code)) || sub === IG_DOWNLOAD_TIMEOUT || res.status >= 500) {
    return new ProviderError('transient', `${provider}: ${what} failed on the network's side (${reason})`, base);
  }
  return new ProviderError('permanent', `${provider}: ${what} was refused (${reason})`, base);
}

/** A refusal decided before any call (or from what an answer says), with its reason code. */
export function permanent(provider: string, message: string, reason: string): ProviderError {
  return new ProviderError('permanent', `${provider}: ${message}`, { provider, reason });
}
