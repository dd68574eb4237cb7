// Rich text facets (https://docs.bsky.app/docs/advanced-guides/post-richtext): links, mentions and
// hashtags found in a post's text, as UTF-8 byte ranges (start inclusive, end exclusive, no overlaps).
import twitter from 'twitter-text';
import { graphemeLength, utf8Length } from '../text.ts';

export type FacetFeature =
  | { $type: 'app.bsky.richtext.facet#link'; uri: string }
  | { $type: 'app.bsky.richtext.facet#mention'; did: string }
  | { $type: 'app.bsky.richtext.facet#tag'; tag: string };
export interface Facet { index: { byteStart: number; byteEnd: number }; features: FacetFeature[] }

/** What detectFacets finds; mentions still carry the handle, to be resolved to a DID. */
export interface DetectedFacet {
  byteStart: number;
  byteEnd: number;
  kind: 'link' | 'mention' | 'tag';
  /** The URL (scheme added to bare domains), the handle (no @), or the tag (no #). */
  value: string;
}

/** atproto handle syntax (atproto.com/specs/handle): DNS labels, at least two, the last starting with a letter. */
const HANDLE_RE = /^(?:[a-zA-Z0-9](?:[a-zA-Z0-9-]{0,61}[a-zA-Z0-9])?\.)+[a-zA-Z](?:[a-zA-Z0-9-]{0,61}[a-zA-Z0-9])?$/;
export const isHandle = (s: string) => s.length <= 253 && HANDLE_RE.test(s);

// Characters that end a hashtag besides whitespace: soft hyphen, word joiner, hair/zero-width spaces,
// ZWNJ, ZWJ, combining enclosing keycap (as Bluesky's own detection treats them).
const TAG_STOP = new Set([0x00ad, 0x2060, 0x200a, 0x200b, 0x200c, 0x200d, 0x20e2]);
const endsTag = (ch: string) => TAG_STOP.has(ch.codePointAt(0)!) || /\s/u.test(ch);

/**
 * Finds links, mentions and hashtags the way Bluesky's app does (docs.bsky.app/docs/advanced-guides/post-richtext): links with http(s)
 * anywhere after whitespace or "(", bare domains with a known TLD (twitter-text's list) turned into
 * https URLs, trailing punctuation left out; mentions "@handle"; hashtags "#tag" (or the full-width
 * "＃") after whitespace, not only digits and punctuation, at most 64 graphemes.
 */
export function detectFacets(text: string): DetectedFacet[] {
  const found: { start: number; end: number; kind: DetectedFacet['kind']; value: string }[] = [];

  for (const m of text.matchAll(/(^|[\s(])(https?:\/\/\S+)/giu)) {
    const start = m.index + m[1]!.length;
    let uri = m[2]!;
    // Trailing sentence punctuation and an unbalanced closing parenthesis are not part of the link.
    for (;;) {
      if (/[.,;:!?"'»”’]$/u.test(uri)) uri = uri.slice(0, -1);
      else if (uri.endsWith(')') && (uri.match(/\(/g)?.length ?? 0) < (uri.match(/\)/g)?.length ?? 0)) uri = uri.slice(0, -1);
      else break;
    }
    if (!URL.canParse(uri)) continue;
    found.push({ start, end: start + uri.length, kind: 'link', value: uri });
  }
  for (const u of twitter.extractUrlsWithIndices(text)) {
    if (/^[a-z][a-z0-9+.-]*:/i.test(u.url)) continue; // with a scheme: handled above
    const before = u.indices[0] > 0 ? text[u.indices[0] - 1]! : ' ';
    if (!/[\s(]/u.test(before)) continue;
    found.push({ start: u.indices[0], end: u.indices[1], kind: 'link', value: `https://${u.url}` });
  }
  for (const m of text.matchAll(/(^|[\s(])@([a-zA-Z0-9.-]+)/gu)) {
    const handle = m[2]!.replace(/[.-]+$/, '');
    if (!isHandle(handle)) continue;
    const start = m.index + m[1]!.length;
    found.push({ start, end: start + 1 + handle.length, kind: 'mention', value: handle });
  }
  for (const m of text.matchAll(/(^|\s)[#＃]/gu)) {
    const start = m.index + m[1]!.length;
    let end = start + 1;
    while (end < text.length) {
      const ch = String.fromCodePoint(text.codePointAt(end)!);
      if (endsTag(ch)) break;
      end += ch.length;
    }
    const tag = text.slice(start + 1, end).replace(/\p{P}+$/u, '');
    if (!tag || tag.startsWith('\uFE0F') || /^[\d\p{P}]+$/u.test(tag)) continue;
    if (graphemeLength(tag) > 64 || utf8Length(tag) > 640) continue;
    found.push({ start, end: start + 1 + tag.length, kind: 'tag', value: tag });
  }

  // Facets must not overlap: keep the earliest (a link before a mention or tag starting at the same place).
  const order = { link: 0, mention: 1, tag: 2 };
  found.sort((a, b) => a.start - b.start || order[a.kind] - order[b.kind]);
  const out: DetectedFacet[] = [];
  let until = 0;
  for (const f of found) {
    if (f.start < until) continue;
    out.push({ byteStart: utf8Length(text.slice(0, f.start)), byteEnd: utf8Length(text.slice(0, f.end)), kind: f.kind, value: f.value });
    until = f.end;
  }
  return out;
}

/** The facets of a post: detectFacets's, each mentioned handle resolved once to its DID; an unresolvable handle stays plain text. */
export async function resolveFacets(text: string, resolveHandle: (handle: string) => Promise<string | null>): Promise<Facet[]> {
  const dids = new Map<string, string | null>();
  const facets: Facet[] = [];
  for (const f of detectFacets(text)) {
    const index = { byteStart: f.byteStart, byteEnd: f.byteEnd };
    if (f.kind === 'link') facets.push({ index, features: [{ $type: 'app.bsky.richtext.facet#link', uri: f.value }] });
    else if (f.kind === 'tag') facets.push({ index, features: [{ $type: 'app.bsky.richtext.facet#tag', tag: f.value }] });
    else {
      const key = f.value.toLowerCase();
      if (!dids.has(key)) dids.set(key, await resolveHandle(key));
      const did = dids.get(key);
      if (did) facets.push({ index, features: [{ $type: 'app.bsky.richtext.facet#mention', did }] });
    }
  }
  return facets;
}
