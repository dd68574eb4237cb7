// XRPC calls and their errors (https://atproto.com/specs/xrpc): what one call names, and an error answer
// mapped to a ProviderError kind, with the rate-limit headers of
// https://docs.bsky.app/docs/advanced-guides/rate-limits.
import type { HttpResponse } from '../../infra/http/client.ts';
import { bodySnippet } from '../errors.ts';
import { parseJson, redactSecrets } from '../http.ts';
import { ProviderError } from '../types.ts';

const PROVIDER = 'bluesky';

/** Seconds in Retry-After, or RateLimit-Reset as epoch seconds (https://docs.bsky.app/docs/advanced-guides/rate-limits). */
function retryAfter(headers: Record<string, string>): number | undefined {
  const ra = Number(headers['retry-after']);
  if (Number.isFinite(ra) && headers['retry-after'] !== undefined) return Math.max(0, ra * 1000);
  const reset = Number(headers['ratelimit-reset']);
  if (Number.isFinite(reset) && reset > 1e9) return Math.max(0, reset * 1000 - Date.now());
  return undefined;
}

/** An XRPC error answer's `error` and `message` (empty when the body is not one). */
export function xrpcBody(res: HttpResponse): { error: string; message: string } {
  const b = parseJson(res) as { error?: unknown; message?: unknown } | null | undefined;
  return { error: typeof b?.error === 'string' ? b.error : '', message: typeof b?.message === 'string' ? b.message : '' };
}

/**
 * An XRPC error as a ProviderError. ExpiredToken and InvalidToken come as HTTP 400, not 401 (docs/NETWORKS.md, Network facts: Bluesky). A
 * 5xx to a creating call may have been committed behind a gateway, so it is an unknown outcome.
 */
export function xrpcError(what: string, res: HttpResponse, creates: boolean): ProviderError {
  const { error, message } = xrpcBody(res);
  const reason = redactSecrets([error, message].filter(Boolean).join(': ')).slice(0, 300) || bodySnippet(res);
  const details = { provider: PROVIDER, status: res.status, reason };
  if (error === 'ExpiredToken' || error === 'InvalidToken' || res.status === 401) {
    return new ProviderError('auth_expired', `bluesky: ${what} refused the session (${reason})`, details);
  }
  if (res.status === 429) {
    const wait = retryAfter(res.headers);
    return new ProviderError('rate_limited', `bluesky: ${what} is rate limited`, { ...details, ...(wait !== undefined ? { retryAfterMs: wait } : {}) });
  }
  if (res.status >= 500) {
    return creates
      ? new ProviderError('unknown_outcome', `bluesky: ${what} failed on the server (${res.status}); the record may have been written`, details)
      : new ProviderError('transient', `bluesky: ${what} failed on the network's side (${res.status})`, details);
  }
  return new ProviderError('permanent', `bluesky: ${what} was refused (${reason})`, details);
}

export interface XrpcCall {
  method: 'GET' | 'POST';
  base: string;
  nsid: string;
  what: string;
  creates?: boolean;
  token?: string;
  query?: Record<string, string | string[] | undefined>;
  body?: unknown;
  headers?: Record<string, string>;
  /** Carries file bytes: the client's media deadline. */
  media?: boolean;
}

export interface RecordAnswer { uri?: unknown; cid?: unknown; value?: Record<string, unknown> }
