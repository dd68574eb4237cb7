// Engagement counts as the networks report them: a count the network did not give is left out, not 0.
import type { PostMetrics } from './types.ts';

type Counts = { likes?: unknown; reposts?: unknown; replies?: unknown; impressions?: unknown };

export function postMetrics(counts: Counts): PostMetrics {
  const out: PostMetrics = { collectedAt: new Date() };
  for (const key of ['likes', 'reposts', 'replies', 'impressions'] as const) {
    const v = counts[key];
    if (typeof v === 'number') out[key] = v;
  }
  return out;
}
