// Load shedding: an overloaded process answers API requests 503 with Retry-After at once, and keeps
// answering /health, /api/health and /metrics.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { setTimeout as sleep } from 'node:timers/promises';
import { startTestApp } from './support/app.ts';
import { eventually } from './support/social.ts';

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
    // This test's process is the server: block its event loop, let one sample see it, and block again,
    // as a runaway task would. One stall alone is not shed for; two samples in a row are.
    const block = () => { const end = Date.now() + 1200; while (Date.now() < end) { /* busy */ } };
    block();
    await sleep(20);
    const once = await t.call('GET', '/api/auth/me');
    assert.equal(once.status, 401, 'one stall is not overload');
    block();
    // The sample after the second block sees the lag again, before the request is read.
    const r = await t.call('GET', '/api/auth/me');
    assert.equal(r.status, 503, JSON.stringify(r.body));
    assert.match(r.body.message, /event loop/);
    await eventually(async () => (await t.call('GET', '/api/auth/me')).status === 401, 10_000, 'recovery');
  } finally {
    await t.stop();
  }
});
