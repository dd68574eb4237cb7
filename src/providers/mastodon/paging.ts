// Mastodon's paging: list answers such as an account's statuses
// (https://docs.joinmastodon.org/methods/accounts/#statuses) and notifications
// (https://docs.joinmastodon.org/methods/notifications/) carry an RFC 8288 Link header whose rel="next" URL is
// the next (older) page and whose rel="prev" URL the newer results.

/** The URL of a relation (`next`, `prev`) in an RFC 8288 Link header, or null. */
export function linkOf(link: string | undefined, rel: string): string | null {
  if (!link) return null;
  for (const part of link.split(',')) {
    const m = /<([^>]+)>\s*;\s*rel="?([^";]+)"?/.exec(part.trim());
    if (m && m[2]!.split(/\s+/).includes(rel)) return m[1]!;
  }
  return null;
}

/** The rel="next" URL of an RFC 8288 Link header, or null on the last page. */
export const nextLink = (link: string | undefined): string | null => linkOf(link, 'next');
