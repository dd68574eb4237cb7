// One Graph call the documented way, for Facebook, Instagram and Threads: the versioned base URL, the
// access_token parameter (query for GET/DELETE, body for POST), errors mapped by errors.ts, the answer
// read by the adapters' one JSON reader, and cursor paging. Documentation:
//   https://developers.facebook.com/docs/graph-api/overview        (versioned paths, access_token)
//   https://developers.facebook.com/docs/graph-api/results         (cursor-based paging)
import type { HttpClient, HttpResponse } from '../../infra/http/client.ts';
import { malformed, transportError } from '../errors.ts';
import { readJson } from '../http.ts';
import { graphError } from './errors.ts';

export type Params = Record<string, string | number | boolean | undefined>;

export interface GraphCall {
  provider: string;
  operation: string;
  method: 'GET' | 'POST' | 'DELETE';
  url: string;
  /** Sent as the documented `access_token` parameter (query for GET/DELETE, body for POST). */
  token?: string;
  params?: Params;
  /** A multipart body (file uploads); params and the token are added to it. */
  form?: FormData;
  /**
   * Raw bytes (Facebook's rupload host): sent as the body, with `headers`, and the token in an
   * `Authorization: OAuth` header instead of a parameter (reels-publishing guide).
   */
  bytes?: { body: Buffer; headers: Record<string, string> };
  /** The call publishes something: no answer after sending is an unknown outcome. */
  creates?: boolean;
  tokenCall?: boolean;
}

/** One Graph call: parameters the documented way, errors mapped, the JSON object answer returned. */
export async function graphCall<T extends object>(http: HttpClient, c: GraphCall): Promise<T> {
  const url = new URL(c.url);
  const p = new URLSearchParams();
  for (const [k, v] of Object.entries(c.params ?? {})) if (v !== undefined) p.set(k, String(v));
  if (c.token && !c.bytes) p.set('access_token', c.token);
  let body: URLSearchParams | FormData | Buffer | undefined;
  const headers: Record<string, string> = { accept: 'application/json' };
  if (c.bytes) {
    body = c.bytes.body;
    Object.assign(headers, c.bytes.headers, { 'content-type': 'application/octet-stream' }, c.token ? { authorization: `OAuth ${c.token}` } : {});
    for (const [k, v] of p) url.searchParams.set(k, v);
  } else if (c.method === 'POST') {
    if (c.form) {
      for (const [k, v] of p) c.form.set(k, v);
      body = c.form;
    } else {
      body = p;
    }
  } else {
    for (const [k, v] of p) url.searchParams.set(k, v);
  }
  let res: HttpResponse;
  try {
    res = await http.request({
      method: c.method, url: url.toString(), provider: c.provider, operation: c.operation,
      headers, ...(body ? { body } : {}), retryUnsent: true,
      // File bytes get the media deadline (the client's default one is for small JSON calls).
      ...(c.form || c.bytes ? { media: true } : {}),
    });
  } catch (err) {
    throw transportError(c.provider, c.operation, err, c.creates ?? false);
  }
  if (res.status < 200 || res.status >= 300) throw graphError(c.provider, c.operation, res, { tokenCall: c.tokenCall ?? false });
  const parsed = readJson<Record<string, unknown>>(res, { provider: c.provider, operation: c.operation, creates: c.creates ?? false, objectOnly: true });
  // An error envelope is a refusal whatever the status line says: classify it by its code.
  if ('error' in parsed && parsed.error) throw graphError(c.provider, c.operation, { ...res, status: 400 }, { tokenCall: c.tokenCall ?? false });
  return parsed as T;
}

/** The calls of one adapter: its provider name and versioned base URL fixed once. */
export interface GraphApi {
  readonly provider: string;
  /** `{base}/{version}/{path}`. */
  url(path: string): string;
  get<T extends object>(operation: string, path: string, token: string, params?: Params): Promise<T>;
  post<T extends object>(operation: string, path: string, token: string, params: Params, creates?: boolean): Promise<T>;
  /** Any other call (another host, a form, bytes, a token endpoint): the provider is filled in. */
  call<T extends object>(c: Omit<GraphCall, 'provider'>): Promise<T>;
}

export function graphApi(http: HttpClient, o: { provider: string; base: string; version: string }): GraphApi {
  const url = (path: string) => `${o.base}/${o.version}/${path}`;
  const call = <T extends object>(c: Omit<GraphCall, 'provider'>) => graphCall<T>(http, { ...c, provider: o.provider });
  return {
    provider: o.provider,
    url,
    call,
    get: (operation, path, token, params = {}) => call({ operation, method: 'GET', url: url(path), token, params }),
    post: (operation, path, token, params, creates = false) => call({ operation, method: 'POST', url: url(path), token, params, creates }),
  };
}

/** A required string field of an answer, else the answer is malformed. */
export function need(provider: string, what: string, creates: boolean, v: unknown): string {
  if (typeof v === 'string' && v !== '') return v;
  if (typeof v === 'number' && Number.isFinite(v)) return String(v); // Threads gives some ids as numbers
  throw malformed(provider, what, creates);
}

/** The `data` list of a Graph list answer, else the answer is malformed. */
export function dataOf<T>(provider: string, what: string, r: { data?: T[] }): T[] {
  if (!Array.isArray(r.data)) throw malformed(provider, what, false);
  return r.data;
}

/**
 * Every item of a cursor-paged edge, page after page (`paging.cursors.after` while `paging.next` is
 * given), at most `maxPages` pages so a network that never stops paging cannot hold a job forever.
 */
export async function* graphPages<T>(api: GraphApi, operation: string, path: string, token: string, params: Params, maxPages = 50): AsyncGenerator<T> {
  let after: string | undefined;
  for (let page = 0; page < maxPages; page++) {
    const r = await api.get<{ data?: T[]; paging?: { next?: unknown; cursors?: { after?: unknown } } }>(operation, path, token, { ...params, ...(after ? { after } : {}) });
    yield* dataOf(api.provider, operation, r);
    const next = r.paging?.cursors?.after;
    if (!r.paging?.next || typeof next !== 'string') return;
    after = next;
  }
}
