// Fetches a feed the way a polite reader does: a conditional GET (If-None-Match / If-Modified-Since from the
// last answer, so an unchanged feed costs a 304), redirects followed hop by hop through the private-address
// guard (a feed URL comes from a user), a deadline, and a cap on the size of the document: a feed larger
// than the cap is refused with a reason, not read in part.
import type { HttpClient } from '../../infra/http/client.ts';
import { ResponseTooLargeError, TransportError } from '../../infra/http/errors.ts';
import { getFollowingRedirects, UnfollowableUrlError } from '../../infra/http/redirects.ts';
import { BlockedHostError } from '../../infra/http/guard.ts';
import { FeedParseError, readFeed, type ParsedFeed } from './parse.ts';

export interface FetchOptions {
  timeoutMs: number;
  maxBytes: number;
  maxRedirects?: number;
}

export type FetchResult =
  | { changed: false }
  | { changed: true; feed: ParsedFeed; etag: string | null; lastModified: string | null };

/** A feed that could not be read; the message says why in words for the feed's screen. */
export class FeedFetchError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'FeedFetchError';
  }
}

const ACCEPT = 'application/rss+xml, application/atom+xml, application/feed+json, application/json;q=0.9, application/xml;q=0.9, text/xml;q=0.9, */*;q=0.1';

export class FeedFetcher {
  constructor(private readonly http: Pick<HttpClient, 'request'>, private readonly o: FetchOptions) {}

  async fetch(url: string, since: { etag: string | null; lastModified: string | null } = { etag: null, lastModified: null }): Promise<FetchResult> {
    const headers: Record<string, string> = { accept: ACCEPT };
    if (since.etag) headers['if-none-match'] = since.etag;
    if (since.lastModified) headers['if-modified-since'] = since.lastModified;
    let got;
    try {
      got = await getFollowingRedirects(this.http, url, {
        provider: 'feeds', operation: 'fetch', headers, timeoutMs: this.o.timeoutMs, maxBodyBytes: this.o.maxBytes,
      }, this.o.maxRedirects ?? 5);
    } catch (err) {
      throw new FeedFetchError(describe(err, this.o));
    }
    const { res } = got;
    if (res.status === 304) return { changed: false };
    if (res.status !== 200) throw new FeedFetchError(`the feed answered HTTP ${res.status}${res.status === 404 || res.status === 410 ? ' (it is gone: check its address)' : ''}`);
    try {
      return { changed: true, feed: readFeed(decode(res.bytes, res.headers['content-type']), got.url), etag: res.headers.etag ?? null, lastModified: res.headers['last-modified'] ?? null };
    } catch (err) {
      if (err instanceof FeedParseError) throw new FeedFetchError(err.message);
      throw err;
    }
  }
}

function describe(err: unknown, o: FetchOptions): string {
  if (err instanceof ResponseTooLargeError) return `the feed is larger than ${Math.round(o.maxBytes / 1024 / 1024 * 10) / 10} MB, the most AllIN reads`;
  if (err instanceof UnfollowableUrlError) return err.message;
  const blocked = err instanceof BlockedHostError || (err instanceof TransportError && err.reason === 'blocked_host');
  if (blocked) return 'the feed\'s address (or a redirect) leads to a private, loopback or link-local address; AllIN does not fetch from there';
  if (err instanceof TransportError) return err.reason === 'timeout' ? `no answer within ${o.timeoutMs / 1000} s` : `could not reach the feed (${err.reason})`;
  return `could not fetch the feed (${(err as Error).message})`;
}

/** The body in the charset the Content-Type or the XML declaration names (UTF-8 when neither does, or it is unknown). */
function decode(bytes: Buffer, contentType: string | undefined): string {
  const declared = /charset=["']?([\w-]+)/i.exec(contentType ?? '')?.[1]
    ?? /^\s*<\?xml[^>]*encoding=["']([\w-]+)["']/i.exec(bytes.subarray(0, 200).toString('latin1'))?.[1];
  if (!declared || /^utf-?8$/i.test(declared)) return bytes.toString('utf8').replace(/^\uFEFF/, '');
  try {
    return new TextDecoder(declared).decode(bytes);
  } catch {
    return bytes.toString('utf8');
  }
}
