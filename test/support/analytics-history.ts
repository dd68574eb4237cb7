// A history of published posts and their collected figures, written to the product's own tables (posts,
// post_targets published with a remote id, post_metrics at the collection schedule's ages), so the database
// triggers keep post_performance and the rollups exactly as for collected figures. The collector cannot
// write the past: the network answers today's figures, at the time it is asked.
import { randomUUID } from 'node:crypto';
import { sql } from 'drizzle-orm';
import type { Db } from '../../src/infra/db/client.ts';
import { DEFAULT_METRICS_SCHEDULE_MS } from '../../src/modules/analytics/service.ts';

const HOUR = 3_600_000;
/** The collection schedule's ages in hours: a post older than one has its figures at it, so none is due. */
const AGES = DEFAULT_METRICS_SCHEDULE_MS.map((ms) => ms / HOUR);
/** How much of its final figures a post has at each age. */
const GROWTH = [0.3, 0.55, 0.8, 0.92, 0.97, 1];

export interface SeededPost { postId: string; targetId: string; publishedAt: Date; likes: number; reposts: number; replies: number; impressions: number }

/**
 * `days` days of posts on an account, `hours.length` a day (at those UTC hours), each with its figures at every
 * schedule age it has reached; the evening hour does better, so best times have something to show.
 */
export async function seedPublishedHistory(db: Db, o: { workspaceId: string; accountId: string; provider: string; days: number; hours?: number[]; now?: Date }): Promise<SeededPost[]> {
  const now = o.now ?? new Date();
  const hours = o.hours ?? [7, 11, 16];
  const midnight = Date.UTC(now.getUTCFullYear(), now.getUTCMonth(), now.getUTCDate());
  const made: SeededPost[] = [];
  let i = 0;
  for (let d = 1; d <= o.days; d++) {
    for (const h of hours) {
      const likes = 5 + ((i * 7) % 11) + (h === hours.at(-1) ? 12 : 0);
      made.push({
        postId: randomUUID(), targetId: randomUUID(), publishedAt: new Date(midnight - d * 24 * HOUR + h * HOUR),
        likes, reposts: Math.round(likes / 4), replies: Math.round(likes / 5), impressions: likes * 40,
      });
      i++;
    }
  }
  await db.execute(sql`insert into posts (id, workspace_id, text) values ${sql.join(made.map((p, n) => sql`(${p.postId}, ${o.workspaceId}, ${`History post ${n + 1}`})`), sql`, `)}`);
  await db.execute(sql`insert into post_targets (id, post_id, workspace_id, account_id, provider, state, published_at, remote_id)
    values ${sql.join(made.map((p) => sql`(${p.targetId}, ${p.postId}, ${o.workspaceId}, ${o.accountId}, ${o.provider}, 'published', ${p.publishedAt}, ${`history-${p.targetId}`})`), sql`, `)}`);
  const rows = made.flatMap((p) => AGES.map((age, k) => ({ p, at: new Date(p.publishedAt.getTime() + age * HOUR), g: GROWTH[k]! }))
    .filter((r) => r.at <= now)
    .map(({ p, at, g }) => sql`(${p.targetId}, ${o.accountId}, ${Math.round(p.likes * g)}, ${Math.round(p.reposts * g)}, ${Math.round(p.replies * g)}, ${Math.round(p.impressions * g)}, ${at})`));
  await db.execute(sql`insert into post_metrics (target_id, account_id, likes, reposts, replies, impressions, collected_at) values ${sql.join(rows, sql`, `)}`);
  // What the post table reports is the latest collection's figures: those grown to the post's age.
  return made.map((p) => {
    const k = AGES.filter((a) => p.publishedAt.getTime() + a * HOUR <= now.getTime()).length - 1;
    const g = k >= 0 ? GROWTH[k]! : 0;
    return { ...p, likes: Math.round(p.likes * g), reposts: Math.round(p.reposts * g), replies: Math.round(p.replies * g), impressions: Math.round(p.impressions * g) };
  });
}
