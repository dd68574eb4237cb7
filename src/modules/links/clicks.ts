// Clicks on short links, counted in memory and written in batches: a redirect adds one to a counter
// and answers; every FLUSH_MS (and when the process stops) the counters go to link_clicks in one
// upsert. A click is a link id, a UTC day and whether a bot made it: nothing of the person (no
// address, no user agent, no hash of them) is kept, here or in the database. A process killed without
// a shutdown loses at most its last FLUSH_MS of clicks (docs/LINKS.md).
import { sql } from 'drizzle-orm';
import type { Db } from '../../infra/db/client.ts';
import type { Logger } from '../../infra/logger.ts';

export const FLUSH_MS = 2_000;
/** Distinct (link, day) counters held at most between flushes; past it a flush starts at once. */
const MAX_PENDING = 10_000;

interface Pending { linkId: string; day: string; clicks: number; bots: number }

export class ClickCounter {
  private pending = new Map<string, Pending>();
  private timer: NodeJS.Timeout | undefined;
  private flushing: Promise<void> | undefined;

  constructor(private readonly d: { db: Db; log: Logger; now?: () => number; flushMs?: number }) {}

  /** Counts one click; never waits for the database. */
  count(linkId: string, bot: boolean): void {
    const day = new Date((this.d.now ?? Date.now)()).toISOString().slice(0, 10);
    const key = `${linkId}/${day}`;
    let p = this.pending.get(key);
    if (!p) {
      p = { linkId, day, clicks: 0, bots: 0 };
      this.pending.set(key, p);
    }
    if (bot) p.bots++;
    else p.clicks++;
    if (this.pending.size >= MAX_PENDING) void this.flush();
    else if (!this.timer) {
      this.timer = setTimeout(() => void this.flush(), this.d.flushMs ?? FLUSH_MS);
      this.timer.unref();
    }
  }

  /** Writes the counters held so far (one statement); a failed write keeps them for the next flush. */
  async flush(): Promise<void> {
    if (this.flushing) await this.flushing;
    clearTimeout(this.timer);
    this.timer = undefined;
    if (this.pending.size === 0) return;
    const batch = [...this.pending.values()];
    this.pending = new Map();
    this.flushing = this.write(batch).catch((err: unknown) => {
      this.d.log.warn({ err, counters: batch.length }, 'could not write link clicks; kept for the next flush');
      for (const b of batch) {
        const key = `${b.linkId}/${b.day}`;
        const p = this.pending.get(key);
        if (p) {
          p.clicks += b.clicks;
          p.bots += b.bots;
        } else this.pending.set(key, b);
      }
      if (!this.timer) {
        this.timer = setTimeout(() => void this.flush(), this.d.flushMs ?? FLUSH_MS);
        this.timer.unref();
      }
    }).finally(() => {
      this.flushing = undefined;
    });
    await this.flushing;
  }

  /** At shutdown: the last counters written. */
  async close(): Promise<void> {
    await this.flush();
    clearTimeout(this.timer);
    this.timer = undefined;
  }

  private async write(batch: Pending[]): Promise<void> {
    // A link deleted since (its workspace deleted) is skipped by the join, not an error.
    await this.d.db.execute(sql`
      insert into link_clicks (link_id, day, workspace_id, network, clicks, bot_clicks)
      select l.id, v.day, l.workspace_id, l.network, v.clicks, v.bots
        from unnest(${sql.param(batch.map((b) => b.linkId))}::uuid[], ${sql.param(batch.map((b) => b.day))}::date[],
                    ${sql.param(batch.map((b) => b.clicks))}::bigint[], ${sql.param(batch.map((b) => b.bots))}::bigint[]) as v(link_id, day, clicks, bots)
        join links l on l.id = v.link_id
      on conflict (link_id, day) do update
        set clicks = link_clicks.clicks + excluded.clicks, bot_clicks = link_clicks.bot_clicks + excluded.bot_clicks`);
  }
}
