// Recognising a Meta post after an unknown outcome. Meta posts carry no idempotency key and no field for a
// marker, so the adapter writes down what it sends (the send journal) and later looks for it by its text,
// and, for containers and Reels, by the container's status. Also the readers of what those lookups return:
// Graph timestamps, text as the network gives it back, insights values, permalinks. Documentation:
//   https://developers.facebook.com/docs/threads/troubleshooting   (container status after a lost publish)
//   https://developers.facebook.com/docs/instagram-platform/content-publishing (container status_code PUBLISHED)
import { ProviderError } from '../types.ts';
import { MemorySendJournal, sendKey, type SendJournal } from '../send-journal.ts';
import { journalCall } from '../sent-posts.ts';
import type { GraphApi } from './call.ts';

/** Graph timestamps look like 2026-11-26T10:00:00+0000. */
export function parseGraphTime(s: unknown): number {
  if (typeof s !== 'string') return NaN;
  return Date.parse(s.replace(/([+-]\d\d)(\d\d)$/, '$1:$2'));
}

/** Compares a post's text as the network may give it back (line endings, outer spaces). */
export function sameText(a: unknown, b: string): boolean {
  const norm = (s: string) => s.replace(/\r\n?/g, '\n').trim();
  return norm(typeof a === 'string' ? a : '') === norm(b);
}

export interface Attempt {
  text: string;
  /** When the marker was first sent (a retried marker keeps it). */
  startedAt: Date;
  /** The post this one answers (a comment or a reply). */
  replyTo?: string;
  /** Instagram and Threads: the container handed to media_publish / threads_publish. */
  containerId?: string;
  /** Every container handed to media_publish under this marker (a retry makes a new one; any may go live). */
  containerIds?: string[];
  /** Instagram: published as a Story (no caption; listed under /stories, not /media). */
  story?: boolean;
}

/** An attempt as the send journal holds it (JSON: the start time is the journal's first send time). */
type StoredAttempt = Omit<Attempt, 'startedAt'>;

/**
 * What each marker sent, per account, in the send journal (send-journal.ts): kept in PostgreSQL and
 * shared by every worker in the app, so a marker sent by a process that has since died is reconciled by
 * the next one. A marker with no record at all cannot be reconciled (findByMarker says so rather than guessing).
 */
export class PublishAttempts {
  constructor(private readonly provider: string, private readonly journal: SendJournal = new MemorySendJournal()) {}

  /** Records what is about to be sent (again, once the container is known); the first send time is kept. */
  async record(account: string, marker: string, a: StoredAttempt): Promise<Attempt> {
    // A retry under the same marker makes a new container; the earlier ones are kept, since a
    // media_publish whose answer was lost may still have published one of them.
    const earlier = a.containerId ? containersOf(await this.get(account, marker)) : [];
    const containerIds = a.containerId ? [...new Set([...earlier, a.containerId])] : undefined;
    const value: StoredAttempt = {
      text: a.text, ...(a.replyTo ? { replyTo: a.replyTo } : {}), ...(a.containerId ? { containerId: a.containerId, containerIds } : {}), ...(a.story ? { story: true } : {}),
    };
    const r = await journalCall(this.provider, 'write', () => this.journal.put(this.provider, sendKey(account, marker), value));
    return { ...r.value, startedAt: new Date(r.firstSentAt) };
  }

  async get(account: string, marker: string): Promise<Attempt | undefined> {
    const r = await journalCall(this.provider, 'read', () => this.journal.get<StoredAttempt>(this.provider, sendKey(account, marker)));
    return r ? { ...r.value, startedAt: new Date(r.firstSentAt) } : undefined;
  }
}

/** The containers sent under an attempt, oldest first. */
export function containersOf(a: Pick<Attempt, 'containerId' | 'containerIds'> | undefined): string[] {
  if (!a) return [];
  return a.containerIds?.length ? a.containerIds : a.containerId ? [a.containerId] : [];
}

export function unknownMarker(provider: string, marker: string): ProviderError {
  return new ProviderError('permanent',
    `${provider}: cannot reconcile "${marker}": posts carry no marker on this network and nothing was recorded as sent under it, so the text to look for is unknown`,
    { provider, reason: 'marker_unknown' });
}

/** The earlier of the caller's `since` and the attempt's start (less a minute of clock skew). */
export function searchFrom(since: Date, a: Attempt): number {
  return Math.min(since.getTime(), a.startedAt.getTime()) - 60_000;
}

/** Whether any of the containers reads PUBLISHED in its status field (`status_code` on Instagram, `status` on Threads). */
export async function anyPublished(api: GraphApi, containers: string[], token: string, field: string): Promise<boolean> {
  let published = false;
  for (const id of containers) {
    const c = await api.get<Record<string, unknown>>('find_post', id, token, { fields: field });
    if (c[field] === 'PUBLISHED') published = true;
  }
  return published;
}

type Listed = { id?: unknown } & Record<string, unknown>;

/**
 * The oldest listed item with an id, created no earlier than `from`, and (when `text` is given) whose
 * `textField` is that text: oldest first, so that a retried duplicate never hides the original.
 */
export function oldestMatch<T extends Listed>(items: T[], o: { from: number; timeField: string; textField?: string; text?: string }): (T & { id: string }) | undefined {
  const time = (x: T) => parseGraphTime(x[o.timeField]);
  return items.filter((x): x is T & { id: string } => typeof x.id === 'string' && (o.textField === undefined || sameText(x[o.textField], o.text ?? ''))
    && !(time(x) < o.from)).sort((x, y) => time(x) - time(y))[0];
}

/** The permalink of a post or comment, if the network gives one; a failure here loses nothing (the post exists). */
export async function permalinkOf(api: GraphApi, id: string, token: string, field: 'permalink' | 'permalink_url'): Promise<string | undefined> {
  try {
    const r = await api.get<Record<string, unknown>>('permalink', id, token, { fields: field });
    return typeof r[field] === 'string' ? r[field] as string : undefined;
  } catch {
    return undefined;
  }
}

type Insight = { name?: unknown; values?: { value?: unknown }[]; total_value?: { value?: unknown } };

/** A metric's number in an insights answer: the first of `values`, or `total_value` (some metrics answer with it). */
export function insightValue(data: Insight[], name: string): number | undefined {
  const d = data.find((x) => x.name === name);
  const v = d?.values?.[0]?.value ?? d?.total_value?.value;
  return typeof v === 'number' ? v : undefined;
}
