// A feed document (RSS 0.9x/2.0, RDF, Atom 0.3/1.0, JSON Feed 1.0/1.1) read into the few things a post is made
// of, with feedsmith (https://feedsmith.dev: typed, maintained, two small dependencies), which detects the
// format and maps legacy elements. Text fields may hold HTML (RSS descriptions, Atom type="html"): tags are
// dropped and entities decoded, so a post never carries markup.
import { createHash } from 'node:crypto';
import { parseFeed } from 'feedsmith';
import { decodeHTML } from 'entities';

export interface FeedItem {
  /** The item's own id (guid, Atom id, JSON Feed id), else its link, else a hash of title and date. */
  key: string;
  link: string | null;
  title: string;
  summary: string;
  author: string | null;
  publishedAt: Date | null;
}

export interface ParsedFeed {
  format: 'rss' | 'atom' | 'rdf' | 'json';
  title: string | null;
  items: FeedItem[];
}

export class FeedParseError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'FeedParseError';
  }
}

/** Longest id, link or title kept (longer ones are cut; ids are hashed). */
const MAX_KEY = 500;
const MAX_TITLE = 500;
const MAX_SUMMARY = 1000;

/** Plain text of what may be HTML: tags out, entities decoded, white space collapsed. */
export function plainText(value: string | undefined | null): string {
  if (!value) return '';
  const noTags = value.replace(/<(script|style)\b[\s\S]*?<\/\1\s*>/gi, ' ').replace(/<!--[\s\S]*?-->/g, ' ').replace(/<[^>]*>/g, ' ');
  return decodeHTML(noTags).replace(/\s+/g, ' ').trim();
}

const cut = (s: string, max: number) => {
  const chars = [...s];
  return chars.length <= max ? s : `${chars.slice(0, max - 1).join('').trimEnd()}…`;
};

const date = (v: string | undefined): Date | null => {
  if (!v) return null;
  const d = new Date(v);
  return Number.isNaN(d.getTime()) ? null : d;
};

/** An absolute http(s) link, resolved against the feed's own address; anything else is no link. */
function absolute(link: string | undefined, base: string): string | null {
  if (!link) return null;
  try {
    const u = new URL(link.trim(), base);
    return u.protocol === 'http:' || u.protocol === 'https:' ? u.toString() : null;
  } catch {
    return null;
  }
}

function keyOf(id: string | undefined, link: string | null, title: string, published: Date | null): string {
  const own = id?.trim();
  if (own) return own.length <= MAX_KEY ? own : `sha256:${createHash('sha256').update(own).digest('hex')}`;
  if (link) return link.length <= MAX_KEY ? link : `sha256:${createHash('sha256').update(link).digest('hex')}`;
  return `sha256:${createHash('sha256').update(`${title}\n${published?.toISOString() ?? ''}`).digest('hex')}`;
}

interface Raw { id: string | undefined; link: string | undefined; title: string | undefined; summary: string | undefined; author: string | undefined; date: string | undefined }

function item(raw: Raw, base: string): FeedItem | null {
  const link = absolute(raw.link, base);
  const title = cut(plainText(raw.title), MAX_TITLE);
  const summary = cut(plainText(raw.summary), MAX_SUMMARY);
  if (!title && !link && !summary) return null;
  const publishedAt = date(raw.date);
  return { key: keyOf(raw.id, link, title || summary, publishedAt), link, title, summary, author: raw.author ? cut(plainText(raw.author), 200) || null : null, publishedAt };
}

/** The feed at `url` (for relative links) read from its body. Throws FeedParseError when it is no feed. */
export function readFeed(body: string, url: string): ParsedFeed {
  let parsed: ReturnType<typeof parseFeed>;
  try {
    parsed = parseFeed(body);
  } catch (err) {
    throw new FeedParseError(`not an RSS, Atom or JSON feed (${(err as Error).message})`);
  }
  const raws: Raw[] = [];
  let title: string | undefined;
  switch (parsed.format) {
    case 'rss':
    case 'rdf': {
      const f = parsed.feed as { title?: string; items?: Array<{ title?: string; link?: string; description?: string; content?: { encoded?: string }; guid?: { value?: string } | string; pubDate?: string; dc?: { creators?: string[]; date?: string; dates?: string[] }; authors?: string[] }> };
      title = f.title;
      for (const i of f.items ?? []) {
        const guid = typeof i.guid === 'string' ? i.guid : i.guid?.value;
        raws.push({ id: guid, link: i.link, title: i.title, summary: i.description ?? i.content?.encoded, author: i.dc?.creators?.[0] ?? i.authors?.[0], date: i.pubDate ?? i.dc?.date ?? i.dc?.dates?.[0] });
      }
      break;
    }
    case 'atom': {
      const f = parsed.feed as { title?: { value?: string } | string; entries?: Array<{ id?: string; title?: { value?: string } | string; links?: Array<{ href?: string; rel?: string }>; summary?: { value?: string } | string; content?: { value?: string } | string; authors?: Array<{ name?: string }>; published?: string; updated?: string }> };
      const text = (v: { value?: string } | string | undefined) => (typeof v === 'string' ? v : v?.value);
      title = text(f.title);
      for (const e of f.entries ?? []) {
        const link = e.links?.find((l) => !l.rel || l.rel === 'alternate')?.href ?? e.links?.[0]?.href;
        raws.push({ id: e.id, link, title: text(e.title), summary: text(e.summary) ?? text(e.content), author: e.authors?.[0]?.name, date: e.published ?? e.updated });
      }
      break;
    }
    case 'json': {
      const f = parsed.feed as { title?: string; items?: Array<{ id?: string | number; url?: string; external_url?: string; title?: string; summary?: string; content_text?: string; content_html?: string; authors?: Array<{ name?: string }>; author?: { name?: string }; date_published?: string; date_modified?: string }> };
      title = f.title;
      for (const i of f.items ?? []) {
        raws.push({
          id: i.id === undefined ? undefined : String(i.id), link: i.url ?? i.external_url, title: i.title, summary: i.summary ?? i.content_text ?? i.content_html,
          author: i.authors?.[0]?.name ?? i.author?.name, date: i.date_published ?? i.date_modified,
        });
      }
      break;
    }
  }
  const items = raws.map((r) => item(r, url)).filter((i): i is FeedItem => i !== null);
  return { format: parsed.format, title: title ? cut(plainText(title), 200) || null : null, items };
}
