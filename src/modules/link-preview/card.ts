// What a page says about itself for a link card: its Open Graph tags (https://ogp.me), else its Twitter
// card tags, else its <title> and meta description. Only the <head> is read: the parser stops at <body>.
import { Parser } from 'htmlparser2';

export interface PageCard {
  title: string;
  description: string;
  /** An absolute http(s) URL of the page's image, when it names one. */
  image?: string;
}

const TITLE_MAX = 300;
const DESCRIPTION_MAX = 1000;

/** Whitespace folded and cut at a code-point boundary, with an ellipsis when cut. */
function tidy(s: string | undefined, max: number): string {
  const folded = (s ?? '').replace(/\s+/g, ' ').trim();
  const chars = [...folded];
  return chars.length <= max ? folded : `${chars.slice(0, max - 1).join('').trimEnd()}…`;
}

function absoluteHttp(raw: string | undefined, base: string): string | undefined {
  if (!raw) return undefined;
  try {
    const u = new URL(raw.trim(), base);
    return u.protocol === 'https:' || u.protocol === 'http:' ? u.toString() : undefined;
  } catch {
    return undefined;
  }
}

/** The card of an HTML page at `pageUrl` (relative image URLs resolve against it); null when it says nothing. */
export function parseCard(html: string, pageUrl: string): PageCard | null {
  const meta = new Map<string, string>();
  let title = '';
  let inTitle = false;
  let base = pageUrl;
  const parser = new Parser({
    onopentag(name, attrs) {
      if (name === 'body') {
        parser.pause();
        return;
      }
      if (name === 'title') inTitle = true;
      if (name === 'base' && attrs.href) base = absoluteHttp(attrs.href, pageUrl) ?? base;
      if (name !== 'meta' || attrs.content === undefined) return;
      // og:* uses property=, twitter:* and description use name= (sites mix them up, so both are read).
      const key = (attrs.property ?? attrs.name ?? '').trim().toLowerCase();
      if (key && !meta.has(key)) meta.set(key, attrs.content);
    },
    ontext(text) {
      if (inTitle) title += text;
    },
    onclosetag(name) {
      if (name === 'title') inTitle = false;
      if (name === 'head') parser.pause();
    },
  }, { decodeEntities: true, lowerCaseTags: true, lowerCaseAttributeNames: true });
  parser.write(html);
  parser.end();
  const pick = (...keys: string[]) => keys.map((k) => meta.get(k)?.trim()).find((v) => v);
  const card: PageCard = {
    title: tidy(pick('og:title', 'twitter:title') ?? title, TITLE_MAX),
    description: tidy(pick('og:description', 'twitter:description', 'description'), DESCRIPTION_MAX),
  };
  const image = absoluteHttp(pick('og:image:secure_url', 'og:image', 'og:image:url', 'twitter:image', 'twitter:image:src'), base);
  if (image) card.image = image;
  return card.title || card.description ? card : null;
}
