// The next occurrence of a recurring post, in wall-clock time of the post's zone: "every 2 days at 09:00"
// stays at 09:00 across daylight-saving changes (the instant moves, the clock time does not).
import { DateTime } from 'luxon';
import type { Recurrence } from './schema.ts';
import { localToInstant } from '../../shared/time.ts';

/**
 * The local time of occurrence n+1 given occurrence n (both YYYY-MM-DDTHH:mm in `zone`), and the first
 * one's local time for weekly intervals; null once `count` or `until` is reached.
 */
export function nextOccurrence(rule: Recurrence, firstLocal: string, currentLocal: string, currentIndex: number, zone: string): { local: string; at: Date } | null {
  if (rule.count !== undefined && currentIndex + 1 >= rule.count) return null;
  const cur = DateTime.fromISO(currentLocal, { zone: 'utc' });
  let next: DateTime | null = null;
  if (rule.every === 'days') {
    next = cur.plus({ days: rule.interval });
  } else {
    const firstWeek = DateTime.fromISO(firstLocal, { zone: 'utc' }).startOf('week');
    for (let d = 1; d <= 7 * rule.interval + 7; d++) {
      const c = cur.plus({ days: d });
      const weeks = Math.round(c.startOf('week').diff(firstWeek, 'weeks').weeks);
      if (weeks % rule.interval === 0 && rule.weekdays.includes(c.weekday)) {
        next = c;
        break;
      }
    }
  }
  if (!next) return null;
  const local = next.toFormat("yyyy-MM-dd'T'HH:mm");
  const at = localToInstant(local, zone);
  if (rule.until && at.getTime() > Date.parse(rule.until)) return null;
  return { local, at };
}
