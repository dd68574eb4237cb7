// The one way the app talks to AllIN: its public API, as any integrator would.
// - The access token lives in this module's memory only (never in storage a script could read later).
// - The refresh token lives in an httpOnly, SameSite=Strict cookie scoped to /api/auth, set at sign-in
//   with refreshTokenTransport: "cookie"; refreshing sends no token, only the cookie.
// - A 401 refreshes once (one refresh shared by every request waiting on it) and replays the request;
//   if the refresh is refused, the session is over and the app goes back to sign-in.
// - Every error becomes an ApiError whose message is the API's own `message`, written for a person.
// - A 429 or 503 with a short Retry-After (sign-in while password hashing is busy, a shed request) is waited
//   out, with jitter, and sent again, twice at most; a longer one goes back to the page as an error.
import { retryDelayMs, type RetryAfterPolicy } from '../../src/infra/retry-after.ts';
import { startAuthentication, type AuthenticationResponseJSON, type PublicKeyCredentialRequestOptionsJSON } from '@simplewebauthn/browser';

export class ApiError extends Error {
  constructor(
    readonly status: number,
    readonly code: string,
    message: string,
    readonly details?: unknown,
    readonly requestId?: string,
  ) {
    super(message);
    this.name = 'ApiError';
  }
}

let accessToken: string | null = null;
let refreshing: Promise<boolean> | null = null;
const endListeners = new Set<(message: string) => void>();

/** Called when the session ends under the app's feet (revoked, expired): the app shows sign-in. */
export function onSessionEnded(fn: (message: string) => void): () => void {
  endListeners.add(fn);
  return () => endListeners.delete(fn);
}

export function hasAccessToken(): boolean {
  return accessToken !== null;
}

export function forgetSession(): void {
  accessToken = null;
}

const STATUS_WORDS: Record<number, string> = {
  400: 'The request was not accepted.',
  401: 'You are not signed in.',
  403: 'You are not allowed to do this.',
  404: 'This was not found.',
  409: 'This changed meanwhile; reload and try again.',
  413: 'This is too large.',
  415: 'This type of file is not accepted.',
  422: 'This cannot be done as it is.',
  429: 'Too many requests; wait a moment and try again.',
  502: 'AllIN could not be reached (bad gateway).',
  503: 'AllIN is busy or starting; try again in a moment.',
  504: 'AllIN took too long to answer.',
};

async function errorOf(res: Response): Promise<ApiError> {
  let body: { code?: string; message?: string; details?: unknown; requestId?: string } | undefined;
  try {
    body = (await res.json()) as typeof body;
  } catch {
    body = undefined;
  }
  let message = body?.message || STATUS_WORDS[res.status] || `AllIN answered ${res.status} ${res.statusText}.`;
  const retryAfter = res.headers.get('retry-after');
  if (res.status === 429 && retryAfter && !/\btry again in\b/i.test(message)) message += ` Try again in ${retryAfter} s.`;
  return new ApiError(res.status, body?.code ?? `HTTP_${res.status}`, message, body?.details, body?.requestId);
}

const unreachable = () => new ApiError(0, 'NETWORK', 'AllIN cannot be reached: check your connection and try again.');

const RETRY: RetryAfterPolicy = { maxRetries: 2, maxWaitMs: 10_000 };

function pause(ms: number, signal: AbortSignal | null | undefined): Promise<void> {
  return new Promise((resolve, reject) => {
    if (signal?.aborted) return reject(unreachable());
    const timer = setTimeout(resolve, ms);
    signal?.addEventListener('abort', () => { clearTimeout(timer); reject(unreachable()); }, { once: true });
  });
}

async function rawFetch(path: string, init: RequestInit): Promise<Response> {
  for (let retry = 1; ; retry++) {
    let res: Response;
    try {
      res = await fetch(path, { credentials: 'same-origin', ...init });
    } catch {
      throw unreachable();
    }
    const wait = retryDelayMs(res.status, res.headers.get('retry-after'), retry, RETRY);
    if (wait === null) return res;
    await res.body?.cancel().catch(() => undefined);
    await pause(wait, init.signal);
  }
}

export interface TokenAnswer {
  accessToken: string;
  accessTokenExpiresAt: string;
  session: { id: string; expiresAt: string };
  userId: string;
}

/** Exchanges the refresh cookie for a new access token; false when the session is over. */
export function refreshSession(): Promise<boolean> {
  refreshing ??= (async () => {
    try {
      const res = await rawFetch('/api/auth/refresh', { method: 'POST', headers: { 'content-type': 'application/json' }, body: '{}' });
      if (!res.ok) {
        accessToken = null;
        if (res.status >= 500 || res.status === 429) throw await errorOf(res);
        return false;
      }
      const body = (await res.json()) as TokenAnswer;
      accessToken = body.accessToken;
      currentSessionId = body.session.id;
      return true;
    } finally {
      refreshing = null;
    }
  })();
  return refreshing;
}

let currentSessionId: string | null = null;
export const sessionId = () => currentSessionId;

export interface RequestOptions {
  body?: unknown;
  form?: FormData;
  query?: Record<string, string | number | boolean | undefined | null>;
  /** Send without the access token (sign-in, sign-up and the other anonymous routes). */
  anonymous?: boolean;
  signal?: AbortSignal;
}

function withQuery(path: string, query: RequestOptions['query']): string {
  if (!query) return path;
  const q = new URLSearchParams();
  for (const [k, v] of Object.entries(query)) if (v !== undefined && v !== null && v !== '') q.set(k, String(v));
  const s = q.toString();
  return s ? `${path}${path.includes('?') ? '&' : '?'}${s}` : path;
}

async function send(method: string, path: string, opts: RequestOptions): Promise<Response> {
  const headers: Record<string, string> = { accept: 'application/json' };
  if (!opts.anonymous && accessToken) headers.authorization = `Bearer ${accessToken}`;
  let body: BodyInit | undefined;
  if (opts.form) body = opts.form;
  else if (opts.body !== undefined) {
    headers['content-type'] = 'application/json';
    body = JSON.stringify(opts.body);
  }
  return rawFetch(withQuery(path, opts.query), { method, headers, ...(body !== undefined ? { body } : {}), ...(opts.signal ? { signal: opts.signal } : {}) });
}

function sessionEnded(message: string): never {
  accessToken = null;
  for (const fn of endListeners) fn(message);
  throw new ApiError(401, 'SESSION_ENDED', message);
}

/** A request with the session's token; a 401 refreshes once and replays. Answers the JSON body (or undefined for 204). */
export async function request<T>(method: string, path: string, opts: RequestOptions = {}): Promise<T> {
  if (!opts.anonymous && !accessToken && refreshing) await refreshing.catch(() => false);
  let res = await send(method, path, opts);
  if (res.status === 401 && !opts.anonymous) {
    const first = await errorOf(res);
    let renewed: boolean;
    try {
      renewed = await refreshSession();
    } catch (err) {
      throw err instanceof ApiError ? err : unreachable();
    }
    if (!renewed) sessionEnded(first.code === 'SESSION_REVOKED' ? 'This session was signed out. Sign in again.' : 'Your session has ended. Sign in again.');
    res = await send(method, path, opts);
    if (res.status === 401) sessionEnded((await errorOf(res)).message);
  }
  if (!res.ok) throw await errorOf(res);
  if (res.status === 204) return undefined as T;
  const text = await res.text();
  return (text ? JSON.parse(text) : undefined) as T;
}

/** The bytes of a protected resource (media previews), as an object URL the caller revokes. */
export async function blobUrl(path: string, signal?: AbortSignal): Promise<string> {
  let res = await send('GET', path, signal ? { signal } : {});
  if (res.status === 401 && (await refreshSession())) res = await send('GET', path, signal ? { signal } : {});
  if (!res.ok) throw await errorOf(res);
  return URL.createObjectURL(await res.blob());
}

/**
 * Saves a protected file (a CSV export) under the name the server gives. A plain link cannot send the access
 * token, which lives in this module's memory only (the session cookie is scoped to /api/auth), so the file is
 * fetched with it and handed to the browser as an object URL behind a temporary download link.
 */
export async function download(path: string, query?: RequestOptions['query']): Promise<string> {
  const opts: RequestOptions = query ? { query } : {};
  let res = await send('GET', path, opts);
  if (res.status === 401 && (await refreshSession())) res = await send('GET', path, opts);
  if (!res.ok) throw await errorOf(res);
  const name = /filename="([^"]+)"/.exec(res.headers.get('content-disposition') ?? '')?.[1] ?? 'export.csv';
  const url = URL.createObjectURL(await res.blob());
  const a = document.createElement('a');
  a.href = url;
  a.download = name;
  document.body.append(a);
  a.click();
  a.remove();
  // Revoked a while after the click, once the browser has taken the file.
  setTimeout(() => URL.revokeObjectURL(url), 60_000);
  return name;
}

export const api = {
  get: <T>(path: string, opts?: RequestOptions) => request<T>('GET', path, opts),
  post: <T>(path: string, body?: unknown, opts?: RequestOptions) => request<T>('POST', path, { ...opts, ...(body !== undefined ? { body } : {}) }),
  put: <T>(path: string, body?: unknown, opts?: RequestOptions) => request<T>('PUT', path, { ...opts, ...(body !== undefined ? { body } : {}) }),
  patch: <T>(path: string, body?: unknown, opts?: RequestOptions) => request<T>('PATCH', path, { ...opts, ...(body !== undefined ? { body } : {}) }),
  del: <T = void>(path: string, opts?: RequestOptions) => request<T>('DELETE', path, opts),
};

type ListKey<A> = { [K in keyof A]: A[K] extends unknown[] ? K : never }[keyof A];

/**
 * The whole of a keyset-paged list, for the places that need all of a set that stays small (the accounts of
 * a picker, the members whose names label other lists, a queue to reorder): follows nextCursor to the last
 * page, 200 items at a time. A list that can grow long is shown a page at a time instead.
 */
export async function getAll<A extends { nextCursor: string | null }>(path: string, key: ListKey<A>, opts: RequestOptions = {}): Promise<A> {
  const pageOf = (cursor?: string) => api.get<A>(path, { ...opts, query: { ...opts.query, limit: 200, ...(cursor ? { cursor } : {}) } });
  let page = await pageOf();
  const items = [...(page[key] as unknown[])];
  while (page.nextCursor) {
    page = await pageOf(page.nextCursor);
    items.push(...(page[key] as unknown[]));
  }
  return { ...page, [key]: items, nextCursor: null };
}

/** The password was right and the account has a second factor: no session yet, a code or passkey is asked for. */
export interface SecondFactorChallenge {
  secondFactorRequired: true;
  challengeToken: string;
  challengeExpiresAt: string;
  methods: ('totp' | 'passkey' | 'recovery_code')[];
}

/** Sign in: the refresh token goes to the httpOnly cookie, the access token stays here. */
export async function signIn(email: string, password: string, rememberMe: boolean): Promise<TokenAnswer | SecondFactorChallenge> {
  const t = await request<TokenAnswer | SecondFactorChallenge>('POST', '/api/auth/login', { anonymous: true, body: { email, password, rememberMe, refreshTokenTransport: 'cookie' } });
  if ('secondFactorRequired' in t) return t;
  accessToken = t.accessToken;
  currentSessionId = t.session.id;
  return t;
}

/** Sign in with a passkey alone: the browser offers this site's passkeys, no email needed. */
export async function signInWithPasskey(rememberMe: boolean): Promise<TokenAnswer> {
  const { ceremonyToken, options } = await request<{ ceremonyToken: string; options: PublicKeyCredentialRequestOptionsJSON }>('POST', '/api/auth/passkey/options', { anonymous: true });
  const response = await startAuthentication({ optionsJSON: options });
  const t = await request<TokenAnswer>('POST', '/api/auth/passkey/login', { anonymous: true, body: { ceremonyToken, response, rememberMe, refreshTokenTransport: 'cookie' } });
  accessToken = t.accessToken;
  currentSessionId = t.session.id;
  return t;
}

/** A passkey's answer to the options of `path` (the second factor of a sign-in, or a step-up). */
export async function passkeyProof(path: string, body?: unknown, anonymous = false): Promise<AuthenticationResponseJSON> {
  const { options } = await request<{ options: PublicKeyCredentialRequestOptionsJSON }>('POST', path, { anonymous, ...(body !== undefined ? { body } : {}) });
  return startAuthentication({ optionsJSON: options });
}

/** The code step of a sign-in: a code from the authenticator app, a passkey's answer, or a recovery code. */
export async function signInSecondFactor(challengeToken: string, proof: { code: string } | { recoveryCode: string } | { passkey: AuthenticationResponseJSON }): Promise<TokenAnswer> {
  const t = await request<TokenAnswer>('POST', '/api/auth/login/second-factor', { anonymous: true, body: { challengeToken, ...proof, refreshTokenTransport: 'cookie' } });
  accessToken = t.accessToken;
  currentSessionId = t.session.id;
  return t;
}

export async function signOut(scope: 'session' | 'all' = 'session'): Promise<void> {
  try {
    if (accessToken) await request('POST', '/api/auth/logout', { body: { scope } });
  } finally {
    accessToken = null;
    currentSessionId = null;
  }
}

/**
 * Reads a text/event-stream route with the session's token (a browser's EventSource cannot send the
 * Authorization header, and a token in the URL would end up in logs): `onEvent` for each event, until the
 * stream ends (resolves) or `signal` aborts. A 401 refreshes the session once; a refusal throws its ApiError.
 */
export function readEventStream(path: string, onEvent: (type: string, data: unknown) => void, signal: AbortSignal): Promise<void> {
  return eventStream('GET', path, undefined, onEvent, signal);
}

/**
 * POSTs a JSON body to a route that answers Server-Sent Events (the assistant's suggestions), with the same
 * token, refresh and event parsing as readEventStream. A refusal before the stream starts (assistant off,
 * budget spent) throws its ApiError with the API's own message.
 */
export function postEventStream(path: string, body: unknown, onEvent: (type: string, data: unknown) => void, signal: AbortSignal): Promise<void> {
  return eventStream('POST', path, body, onEvent, signal);
}

async function eventStream(method: 'GET' | 'POST', path: string, body: unknown, onEvent: (type: string, data: unknown) => void, signal: AbortSignal): Promise<void> {
  const open = () => fetch(path, {
    method, credentials: 'same-origin', signal,
    headers: {
      accept: 'text/event-stream', ...(accessToken ? { authorization: `Bearer ${accessToken}` } : {}),
      ...(body !== undefined ? { 'content-type': 'application/json' } : {}),
    },
    ...(body !== undefined ? { body: JSON.stringify(body) } : {}),
  }).catch(() => { throw unreachable(); });
  let res = await open();
  if (res.status === 401) {
    const first = await errorOf(res);
    if (!(await refreshSession())) sessionEnded(first.code === 'SESSION_REVOKED' ? 'This session was signed out. Sign in again.' : 'Your session has ended. Sign in again.');
    res = await open();
  }
  if (!res.ok || !res.body) throw await errorOf(res);
  const reader = res.body.pipeThrough(new TextDecoderStream()).getReader();
  let buf = '';
  try {
    for (;;) {
      const { value, done } = await reader.read();
      if (done) return;
      buf += value;
      let i: number;
      while ((i = buf.indexOf('\n\n')) >= 0) {
        const block = buf.slice(0, i);
        buf = buf.slice(i + 2);
        let type = 'message';
        const data: string[] = [];
        for (const line of block.split('\n')) {
          if (line.startsWith('event:')) type = line.slice(6).trim();
          else if (line.startsWith('data:')) data.push(line.slice(5).trimStart());
        }
        if (data.length === 0) continue; // a comment (heartbeat) or a retry field
        let parsed: unknown;
        try { parsed = JSON.parse(data.join('\n')); } catch { continue; }
        onEvent(type, parsed);
      }
    }
  } catch (err) {
    if (signal.aborted) return;
    throw err instanceof ApiError ? err : unreachable();
  } finally {
    reader.releaseLock();
  }
}
