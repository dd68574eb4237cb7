// How each network counts the length of a post, so the composer (and the adapters) count as the
// network's server does. Sources (docs/NETWORKS.md, How text is counted): twitter-text config v3 /
// parseTweet (https://github.com/twitter/twitter-text), Mastodon's StatusLengthValidator
// (https://github.com/mastodon/mastodon), and the app.bsky.feed.post lexicon with the atproto validator
// (https://github.com/bluesky-social/atproto).
//   twitter    X: twitter-text `parseTweet` weighted length (URLs 23, emoji and CJK 2).
//   graphemes  Bluesky: extended grapheme clusters (Intl.Segmenter, as @atproto/lex-data does).
//   mastodon   graphemes of the text after http(s) URLs become 23 characters and `@user@domain`
//              becomes `@user` (the content warning counts too: see mastodonLength).
//   unicode    Unicode code points.
//   utf16      UTF-16 code units (JavaScript's String#length), the safe over-count for networks
//              whose unit is not documented.
import twitter from 'twitter-text';
import type { TextCounting } from './types.ts';

const segmenter = new Intl.Segmenter(undefined, { granularity: 'grapheme' });

/** Extended grapheme clusters; which emoji sequences join depends on Node's ICU, as on the networks' servers. */
export function graphemeLength(text: string): number {
  let n = 0;
  for (const _ of segmenter.segment(text)) n++;
  return n;
}

export function codePointLength(text: string): number {
  let n = 0;
  for (const _ of text) n++;
  return n;
}

/**
 * Bytes of `text` in UTF-8, as Buffer.byteLength counts them (a lone surrogate is written as U+FFFD,
 * 3 bytes). Plain JavaScript, so the web app's composer (a browser has no Buffer) counts the same.
 */
export function utf8Length(text: string): number {
  let n = 0;
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i);
    if (c < 0x80) n += 1;
    else if (c < 0x800) n += 2;
    else if (c >= 0xd800 && c <= 0xdbff && i + 1 < text.length && (text.charCodeAt(i + 1) & 0xfc00) === 0xdc00) {
      n += 4;
      i++;
    } else n += 3;
  }
  return n;
}

/** X's weighted length (what must stay ≤ 280 for a standard account). */
export function twitterLength(text: string): number {
  return twitter.parseTweet(text).weightedLength;
}

/** Mastodon's default `configuration.statuses.characters_reserved_per_url`. */
export const MASTODON_URL_LENGTH = 23;

// Mastodon's Account::MENTION_RE: `@user` or `@user@domain`, not preceded by a word character, `=`
// or `/` (so e-mail addresses and URL paths are not mentions). The Ruby original uses
// [[:word:]]; \p{L}\p{N}_ plus marks is its Unicode equivalent.
const MENTION_RE = /(?<![=/\p{L}\p{M}\p{N}_])@([a-z0-9_]+(?:[a-z0-9_.-]+[a-z0-9_])?)(?:@[\p{L}\p{M}\p{N}_]+(?:[.-]+[\p{L}\p{M}\p{N}_]+)*)?/giu;

interface Entity { start: number; end: number; replacement: string }

/**
 * The string Mastodon measures: URLs with a scheme (bare domains count as typed) replaced by
 * `reservedPerUrl` characters, mentions reduced to `@user`. Overlapping entities keep the first, as
 * Mastodon's Extractor.remove_overlapping_entities does. URL boundaries come from twitter-text's
 * extractor, the closest JavaScript port of the Ruby one Mastodon uses; rare edge cases may differ.
 */
export function mastodonCountableText(text: string, reservedPerUrl = MASTODON_URL_LENGTH): string {
  const entities: Entity[] = [];
  for (const u of twitter.extractUrlsWithIndices(text, { extractUrlsWithoutProtocol: false })) {
    entities.push({ start: u.indices[0], end: u.indices[1], replacement: 'x'.repeat(reservedPerUrl) });
  }
  for (const m of text.matchAll(MENTION_RE)) {
    entities.push({ start: m.index, end: m.index + m[0].length, replacement: `@${m[1]}` });
  }
  entities.sort((a, b) => a.start - b.start);
  let out = '';
  let at = 0;
  for (const e of entities) {
    if (e.start < at) continue; // overlaps an earlier entity
    out += text.slice(at, e.start) + e.replacement;
    at = e.end;
  }
  return out + text.slice(at);
}

/** Mastodon's status length: the content warning plus the countable text, in grapheme clusters. */
export function mastodonLength(status: string, spoilerText = '', reservedPerUrl = MASTODON_URL_LENGTH): number {
  return graphemeLength(spoilerText) + graphemeLength(mastodonCountableText(status, reservedPerUrl));
}

/** The length of `text` under a network's counting rule. */
export function countText(rule: TextCounting, text: string): number {
  switch (rule) {
    case 'twitter': return twitterLength(text);
    case 'graphemes': return graphemeLength(text);
    case 'mastodon': return mastodonLength(text);
    case 'unicode': return codePointLength(text);
    case 'utf16': return text.length;
  }
}

/** Bluesky's two limits on `app.bsky.feed.post` text (lexicon maxGraphemes and maxLength in UTF-8 bytes). */
export const BLUESKY_MAX_GRAPHEMES = 300;
export const BLUESKY_MAX_BYTES = 3000;

/** Why a Bluesky post text would be refused by the PDS, or null when it fits. */
export function blueskyTextProblem(text: string): string | null {
  const graphemes = graphemeLength(text);
  if (graphemes > BLUESKY_MAX_GRAPHEMES) return `the text is ${graphemes} graphemes long; Bluesky allows ${BLUESKY_MAX_GRAPHEMES}`;
  const bytes = utf8Length(text);
  if (bytes > BLUESKY_MAX_BYTES) return `the text is ${bytes} UTF-8 bytes long; Bluesky allows ${BLUESKY_MAX_BYTES}`;
  return null;
}

/**
 * The text with each http(s) URL (as X and Mastodon find them: twitter-text's extractor, scheme
 * required) replaced by what `replace` returns for it; null keeps the URL as written.
 */
export function replaceUrls(text: string, replace: (url: string) => string | null): string {
  let out = '';
  let at = 0;
  for (const u of twitter.extractUrlsWithIndices(text, { extractUrlsWithoutProtocol: false })) {
    const [start, end] = u.indices;
    const url = text.slice(start, end);
    const next = replace(url);
    if (next === null) continue;
    out += text.slice(at, start) + next;
    at = end;
  }
  return out + text.slice(at);
}
