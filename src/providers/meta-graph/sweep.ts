// What the Facebook, Instagram and Threads inbox sweeps share: where a sweep is, Graph's paged lists, and
// the error that says an object is gone.
import { ProviderError } from '../types.ts';

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
