// The analytics service keys an account's cached aggregates by a generation number, so one change drops
// every cached range of that account. The numbers are kept per account, so they are bounded; letting one
// go must not let the account fall back to a number its older (now stale) entries were stored under.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { AnalyticsService, metricsRange, type MetricsRange } from '../../src/modules/analytics/service.ts';
import { createInvalidationBus } from '../../src/infra/stores/invalidation.ts';
import { MemoryStore } from '../../src/infra/stores/memory.ts';
import { createMetrics } from '../../src/infra/metrics.ts';
import { quietLogger } from '../support/env.ts';

test('account generations are bounded, and an account let go is not answered from its stale entries', async () => {
  const store = new MemoryStore();
  const bus = await createInvalidationBus(store, '', quietLogger());
  const service = new AnalyticsService({ metrics: createMetrics({ enabled: true }), bus, log: quietLogger() } as unknown as ConstructorParameters<typeof AnalyticsService>[0]);
  // The aggregate's reading of the database is replaced by a counter: what is checked is when it runs.
  let loads = 0;
  (service as unknown as { loadAccount: () => Promise<object> }).loadAccount = async () => ({ load: ++loads });
  const range: MetricsRange = metricsRange({ from: '2026-01-01', to: '2026-01-31' }, new Date('2026-02-01T00:00:00Z'));
  const read = async () => ((await service.forAccount('ws', 'acct-a', range)).value as unknown as { load: number }).load;

  assert.equal(await read(), 1);
  assert.equal(await read(), 1, 'cached');
  await bus.publish('account_metrics', ['acct-a']);
  assert.equal(await read(), 2, 'a change drops the cached ranges');
  await bus.publish('account_metrics', ['acct-a']);
  // Ten thousand other accounts change: acct-a's number is let go.
  await bus.publish('account_metrics', Array.from({ length: 10_000 }, (_, i) => `acct-${i}`));
  assert.ok((service as unknown as { accountGen: { size: number } }).accountGen.size <= 10_000, 'bounded');
  assert.equal(await read(), 3, 'the change before it was let go still counts');
  assert.equal(await read(), 3);
  await bus.close();
  await store.close();
});
