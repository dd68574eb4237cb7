// The text of a post made from a feed item: the feed's template with {title}, {url}, {summary}, {author} and
// {feed} replaced. Unknown names are refused when the template is saved, so a typo never reaches a network.
import { Invalid } from '../../domain/errors.ts';
import type { FeedItem } from './parse.ts';

export const TEMPLATE_VARIABLES = ['title', 'url', 'summary', 'author', 'feed'] as const;
export const DEFAULT_TEMPLATE = '{title}\n\n{url}';
export const TEMPLATE_MAX = 2000;
const VARIABLE = /\{([a-zA-Z_]+)\}/g;

/** The template as saved, or a 400 naming what is wrong with it. */
export function checkTemplate(template: string, field = 'body.template'): string {
  const unknown = [...template.matchAll(VARIABLE)].map((m) => m[1]!).filter((n) => !(TEMPLATE_VARIABLES as readonly string[]).includes(n));
  if (unknown.length > 0) {
    throw new Invalid('VALIDATION_FAILED', `${field}: {${unknown[0]}} is not a variable; use ${TEMPLATE_VARIABLES.map((v) => `{${v}}`).join(', ')}.`, [{ field, message: `unknown variable {${unknown[0]}}` }]);
  }
  if (template.trim() === '') throw new Invalid('VALIDATION_FAILED', `${field} must not be blank.`, [{ field, message: 'blank' }]);
  return template;
}

/** The post's text: variables replaced, empty lines an absent value left behind closed up. */
export function render(template: string, item: FeedItem, feedTitle: string | null): string {
  const values: Record<string, string> = { title: item.title, url: item.link ?? '', summary: item.summary, author: item.author ?? '', feed: feedTitle ?? '' };
  return template.replace(VARIABLE, (whole, name: string) => values[name] ?? whole)
    .split('\n').map((l) => l.trimEnd()).join('\n')
    .replace(/\n{3,}/g, '\n\n').trim();
}
