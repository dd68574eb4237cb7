// Mastodon's paging: list answers such as an account's statuses
// (https://docs.joinmastodon.org/methods/accounts/#statuses) carry an RFC 8288 Link header whose rel="next"
// URL is the next page.

/** The rel="next" URL of an RFC 8288 Link header, or null on the last page. */
export function nextLink(link: string | undefined): string | null {
  if (!link) return null;
  for (const part of link.split(',')) {
    const m = /<([^>]+)>\s*;\s*rel="?([^";]+)"?/.exec(part.trim());
    if (m && m[2]!.split(/\s+/).includes('next')) return m[1]!;
  }
  return null;
}
