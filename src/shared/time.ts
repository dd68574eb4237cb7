// Wall-clock times in IANA time zones, through luxon; used by every module that reads or writes a zone
// (posts, analytics, a person's profile, a workspace). The stored instant is always a timestamptz in UTC,
// so the server's own time zone never moves a post. Two wall-clock times need a rule, and we follow
// RFC 5545 (iCalendar, 3.3.5) and Temporal's "compatible" disambiguation, which calendar users know:
// - a time that does not exist (the hour skipped when clocks go forward: 02:30 on a spring-forward day in
//   Europe/Berlin) is moved forward by the length of the gap (03:30, new offset);
// - a time that happens twice (the repeated hour when clocks go back: 01:30 in America/New_York) is the
//   first of the two (the daylight-time one, earlier instant).
import { DateTime, IANAZone } from 'luxon';
import { LRUCache } from 'lru-cache';
import { Invalid } from '../domain/errors.ts';

const LOCAL_RE = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}(:\d{2})?$/;

export function isValidZone(zone: string): boolean {
  return IANAZone.isValidZone(zone);
}

export function assertZone(zone: string, field: string): void {
  if (!isValidZone(zone)) throw new Invalid('VALIDATION_FAILED', `${field}: "${zone}" is not an IANA time zone (for example Europe/Berlin or America/New_York).`, [{ field, message: 'unknown time zone' }]);
}

/** The instant at which the clocks of `zone` show `local` (YYYY-MM-DDTHH:mm[:ss]), by the rules above. */
export function localToInstant(local: string, zone: string, field = 'localTime'): Date {
  if (!LOCAL_RE.test(local)) {
    throw new Invalid('VALIDATION_FAILED', `${field}: "${local}" is not a local date and time like 2027-03-28T09:30 (no offset: the zone says it).`, [{ field, message: 'not YYYY-MM-DDTHH:mm' }]);
  }
  const dt = DateTime.fromISO(local, { zone });
  if (!dt.isValid) throw new Invalid('VALIDATION_FAILED', `${field}: "${local}" is not a valid date and time in ${zone}.`, [{ field, message: dt.invalidExplanation ?? 'invalid' }]);
  // Luxon resolves a repeated time to the later instant; look for an earlier one with the same wall time.
  const wall = DateTime.fromISO(local, { zone: 'utc' }).toMillis();
  let best = dt.toMillis();
  for (const probe of [best - 3 * 3600_000, best - 3600_000]) {
    const offsetMin = DateTime.fromMillis(probe, { zone }).offset;
    const candidate = wall - offsetMin * 60_000;
    if (candidate < best && sameWall(DateTime.fromMillis(candidate, { zone }), local)) best = candidate;
  }
  return new Date(best);
}

/**
 * Each zone's offset on each calendar day seen (see localResolver), shared by every upload: minutes, or
 * NaN when the day needs the exact rules. A zone's rules do not change while the process runs.
 */
const dayOffsets = new LRUCache<string, number>({ max: 20_000 });

/**
 * localToInstant for many wall-clock times in one zone (a bulk upload): the zone's offset is looked up
 * once per calendar day (and remembered for the next upload), and the exact rules above run only for a
 * day near which the clocks change. Same answers and errors as localToInstant; the zone is checked once.
 */
export function localResolver(zone: string, zoneField = 'timeZone'): (local: string, field?: string) => Date {
  assertZone(zone, zoneField);
  return (local, field = 'localTime') => {
    if (!LOCAL_RE.test(local)) return localToInstant(local, zone, field);
    const day = local.slice(0, 10);
    const key = `${zone} ${day}`;
    let offset = dayOffsets.get(key);
    if (offset === undefined) {
      // The offset over every instant the day's wall-clock times can mean (UTC−12 to UTC+14 around it), or
      // NaN when it is not one offset there, or when the day does not exist (2027-02-30).
      const midnight = DateTime.fromISO(day, { zone: 'utc' });
      offset = NaN;
      if (midnight.isValid) {
        const from = DateTime.fromMillis(midnight.toMillis() - 14 * 3600_000, { zone }).offset;
        const to = DateTime.fromMillis(midnight.toMillis() + 36 * 3600_000, { zone }).offset;
        if (from === to) offset = from;
      }
      dayOffsets.set(key, offset);
    }
    const [h, m, sec] = [Number(local.slice(11, 13)), Number(local.slice(14, 16)), local.length > 16 ? Number(local.slice(17, 19)) : 0];
    if (Number.isNaN(offset) || h > 23 || m > 59 || sec > 59) return localToInstant(local, zone, field);
    return new Date(Date.parse(`${day}T${local.slice(11, 16)}:${String(sec).padStart(2, '0')}Z`) - offset * 60_000);
  };
}

function sameWall(dt: DateTime, local: string): boolean {
  const want = local.length === 16 ? `${local}:00` : local;
  return dt.toFormat("yyyy-MM-dd'T'HH:mm:ss") === want;
}

/** The wall-clock time of an instant in a zone, YYYY-MM-DDTHH:mm. */
export function instantToLocal(at: Date, zone: string): string {
  return DateTime.fromJSDate(at, { zone }).toFormat("yyyy-MM-dd'T'HH:mm");
}

/** The calendar day (YYYY-MM-DD) of an instant in a zone. */
export function dayIn(at: Date, zone: string): string {
  return DateTime.fromJSDate(at, { zone }).toFormat('yyyy-MM-dd');
}

// Kept per (zone, day): a calendar asks for the same weeks and months again and again, and each answer costs
// Luxon a zone-offset lookup through Intl (tens of microseconds; a quarter's range is 93 of them).
const dayStarts = new LRUCache<string, number>({ max: 20_000 });

/** The first instant of a calendar day in a zone (midnight, or the first existing time after it). */
export function startOfDay(day: string, zone: string): Date {
  const key = `${zone} ${day}`;
  let ms = dayStarts.get(key);
  if (ms === undefined) {
    ms = DateTime.fromISO(day, { zone }).startOf('day').toMillis();
    dayStarts.set(key, ms);
  }
  return new Date(ms);
}

/** Adds whole days to a local date-time string, keeping the wall-clock time. */
export function addLocalDays(local: string, days: number): string {
  return DateTime.fromISO(local, { zone: 'utc' }).plus({ days }).toFormat("yyyy-MM-dd'T'HH:mm");
}

/** ISO weekday (1 = Monday) of a local date-time string. */
export function localWeekday(local: string): number {
  return DateTime.fromISO(local, { zone: 'utc' }).weekday;
}

// One formatter per zone, kept: building an Intl.DateTimeFormat costs about as much as formatting a few
// hundred times, and Luxon's per-instant DateTime costs ~20 times an Intl format (the calendar formats
// thousands of times per answer). Bounded: the zone comes from the request.
const clocks = new LRUCache<string, (ms: number) => string>({ max: 500 });

/** A function giving the wall-clock time HH:mm (24-hour) of an instant (epoch ms) in `zone`. */
export function clockIn(zone: string): (ms: number) => string {
  let clock = clocks.get(zone);
  if (!clock) {
    const f = new Intl.DateTimeFormat('en-GB', { timeZone: zone, hour: '2-digit', minute: '2-digit', hourCycle: 'h23' });
    clock = (ms: number) => f.format(ms);
    clocks.set(zone, clock);
  }
  return clock;
}
