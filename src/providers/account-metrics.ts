// Account figures as the networks report them: a count the network did not give is left out, not 0, and a
// negative or non-integer answer is not a count.
import type { AccountFigures, AccountMetricField } from './types.ts';

export function accountFigures(counts: Partial<Record<AccountMetricField, unknown>>): AccountFigures {
  const out: AccountFigures = {};
  for (const [key, v] of Object.entries(counts) as [AccountMetricField, unknown][]) {
    if (typeof v === 'number' && Number.isSafeInteger(v) && v >= 0) out[key] = v;
  }
  return out;
}

/** The UTC day before `now`, YYYY-MM-DD: the last day a network's daily figures are complete for. */
export function yesterdayUtc(now = new Date()): string {
  return new Date(Date.UTC(now.getUTCFullYear(), now.getUTCMonth(), now.getUTCDate() - 1)).toISOString().slice(0, 10);
}
