// Load shedding: an overloaded process answers API requests 503 with Retry-After at once, and keeps
// answering /health, /api/health and /metrics.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { setTimeout as sleep } from 'node:timers/promises';
import { startTestApp } from './support/app.ts';
import { eventually } from './support/eventually.ts';

test('past the heap limit: API requests get 503 with Retry-After; health and metrics still answer', async () => {
  // Any heap is over a ratio this small: the process is "overloaded" from its first sample on.
  const t = await startTestApp({ SHED_HEAP_USED_RATIO: '0.000001', SHED_RETRY_AFTER_SECONDS: '7' });
  try {
    const shed = await eventually(async () => {
      const r = await t.call('GET', '/api/auth/me');
      return r.status === 503 ? r : undefined;
    }, 10_000, 'a request to be shed');
    assert.equal(shed.headers.get('retry-after'), '7');
    assert.equal(shed.body.code, 'OVERLOADED');
    assert.match(shed.body.message, /overloaded \(memory\)/);
    assert.equal((await t.call('GET', '/health')).status, 200);
    assert.equal((await t.call('GET', '/api/health')).status, 200);
    const metrics = await t.call('GET', '/metrics');
    assert.equal(metrics.status, 200);
    assert.match(String(metrics.body), /allin_load_shed_total\{reason="heap"\} [1-9]/);
  } finally {
    await t.stop();
  }
});

test('a blocked event loop sheds the next requests, and the process recovers by itself', async () => {
  const t = await startTestApp({ SHED_EVENT_LOOP_DELAY_MS: '200', SHED_HEAP_USED_RATIO: '0' });
  try {
    // Start-up itself may lag: wait until requests reach their route.
    await eventually(async () => (await t.call('GET', '/api/auth/me')).status === 401, 10_000, 'a calm start');
    // Two calm samples, so no earlier lag counts with the next one. The sampler reports nothing a test can
    // await; its windows are wall-clock time, so a fixed wait is the way to let two of them pass.
    await sleep(1100);
    // This test's process is the server. One stall is not overload: the request still reaches its route.
    const block = (ms: number) => { const end = Date.now() + ms; while (Date.now() < end) { /* busy */ } };
    block(1200);
    await sleep(20); // a short yield so the sampler sees the stall end (no event marks a sample)
    assert.equal((await t.call('GET', '/api/auth/me')).status, 401, 'one stall is not overload');
    // A loop that stays busy, yielding only now and then (as under a runaway load), is: every sample
    // window sees the lag, and the request that follows is shed.
    const until = Date.now() + 3000;
    while (Date.now() < until) {
      block(300);
      await sleep(1); // yield only now and then, as a runaway load does: this pause is the load, not a wait
    }
    const r = await t.call('GET', '/api/auth/me');
    assert.equal(r.status, 503, JSON.stringify(r.body));
    assert.match(r.body.message, /event loop/);
    await eventually(async () => (await t.call('GET', '/api/auth/me')).status === 401, 10_000, 'recovery');
  } finally {
    await t.stop();
  }
});
