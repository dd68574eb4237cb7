// Fetches the card of a link in a post (its title, description and image) for networks that show a link
// only as a card the poster builds: Bluesky does not look at links itself
// (https://docs.bsky.app/docs/advanced-guides/posts#website-card-embeds). The URL comes
// from a user, so every hop, redirects included, goes through the private-address guard; pages and images
// are read up to a cap and within a timeout; nothing here throws: a link without a card is still a post.
import { fileTypeFromBuffer } from 'file-type';
import type { HttpClient, HttpResponse } from '../../infra/http/client.ts';
import { getFollowingRedirects, type FollowedResponse } from '../../infra/http/redirects.ts';
import type { Logger } from '../../infra/logger.ts';
import { TtlCache } from '../../infra/cache.ts';
import type { Metrics } from '../../infra/metrics.ts';
import type { LinkCard, LinkCardSource } from '../../providers/types.ts';
import { parseCard } from './card.ts';

export interface LinkPreviewerOptions {
  http: HttpClient;
  log: Logger;
  timeoutMs?: number;
  /** The head of a page is enough; the rest is not read. */
  maxPageBytes?: number;
  /** Bluesky's limit for a card's thumbnail blob (app.bsky.embed.external; docs/NETWORKS.md, Network facts: Bluesky). */
  maxImageBytes?: number;
  maxRedirects?: number;
}

const IMAGE_TYPES = new Set(['image/jpeg', 'image/png', 'image/webp', 'image/gif']);
const HTML = /^(text\/html|application\/xhtml\+xml)\b/i;

export class LinkPreviewer implements LinkCardSource {
  private readonly timeoutMs: number;
  private readonly maxPageBytes: number;
  private readonly maxImageBytes: number;
  private readonly maxRedirects: number;

  constructor(private readonly o: LinkPreviewerOptions) {
    this.timeoutMs = o.timeoutMs ?? 5000;
    this.maxPageBytes = o.maxPageBytes ?? 512 * 1024;
    this.maxImageBytes = o.maxImageBytes ?? 1_000_000;
    this.maxRedirects = o.maxRedirects ?? 3;
  }

  async card(url: string): Promise<LinkCard | null> {
    const page = await this.get(url, 'page', this.maxPageBytes, 'text/html,application/xhtml+xml;q=0.9,*/*;q=0.1');
    if (!page) return null;
    if (!HTML.test(page.res.headers['content-type'] ?? '')) return this.skip(url, `not an HTML page (${page.res.headers['content-type'] ?? 'no content type'})`);
    const found = parseCard(decode(page.res), page.url);
    if (!found) return this.skip(url, 'the page has no title or description');
    const { image, ...text } = found;
    const thumb = image ? await this.thumb(image) : undefined;
    return { uri: url, ...text, ...(thumb ? { thumb } : {}) };
  }

  private async thumb(url: string): Promise<LinkCard['thumb'] | undefined> {
    // One byte over the cap tells an image that is too big from one that fits exactly.
    const got = await this.get(url, 'image', this.maxImageBytes + 1, 'image/*');
    if (!got) return undefined;
    if (got.res.bytes.length > this.maxImageBytes) {
      this.o.log.debug({ host: hostOf(url), limit: this.maxImageBytes }, 'link card image too large; the card goes without it');
      return undefined;
    }
    // The bytes decide what it is, not the Content-Type the site sent.
    const type = await fileTypeFromBuffer(got.res.bytes);
    if (!type || !IMAGE_TYPES.has(type.mime)) {
      this.o.log.debug({ host: hostOf(url), type: type?.mime ?? 'unknown' }, 'link card image is not a JPEG, PNG, WebP or GIF; the card goes without it');
      return undefined;
    }
    return { bytes: got.res.bytes, mimeType: type.mime };
  }

  /** GET with redirects followed by hand, so that each hop is checked against the guard. */
  private async get(start: string, what: string, maxBytes: number, accept: string): Promise<{ res: HttpResponse; url: string } | null> {
    let got: FollowedResponse;
    try {
      got = await getFollowingRedirects(this.o.http, start, {
        provider: 'link_preview', operation: what, timeoutMs: this.timeoutMs, maxResponseBytes: maxBytes, headers: { accept },
      }, this.maxRedirects);
    } catch (err) {
      return this.skip(start, `${what}: ${(err as Error).message}`);
    }
    if (got.res.status !== 200) return this.skip(start, `${what}: HTTP ${got.res.status}`);
    return got;
  }

  private skip(url: string, why: string): null {
    // The host only: a link's path and query may carry someone's token.
    this.o.log.info({ host: hostOf(url), why }, 'no link card');
    return null;
  }
}

const hostOf = (url: string) => {
  try {
    return new URL(url).host;
  } catch {
    return '(not a URL)';
  }
};

/** The page's text in the charset its Content-Type names (UTF-8 when it names none or one we lack). */
function decode(res: HttpResponse): string {
  const charset = /charset=["']?([\w-]+)/i.exec(res.headers['content-type'] ?? '')?.[1];
  if (!charset || /^utf-?8$/i.test(charset)) return res.bytes.toString('utf8');
  try {
    return new TextDecoder(charset).decode(res.bytes);
  } catch {
    return res.bytes.toString('utf8');
  }
}

/**
 * The same card for a link within a few minutes: the composer previews it while someone types, and the
 * post published soon after shows what they saw. Few entries, since each may hold a 1 MB image. A link
 * without a card is not kept: the page may be back a moment later.
 */
export class CachedLinkCards implements LinkCardSource {
  private readonly cache: TtlCache<LinkCard>;

  constructor(private readonly source: LinkCardSource, metrics: Metrics, ttlMs = 10 * 60_000, maxEntries = 100) {
    this.cache = new TtlCache('link_cards', ttlMs, metrics, Date.now, maxEntries);
  }

  async card(url: string): Promise<LinkCard | null> {
    try {
      return (await this.cache.get(url, async () => {
        const card = await this.source.card(url);
        if (!card) throw NO_CARD;
        return card;
      })).value;
    } catch (err) {
      if (err === NO_CARD) return null;
      throw err;
    }
  }
}

const NO_CARD = new Error('no card');
