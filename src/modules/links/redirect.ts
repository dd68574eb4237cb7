// `/l/{code}`: the stored destination of a short link, read through the one cache (a link's destination
// never changes once made), and the click counted in memory (clicks.ts) so the answer waits for
// nothing else. Bots are told apart by their user agent with `isbot`, whose list of crawlers and
// link-preview fetchers (Twitterbot, facebookexternalhit, Slackbot, LinkedInBot…) is kept up to date
// by its maintainers; a request with no user agent at all is counted as a bot.
import { eq } from 'drizzle-orm';
import { isbot } from 'isbot';
import type { Db } from '../../infra/db/client.ts';
import { TtlCache } from '../../infra/cache.ts';
import type { Metrics } from '../../infra/metrics.ts';
import { links } from './schema.ts';
import type { ClickCounter } from './clicks.ts';

/** How long a code's answer (its destination, or that there is none) is kept in this process. */
export const REDIRECT_CACHE_MS = 60_000;

type Resolved = { id: string; destination: string } | { id: null };

export class LinkRedirects {
  private readonly cache: TtlCache<Resolved>;

  constructor(private readonly d: { db: Db; metrics: Metrics; clicks: ClickCounter; now?: () => number }) {
    this.cache = new TtlCache<Resolved>('short_links', REDIRECT_CACHE_MS, d.metrics, d.now);
  }

  /** The destination of a code, with the click counted (when `count`); null for a code that is no link. */
  async follow(code: string, userAgent: string | undefined, count = true): Promise<string | null> {
    const { value } = await this.cache.get(code, async () => {
      const [row] = await this.d.db.select({ id: links.id, destination: links.destination }).from(links).where(eq(links.code, code));
      return row ?? { id: null };
    });
    if (value.id === null) return null;
    if (count) this.d.clicks.count(value.id, !userAgent || isbot(userAgent));
    return value.destination;
  }
}
