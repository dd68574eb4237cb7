// Tracked links of a workspace: its rules (shortening on or off, UTM parameters per network and
// campaign), the short links made when a post is published, and the clicks counted on them. A post's
// stored text keeps the URLs as written; the short links are put in at publish time, one per post,
// network and URL, so the same post counts its clicks per network (docs/LINKS.md).
import { createHash, randomUUID } from 'node:crypto';
import { and, eq, inArray, sql } from 'drizzle-orm';
import type { Db, DbOrTx } from '../../infra/db/client.ts';
import { keyset, type PageRequest } from '../../infra/db/keyset.ts';
import { TtlCache } from '../../infra/cache.ts';
import type { Metrics } from '../../infra/metrics.ts';
import type { InvalidationBus } from '../../infra/stores/invalidation.ts';
import { Invalid, NotFound } from '../../domain/errors.ts';
import { audit, type AuditEntry } from '../audit/index.ts';
import { linkClicks, links, linkSettings } from './schema.ts';
import { DEFAULT_RULES, newCode, rewriteText, shortenable, shortUrl, urlsToShorten, utmFor, withUtm, type LinkRules } from './rules.ts';

export interface LinkServiceDeps {
  db: Db;
  publicUrl: string;
  /** The post's first label by name (its campaign), or null; for utm_campaign. */
  campaignOf(workspaceId: string, postId: string): Promise<string | null>;
  metrics: Metrics;
  /** Tells every process (this one included) that a workspace's rules changed, so each drops its cached copy. */
  bus: InvalidationBus;
  now?: () => number;
}

/** How long a workspace's rules are kept in a process: the limit of staleness should an invalidation be lost. */
export const RULES_CACHE_MS = 60_000;
const RULES_TOPIC = 'link_rules';

type Actor = Pick<AuditEntry, 'actorUserId' | 'actorApiKeyId' | 'ip' | 'userAgent'>;

export interface Link {
  id: string;
  code: string;
  shortUrl: string;
  url: string;
  destination: string;
  network: string;
  postId: string | null;
  createdAt: string;
  clicks: number;
  botClicks: number;
}

/** What a target publishes, in the shape publishing reads it: its parts' texts, first comment and link option. */
export interface PublishTexts {
  parts: string[];
  firstComment?: string | undefined;
  options?: Record<string, unknown> | undefined;
}

export const MAX_UTM_VALUE = 200;
const CONTROL = /\p{Cc}/u;
const NETWORK_RE = /^[a-z0-9_-]{1,40}$/;

export const linkList = keyset('links', { createdAt: [links.createdAt, 'time'], id: [links.id, 'uuid'] }, 'desc');

const isUniqueViolation = (err: unknown) => (err as { code?: string }).code === '23505' || (err as { cause?: { code?: string } }).cause?.code === '23505';
const hashOf = (url: string) => createHash('sha256').update(url).digest();

function cleanValue(value: string | null | undefined, field: string): string | null {
  if (value === null || value === undefined) return null;
  const v = value.trim();
  if (v === '') return null;
  if (CONTROL.test(v)) throw new Invalid('VALIDATION_FAILED', `${field} must not contain control characters (line breaks, tabs…).`, [{ field, message: 'control characters' }]);
  if (v.length > MAX_UTM_VALUE) throw new Invalid('VALIDATION_FAILED', `${field} is at most ${MAX_UTM_VALUE} characters.`, [{ field, message: 'too long' }]);
  return v;
}

export class LinkService {
  /** By workspace: its rules, read once per process and TTL rather than once per target published. */
  private readonly rulesCache: TtlCache<LinkRules>;

  constructor(private readonly d: LinkServiceDeps) {
    this.rulesCache = new TtlCache<LinkRules>(RULES_TOPIC, RULES_CACHE_MS, d.metrics, d.now);
    d.bus.on(RULES_TOPIC, (workspaceId) => this.rulesCache.invalidate(workspaceId));
  }

  /** The rules, from this process's cache (dropped in every process when they change). */
  private async cachedRules(workspaceId: string): Promise<LinkRules> {
    return (await this.rulesCache.get(workspaceId, () => this.rules(workspaceId))).value;
  }

  async rules(workspaceId: string, db: DbOrTx = this.d.db): Promise<LinkRules> {
    const [row] = await db.select().from(linkSettings).where(eq(linkSettings.workspaceId, workspaceId));
    if (!row) return { ...DEFAULT_RULES, utmSources: {} };
    return { shorten: row.shorten, utmSources: row.utmSources, utmMedium: row.utmMedium, campaignMode: row.campaignMode, utmCampaign: row.utmCampaign, utmContent: row.utmContent };
  }

  /** Replaces the rules with these (fields left out keep their value). */
  async setRules(workspaceId: string, input: Partial<LinkRules>, actor: Actor): Promise<LinkRules> {
    const next = { ...(await this.rules(workspaceId)), ...Object.fromEntries(Object.entries(input).filter(([, v]) => v !== undefined)) } as LinkRules;
    const sources: Record<string, string> = {};
    for (const [network, value] of Object.entries(next.utmSources)) {
      if (!NETWORK_RE.test(network)) throw new Invalid('VALIDATION_FAILED', `body.utmSources: "${network}" is not a network id (like x, mastodon, linkedin).`, [{ field: 'body.utmSources', message: 'not a network id' }]);
      const v = cleanValue(value, `body.utmSources.${network}`);
      if (v !== null) sources[network] = v;
    }
    const medium = cleanValue(next.utmMedium, 'body.utmMedium') ?? DEFAULT_RULES.utmMedium;
    const campaign = cleanValue(next.utmCampaign, 'body.utmCampaign');
    if (next.campaignMode === 'fixed' && campaign === null) {
      throw new Invalid('VALIDATION_FAILED', 'body.utmCampaign: a fixed campaign needs its value; write one, or choose the campaign mode "label" or "none".', [{ field: 'body.utmCampaign', message: 'required when campaignMode is fixed' }]);
    }
    const content = cleanValue(next.utmContent, 'body.utmContent');
    const values = { shorten: next.shorten, utmSources: sources, utmMedium: medium, campaignMode: next.campaignMode, utmCampaign: campaign, utmContent: content };
    await this.d.db.transaction(async (tx) => {
      await tx.insert(linkSettings).values({ workspaceId, ...values })
        .onConflictDoUpdate({ target: linkSettings.workspaceId, set: { ...values, updatedAt: sql`now()` } });
      await audit(tx, { action: 'links.settings.update', workspaceId, ...actor, targetType: 'workspace', targetId: workspaceId, details: { ...values } });
    });
    // After the commit: a process that loads again must read the new row.
    await this.d.bus.publish(RULES_TOPIC, [workspaceId]);
    return values;
  }

  /**
   * How a text is counted for a network when the workspace shortens links: each URL AllIN would shorten
   * replaced by a short link of the length it will have. Null when shortening is off.
   */
  async countingText(workspaceId: string, db: DbOrTx = this.d.db): Promise<((text: string) => string) | null> {
    const rules = await this.rules(workspaceId, db);
    if (!rules.shorten) return null;
    const sample = shortUrl(this.d.publicUrl, 'x'.repeat(8));
    return (text) => rewriteText(text, this.d.publicUrl, () => sample);
  }

  /**
   * What a target of `postId` on `network` publishes: with shortening on, each URL in its texts (and its
   * link option) replaced by the short link of this post, network and URL, made on first use. The same
   * post, network and URL always get the same link, so a retry publishes the same text.
   */
  async forPublish(workspaceId: string, postId: string, network: string, texts: PublishTexts): Promise<PublishTexts> {
    const rules = await this.cachedRules(workspaceId);
    if (!rules.shorten) return texts;
    const optionUrl = typeof texts.options?.url === 'string' ? texts.options.url : undefined;
    const all = [...texts.parts, texts.firstComment ?? ''];
    const urls = new Set(all.flatMap((t) => urlsToShorten(t, this.d.publicUrl)));
    // The link field (Reddit, Lemmy) is one URL, taken whole.
    if (optionUrl !== undefined && shortenable(optionUrl, this.d.publicUrl)) urls.add(optionUrl);
    if (urls.size === 0) return texts;
    const codes = await this.ensure(workspaceId, postId, network, [...urls], rules);
    const short = (url: string) => {
      const code = codes.get(url);
      return code === undefined ? null : shortUrl(this.d.publicUrl, code);
    };
    return {
      parts: texts.parts.map((t) => rewriteText(t, this.d.publicUrl, short)),
      ...(texts.firstComment !== undefined ? { firstComment: rewriteText(texts.firstComment, this.d.publicUrl, short) } : {}),
      ...(texts.options !== undefined ? { options: optionUrl !== undefined && codes.has(optionUrl) ? { ...texts.options, url: short(optionUrl) } : texts.options } : {}),
    };
  }

  /** The codes of these URLs for the post and network, made where missing (a code that clashes is drawn again). */
  private async ensure(workspaceId: string, postId: string, network: string, urls: string[], rules: LinkRules): Promise<Map<string, string>> {
    const label = rules.campaignMode === 'label' ? await this.d.campaignOf(workspaceId, postId) : null;
    const utm = utmFor(rules, { network, postId, label });
    for (let tries = 0; ; tries++) {
      const rows = urls.map((url) => ({ id: randomUUID(), workspaceId, postId, network, code: newCode(), url, urlHash: hashOf(url), destination: withUtm(url, utm) }));
      try {
        await this.d.db.insert(links).values(rows).onConflictDoNothing({ target: [links.postId, links.network, links.urlHash] });
        break;
      } catch (err) {
        if (!isUniqueViolation(err) || tries >= 3) throw err;
      }
    }
    const found = await this.d.db.select({ url: links.url, code: links.code }).from(links)
      .where(and(eq(links.postId, postId), eq(links.network, network), inArray(links.urlHash, urls.map(hashOf))));
    return new Map(found.map((r) => [r.url, r.code]));
  }

  /** The workspace's links, newest first, with their clicks in all. */
  async list(workspaceId: string, page: PageRequest, postId?: string): Promise<{ items: Link[]; nextCursor: string | null }> {
    const after = linkList.startAfter(page);
    const rows = await this.d.db.select({
      row: links, ...linkList.fields,
      clicks: sql<string>`coalesce((select sum(c.clicks) from link_clicks c where c.link_id = ${links.id}), 0)`,
      botClicks: sql<string>`coalesce((select sum(c.bot_clicks) from link_clicks c where c.link_id = ${links.id}), 0)`,
    }).from(links)
      .where(and(eq(links.workspaceId, workspaceId), postId ? eq(links.postId, postId) : undefined, after))
      .orderBy(...linkList.orderBy).limit(page.limit + 1);
    const { items, nextCursor } = linkList.page(rows, page.limit);
    return { items: items.map((r) => this.present(r.row, Number(r.clicks), Number(r.botClicks))), nextCursor };
  }

  /** One link's clicks per UTC day in the range (days without clicks included, as 0). */
  async clicksOf(workspaceId: string, linkId: string, days: string[]): Promise<{ link: Link; days: { date: string; clicks: number; botClicks: number }[] }> {
    const [row] = await this.d.db.select().from(links).where(and(eq(links.id, linkId), eq(links.workspaceId, workspaceId)));
    if (!row) throw new NotFound('NOT_FOUND', 'No such link in this workspace.');
    const counted = await this.d.db.select({ day: linkClicks.day, clicks: linkClicks.clicks, botClicks: linkClicks.botClicks }).from(linkClicks)
      .where(and(eq(linkClicks.linkId, linkId), sql`${linkClicks.day} between ${days[0]} and ${days.at(-1)}`));
    const byDay = new Map(counted.map((c) => [c.day, c]));
    const [total] = await this.d.db.select({ clicks: sql<string>`coalesce(sum(clicks), 0)`, botClicks: sql<string>`coalesce(sum(bot_clicks), 0)` }).from(linkClicks).where(eq(linkClicks.linkId, linkId));
    return {
      link: this.present(row, Number(total!.clicks), Number(total!.botClicks)),
      days: days.map((date) => ({ date, clicks: Number(byDay.get(date)?.clicks ?? 0), botClicks: Number(byDay.get(date)?.botClicks ?? 0) })),
    };
  }

  /** The workspace's clicks in a range of UTC days: in all, per network, per day. */
  async overview(workspaceId: string, days: string[]): Promise<{
    totals: { clicks: number; botClicks: number };
    networks: { network: string; clicks: number; botClicks: number }[];
    days: { date: string; clicks: number; botClicks: number }[];
  }> {
    const r = await this.d.db.execute<{ day: string; network: string; clicks: string; bot_clicks: string }>(sql`
      select day::text as day, network, sum(clicks) as clicks, sum(bot_clicks) as bot_clicks from link_clicks
       where workspace_id = ${workspaceId} and day between ${days[0]}::date and ${days.at(-1)}::date
       group by day, network`);
    const networks = new Map<string, { network: string; clicks: number; botClicks: number }>();
    const perDay = new Map<string, { clicks: number; botClicks: number }>();
    const totals = { clicks: 0, botClicks: 0 };
    for (const row of r.rows) {
      const clicks = Number(row.clicks);
      const bots = Number(row.bot_clicks);
      const n = networks.get(row.network) ?? { network: row.network, clicks: 0, botClicks: 0 };
      n.clicks += clicks;
      n.botClicks += bots;
      networks.set(row.network, n);
      const d = perDay.get(row.day) ?? { clicks: 0, botClicks: 0 };
      d.clicks += clicks;
      d.botClicks += bots;
      perDay.set(row.day, d);
      totals.clicks += clicks;
      totals.botClicks += bots;
    }
    return {
      totals,
      networks: [...networks.values()].sort((a, b) => b.clicks - a.clicks || a.network.localeCompare(b.network)),
      days: days.map((date) => ({ date, clicks: perDay.get(date)?.clicks ?? 0, botClicks: perDay.get(date)?.botClicks ?? 0 })),
    };
  }

  private present(r: typeof links.$inferSelect, clicks: number, botClicks: number): Link {
    return {
      id: r.id, code: r.code, shortUrl: shortUrl(this.d.publicUrl, r.code), url: r.url, destination: r.destination, network: r.network,
      postId: r.postId, createdAt: r.createdAt.toISOString(), clicks, botClicks,
    };
  }
}
