// Wall-clock times in bulk (shared/time.ts, localResolver): the offset looked up once a day must give
// exactly what localToInstant gives, every minute of the days the clocks change included.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { localResolver, localToInstant } from '../../src/shared/time.ts';

const outcome = (f: () => Date) => {
  try {
    return f().toISOString();
  } catch (err) {
    return `refused: ${(err as Error).message}`;
  }
};

test('every quarter hour around each clock change of 2026–2027 resolves as localToInstant does, in zones with odd rules', () => {
  // Berlin and New York (1 h, at different hours), Lord Howe (30 min), Chatham (+12:45/+13:45), Santiago
  // (midnight changes), Troll (2 h), St John's (−3:30), Kolkata (none).
  const zones = ['Europe/Berlin', 'America/New_York', 'Australia/Lord_Howe', 'Pacific/Chatham', 'America/Santiago', 'Antarctica/Troll', 'America/St_Johns', 'Asia/Kolkata'];
  let compared = 0;
  for (const zone of zones) {
    const resolve = localResolver(zone);
    for (let day = Date.UTC(2026, 0, 1); day < Date.UTC(2028, 0, 1); day += 86_400_000) {
      // Every day's noon (the cache's common path), and every quarter hour of the days near a change.
      const offsets = [-1, 0, 1, 2].map((d) => localToInstant(`${new Date(day + d * 86_400_000).toISOString().slice(0, 10)}T12:00`, zone).getTime() - (day + d * 86_400_000 + 43_200_000));
      const changes = new Set(offsets).size > 1;
      for (let minute = changes ? 0 : 720; minute < (changes ? 1440 : 721); minute += 15) {
        const local = `${new Date(day).toISOString().slice(0, 10)}T${String(Math.floor(minute / 60)).padStart(2, '0')}:${String(minute % 60).padStart(2, '0')}`;
        assert.equal(outcome(() => resolve(local)), outcome(() => localToInstant(local, zone)), `${local} in ${zone}`);
        compared++;
      }
    }
  }
  assert.ok(compared > 8 * 730, `compared ${compared}`);
});

test('times that do not exist, and seconds, are refused or kept as localToInstant does', () => {
  const resolve = localResolver('Europe/Berlin');
  for (const local of ['2027-02-30T09:00', '2027-02-29T09:00', '2028-02-29T09:00', '2027-04-31T10:00', '2027-01-01T24:00', '2027-01-01T23:60', '2027-01-01T10:00:59', '2027-01-01T10:00:60', '2027-1-01T10:00', 'tomorrow']) {
    assert.equal(outcome(() => resolve(local, 'body.localTime')), outcome(() => localToInstant(local, 'Europe/Berlin', 'body.localTime')), local);
  }
  assert.match(outcome(() => resolve('2027-02-30T09:00', 'body.localTime')), /^refused: body\.localTime: "2027-02-30T09:00" is not a valid date/);
});
