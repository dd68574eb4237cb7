// What the Facebook, Instagram and Threads inbox sweeps share: where a sweep is, Graph's paged lists, and
// the error that says an object is gone.
import { ProviderError, type InboxItem, type InboxPage } from '../types.ts';

/** Where the sweep is: `w`, comments created before it were read by an earlier sweep; `s`, `a`: this sweep's start and its posts cursor. */
export interface SweepCursor { w: number; s?: number; a?: string }

/** A page of one of Graph's lists. */
export type Paged<T> = { data?: T[]; paging?: { next?: unknown; cursors?: { after?: unknown } } };

export function parseSweepCursor(raw: string | null): SweepCursor {
  if (!raw) return { w: 0 };
  try {
    const c = JSON.parse(raw) as Partial<SweepCursor>;
    if (typeof c.w === 'number' && Number.isFinite(c.w)) {
      return { w: c.w, ...(typeof c.s === 'number' ? { s: c.s } : {}), ...(typeof c.a === 'string' ? { a: c.a } : {}) };
    }
  } catch { /* a cursor of another shape: start a fresh sweep */ }
  return { w: 0 };
}

/** A Graph error that says the object does not exist (code 100, subcode 33): deleted, or never visible to the account. */
export function isGone(err: unknown): boolean {
  return err instanceof ProviderError && err.kind === 'permanent' && /\[code 100\/33\]/.test(err.details.reason ?? '');
}

/** Where a newest-first sweep is: `w`, items before it were read by an earlier sweep (Unix seconds); `n`, `a`: this sweep's newest and page cursor. */
export interface NewestFirstCursor { w: number; n?: number; a?: string }

/**
 * One page of a list that runs newest first (Instagram's tagged media, Threads' mentions): items are kept down to
 * where the previous sweep read, less `overlapSeconds` (a first sweep: `firstDays` back); the sweep ends there or
 * at the list's end, and the next one reads down to this one's newest. `read` gets the page cursor and gives the
 * page's items, newest first, and the cursor of the page after it.
 */
export async function newestFirstPage(
  raw: string | null, o: { now: number; firstDays: number; overlapSeconds: number },
  read: (after: string | undefined) => Promise<{ items: InboxItem[]; after: string | undefined }>,
): Promise<InboxPage> {
  let cur: NewestFirstCursor = { w: 0 };
  try {
    const c = raw ? JSON.parse(raw) as Partial<NewestFirstCursor> : null;
    if (c && typeof c.w === 'number' && Number.isFinite(c.w)) cur = { w: c.w, ...(typeof c.n === 'number' ? { n: c.n } : {}), ...(typeof c.a === 'string' ? { a: c.a } : {}) };
  } catch { /* another shape: a fresh sweep */ }
  const downTo = (cur.w > 0 ? cur.w - o.overlapSeconds : Math.floor(o.now / 1000) - o.firstDays * 86_400) * 1000;
  const page = await read(cur.a);
  const items: InboxItem[] = [];
  let reachedRead = false;
  for (const i of page.items) {
    if (i.createdAt.getTime() < downTo) {
      reachedRead = true;
      break;
    }
    items.push(i);
  }
  const newest = Math.max(cur.n ?? 0, ...items.map((i) => Math.floor(i.createdAt.getTime() / 1000)));
  items.reverse();
  if (!reachedRead && page.after) return { items, cursor: JSON.stringify({ w: cur.w, n: newest, a: page.after } satisfies NewestFirstCursor), more: true };
  return { items, cursor: JSON.stringify({ w: Math.max(cur.w, newest) } satisfies NewestFirstCursor), more: false };
}
