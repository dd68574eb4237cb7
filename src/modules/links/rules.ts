// What a workspace's link rules do to a URL, with no database: which URLs of a text AllIN shortens, the
// UTM parameters a destination gets (never replacing one the writer put there), and the codes of short
// links. The service (service.ts) stores what these decide.
import { randomInt } from 'node:crypto';
import { replaceUrls } from '../../providers/text.ts';
import type { CampaignMode } from './schema.ts';

export interface LinkRules {
  shorten: boolean;
  utmSources: Record<string, string>;
  utmMedium: string;
  campaignMode: CampaignMode;
  utmCampaign: string | null;
  utmContent: string | null;
}

export const DEFAULT_RULES: LinkRules = { shorten: false, utmSources: {}, utmMedium: 'social', campaignMode: 'label', utmCampaign: null, utmContent: null };

/** What a destination's UTM values are made from. */
export interface UtmContext {
  network: string;
  postId: string;
  /** The post's first label by name, when it has one. */
  label: string | null;
}

const BASE62 = '0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz';
/** 62^8 ≈ 2·10^14 codes: short, and far too many to walk for someone guessing. */
export const CODE_LENGTH = 8;
export const CODE_PATTERN = `^[0-9A-Za-z]{${CODE_LENGTH}}$`;

/** A new code, each character drawn uniformly by the crypto module (randomInt has no modulo bias). */
export function newCode(): string {
  let code = '';
  for (let i = 0; i < CODE_LENGTH; i++) code += BASE62[randomInt(62)];
  return code;
}

/** The short link of a code on AllIN's public address. */
export function shortUrl(publicUrl: string, code: string): string {
  return `${publicUrl.replace(/\/$/, '')}/l/${code}`;
}

/**
 * Whether AllIN shortens this URL: http(s) only, and not one of AllIN's own (a short link, a media
 * link): a link to AllIN gains nothing from going through AllIN again.
 */
export function shortenable(url: string, publicUrl: string): boolean {
  let u: URL;
  try {
    u = new URL(url);
  } catch {
    return false;
  }
  if (u.protocol !== 'http:' && u.protocol !== 'https:') return false;
  return u.host !== new URL(publicUrl).host;
}

/** The http(s) URLs of a text that AllIN would shorten, as written, each once. */
export function urlsToShorten(text: string, publicUrl: string): string[] {
  const found = new Set<string>();
  replaceUrls(text, (url) => {
    if (shortenable(url, publicUrl)) found.add(url);
    return null;
  });
  return [...found];
}

/** The text with each URL AllIN shortens replaced by `short(url)` (unchanged where that gives null). */
export function rewriteText(text: string, publicUrl: string, short: (url: string) => string | null): string {
  return replaceUrls(text, (url) => (shortenable(url, publicUrl) ? short(url) : null));
}

function fill(template: string, ctx: UtmContext): string {
  return template.replaceAll('{network}', ctx.network).replaceAll('{post}', ctx.postId);
}

/** The UTM parameters the rules give a link posted on `ctx.network` (those that are empty are left out). */
export function utmFor(rules: LinkRules, ctx: UtmContext): [string, string][] {
  const campaign = rules.campaignMode === 'none' ? null : rules.campaignMode === 'fixed' ? rules.utmCampaign : (ctx.label ?? rules.utmCampaign);
  const pairs: [string, string | null][] = [
    ['utm_source', rules.utmSources[ctx.network] ?? ctx.network],
    ['utm_medium', rules.utmMedium],
    ['utm_campaign', campaign],
    ['utm_content', rules.utmContent === null ? null : fill(rules.utmContent, ctx)],
  ];
  return pairs.filter((p): p is [string, string] => p[1] !== null && p[1] !== '');
}

/**
 * The URL with the UTM parameters added: its own query parameters kept in their order, and a UTM
 * parameter the writer already put in the URL never replaced (theirs wins, even when empty). The answer
 * is the URL's ASCII form (punycode host, percent-encoded path), as a Location header must be.
 */
export function withUtm(url: string, utm: [string, string][]): string {
  const u = new URL(url);
  const add = utm.filter(([k]) => !u.searchParams.has(k));
  if (add.length === 0) return u.href;
  // Appended as text, so the writer's own parameters keep their exact spelling (searchParams would re-encode them).
  const extra = new URLSearchParams(add).toString();
  u.search = u.search.length > 1 ? `${u.search}&${extra}` : `?${extra}`;
  return u.href;
}
