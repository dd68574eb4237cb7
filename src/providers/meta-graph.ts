// What the three Meta adapters (facebook.ts, instagram.ts, threads.ts) share: Graph API calls, the
// Graph error envelope mapped to ProviderError kinds, container status polling, media checks, and the
// record of publish attempts that reconciliation needs (kept in the send journal). Docs:
//   https://developers.facebook.com/docs/graph-api/guides/error-handling
//   https://developers.facebook.com/docs/graph-api/overview/rate-limiting
import { setTimeout as sleep } from 'node:timers/promises';
import type { HttpClient, HttpResponse } from '../infra/http/client.ts';
import { malformed, retryAfterMs, transportError } from './errors.ts';
import { ProviderError, type MediaItem, type MediaLimits } from './types.ts';
import { MemorySendJournal, sendKey, type SendJournal } from './send-journal.ts';
import { journalCall } from './sent-posts.ts';

/** The Graph version used when the settings name none (the default of FACEBOOK_GRAPH_VERSION). */
export const DEFAULT_GRAPH_VERSION = 'v26.0';
/** Long-lived user tokens of Facebook, Instagram and Threads: "about 60 days" (expires_in 5183944 in the docs). */
export const LONG_LIVED_SECONDS = 60 * 24 * 3600;

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
  let body: unknown;
  try {
    body = res.json();
  } catch {
    return undefined;
  }
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
  if (!e) return res.text.slice(0, 200) || `HTTP ${res.status}`;
  const codes = e.code !== undefined ? ` [code ${e.code}${e.subcode !== undefined ? `/${e.subcode}` : ''}]` : '';
  return `${e.userMessage ?? e.message ?? e.type ?? 'error'}${codes}`.slice(0, 300);
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
  let parsed: unknown;
  try {
    parsed = res.json();
  } catch {
    throw malformed(c.provider, c.operation, c.creates ?? false);
  }
  if (!parsed || typeof parsed !== 'object' || Array.isArray(parsed)) throw malformed(c.provider, c.operation, c.creates ?? false);
  // An error envelope is a refusal whatever the status line says: classify it by its code.
  if ('error' in parsed && (parsed as { error?: unknown }).error) throw graphError(c.provider, c.operation, { ...res, status: 400 }, { tokenCall: c.tokenCall ?? false });
  return parsed as T;
}

/** A required string field of an answer, else the answer is malformed. */
export function need(provider: string, what: string, creates: boolean, v: unknown): string {
  if (typeof v === 'string' && v !== '') return v;
  if (typeof v === 'number' && Number.isFinite(v)) return String(v); // Threads gives some ids as numbers
  throw malformed(provider, what, creates);
}

export function permanent(provider: string, message: string, reason: string): ProviderError {
  return new ProviderError('permanent', `${provider}: ${message}`, { provider, reason });
}

export interface PollOptions {
  /** Between two status reads. Meta suggests once a minute; shorter is allowed and keeps jobs short. */
  intervalMs: number;
  /** Give up (transient: nothing was published) after this long; Meta suggests at most 5 minutes. */
  maxWaitMs: number;
}

export const DEFAULT_POLL: PollOptions = { intervalMs: 5_000, maxWaitMs: 5 * 60_000 };

/**
 * Reads a container's status until FINISHED. ERROR and EXPIRED are permanent (the reason carries
 * Meta's text); still IN_PROGRESS at the deadline is transient, since nothing was published.
 */
export async function waitForContainer(provider: string, poll: PollOptions, read: () => Promise<{ status: string; detail?: string }>): Promise<void> {
  const deadline = Date.now() + poll.maxWaitMs;
  for (;;) {
    const s = await read();
    if (s.status === 'FINISHED') return;
    if (s.status === 'ERROR' || s.status === 'EXPIRED' || s.status === 'PUBLISHED') {
      const reason = s.detail ? `${s.status}: ${s.detail}` : s.status;
      throw new ProviderError('permanent', `${provider}: the media container cannot be published (${reason})`, { provider, reason });
    }
    if (Date.now() + poll.intervalMs > deadline) {
      throw new ProviderError('transient', `${provider}: the media was still processing after ${Math.round(poll.maxWaitMs / 1000)} s`, { provider, reason: 'container_in_progress' });
    }
    await sleep(poll.intervalMs);
  }
}

/** Refuses media the network would refuse, before any call: counts, types, sizes, durations. */
export function checkMedia(provider: string, limits: MediaLimits, media: MediaItem[]): void {
  if (media.length > limits.maxCount) throw permanent(provider, `at most ${limits.maxCount} media per post`, 'too_many_media');
  const videos = media.filter((m) => m.mimeType.startsWith('video/')).length;
  if (!limits.mixing && videos > 0 && videos < media.length) throw permanent(provider, 'images and videos cannot be mixed in one post', 'media_mixing');
  for (const m of media) {
    const isVideo = limits.videoTypes.includes(m.mimeType);
    if (!isVideo && !limits.imageTypes.includes(m.mimeType)) {
      throw permanent(provider, `${m.mimeType} is not accepted (images: ${limits.imageTypes.join(', ') || 'none'}; videos: ${limits.videoTypes.join(', ') || 'none'})`, 'unsupported_media_type');
    }
    const max = isVideo ? limits.maxVideoBytes : limits.maxImageBytes;
    if (m.bytes > max) throw permanent(provider, `a ${isVideo ? 'video' : 'image'} may weigh at most ${max} bytes`, 'media_too_large');
    if (isVideo && limits.maxVideoSeconds !== undefined && m.durationSeconds !== undefined && m.durationSeconds > limits.maxVideoSeconds) {
      throw permanent(provider, `a video may last at most ${limits.maxVideoSeconds} s`, 'video_too_long');
    }
  }
}

/** Instagram and Threads fetch media themselves: every item needs a public URL. */
export function requirePublicUrls(provider: string, media: MediaItem[]): string[] {
  return media.map((m) => {
    if (!m.publicUrl) {
      throw permanent(provider, 'the network downloads media itself, so every media item needs a public HTTPS URL (publicUrl); none was given', 'media_without_public_url');
    }
    return m.publicUrl;
  });
}

/** Graph timestamps look like 2026-11-26T10:00:00+0000. */
export function parseGraphTime(s: unknown): number {
  if (typeof s !== 'string') return NaN;
  return Date.parse(s.replace(/([+-]\d\d)(\d\d)$/, '$1:$2'));
}

/** Compares a post's text as the network may give it back (line endings, outer spaces). */
export function sameText(a: unknown, b: string): boolean {
  const norm = (s: string) => s.replace(/\r\n?/g, '\n').trim();
  return norm(typeof a === 'string' ? a : '') === norm(b);
}

export interface Attempt {
  text: string;
  /** When the marker was first sent (a retried marker keeps it). */
  startedAt: Date;
  /** The post this one answers (a comment or a reply). */
  replyTo?: string;
  /** Instagram and Threads: the container handed to media_publish / threads_publish. */
  containerId?: string;
  /** Every container handed to media_publish under this marker (a retry makes a new one; any may go live). */
  containerIds?: string[];
  /** Instagram: published as a Story (no caption; listed under /stories, not /media). */
  story?: boolean;
}

/** An attempt as the send journal holds it (JSON: the start time is the journal's first send time). */
type StoredAttempt = Omit<Attempt, 'startedAt'>;

/**
 * Meta posts carry no idempotency key and no field for a marker, so the only way to recognise a post
 * after an unknown outcome is its text (and, for containers, the container's PUBLISHED status). The
 * adapter writes down, per account and marker, what it sends before sending it, in the send journal
 * (send-journal.ts): kept in PostgreSQL and shared by every worker in the app, so a marker sent by a
 * process that has since died is reconciled by the next one. A marker with no record at all cannot be
 * reconciled (findByMarker says so rather than guessing).
 */
export class PublishAttempts {
  constructor(private readonly provider: string, private readonly journal: SendJournal = new MemorySendJournal()) {}

  /** Records what is about to be sent (again, once the container is known); the first send time is kept. */
  async record(account: string, marker: string, a: StoredAttempt): Promise<Attempt> {
    // A retry under the same marker makes a new container; the earlier ones are kept, since a
    // media_publish whose answer was lost may still have published one of them.
    const earlier = a.containerId ? containersOf(await this.get(account, marker)) : [];
    const containerIds = a.containerId ? [...new Set([...earlier, a.containerId])] : undefined;
    const value: StoredAttempt = {
      text: a.text, ...(a.replyTo ? { replyTo: a.replyTo } : {}), ...(a.containerId ? { containerId: a.containerId, containerIds } : {}), ...(a.story ? { story: true } : {}),
    };
    const r = await journalCall(this.provider, 'write', () => this.journal.put(this.provider, sendKey(account, marker), value));
    return { ...r.value, startedAt: new Date(r.firstSentAt) };
  }

  async get(account: string, marker: string): Promise<Attempt | undefined> {
    const r = await journalCall(this.provider, 'read', () => this.journal.get<StoredAttempt>(this.provider, sendKey(account, marker)));
    return r ? { ...r.value, startedAt: new Date(r.firstSentAt) } : undefined;
  }
}

/** The containers sent under an attempt, oldest first. */
export function containersOf(a: Pick<Attempt, 'containerId' | 'containerIds'> | undefined): string[] {
  if (!a) return [];
  return a.containerIds?.length ? a.containerIds : a.containerId ? [a.containerId] : [];
}

export function unknownMarker(provider: string, marker: string): ProviderError {
  return new ProviderError('permanent',
    `${provider}: cannot reconcile "${marker}": posts carry no marker on this network and nothing was recorded as sent under it, so the text to look for is unknown`,
    { provider, reason: 'marker_unknown' });
}

/** The earlier of the caller's `since` and the attempt's start (less a minute of clock skew). */
export function searchFrom(since: Date, a: Attempt): number {
  return Math.min(since.getTime(), a.startedAt.getTime()) - 60_000;
}
