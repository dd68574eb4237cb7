// A signed-out session stays signed out when the shared store forgets: PostgreSQL is the authority, and
// the store (a cache of revocations) vouches for a session only after the database has. Attacks: flush the
// store (FLUSHDB of this app's keys), restart the single-process server (its in-memory store starts
// empty), revoke a session while the store misses the write.
import { describe, test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { Redis } from 'ioredis';
import { eq, sql } from 'drizzle-orm';
import { startTestApp, type TestApp } from './support/app.ts';
import { testRedisUrl } from './support/env.ts';
import { sessions } from '../src/modules/auth/schema.ts';

/** Deletes every key of one app (its key prefix): what FLUSHDB does to a Redis of its own. */
async function flushPrefix(prefix: string): Promise<number> {
  const redis = new Redis(testRedisUrl());
  try {
    let deleted = 0;
    let cursor = '0';
    do {
      const [next, keys] = await redis.scan(cursor, 'MATCH', `${prefix}*`, 'COUNT', 500);
      cursor = next;
      if (keys.length > 0) deleted += await redis.del(...keys);
    } while (cursor !== '0');
    return deleted;
  } finally {
    redis.disconnect();
  }
}

describe('with Redis', () => {
  let t: TestApp;
  before(async () => { t = await startTestApp(); });
  after(() => t.stop());

  test('a revoked access token is still refused after the store is flushed', async () => {
    const u = await t.user();
    const s = await t.login(u.email, u.password);
    const keep = await t.login(u.email, u.password);
    assert.equal((await t.call('GET', '/api/auth/me', { token: s.accessToken })).status, 200);
    assert.equal((await t.call('POST', '/api/auth/logout', { token: s.accessToken, body: {} })).status, 200);
    assert.equal((await t.call('GET', '/api/auth/me', { token: s.accessToken })).status, 401);

    assert.ok(await flushPrefix(t.running.config.REDIS_KEY_PREFIX) > 0, 'the store held the revocation');
    const me = await t.call('GET', '/api/auth/me', { token: s.accessToken });
    assert.equal(me.status, 401, JSON.stringify(me.body));
    assert.equal(me.body.code, 'SESSION_REVOKED');
    // The store learnt it again: the next refusal needs no database read, and survives another flush.
    assert.equal((await t.call('GET', '/api/auth/me', { token: s.accessToken })).status, 401);
    // A live session of the same user is not caught up in it.
    assert.equal((await t.call('GET', '/api/auth/me', { token: keep.accessToken })).status, 200);
  });

  test('a session confirmed live, revoked while the store missed the write, is refused once the store is flushed', async () => {
    const u = await t.user();
    const s = await t.login(u.email, u.password);
    assert.equal((await t.call('GET', '/api/auth/me', { token: s.accessToken })).status, 200, 'confirmed live under the current epoch');
    // The revocation reaches PostgreSQL only (its store write was lost, as to a Redis that then restarted).
    await t.running.services.db.update(sessions).set({ revokedAt: sql`now()`, revokeReason: 'logout' }).where(eq(sessions.id, s.session.id));
    await flushPrefix(t.running.config.REDIS_KEY_PREFIX);
    const me = await t.call('GET', '/api/auth/me', { token: s.accessToken });
    assert.equal(me.status, 401, JSON.stringify(me.body));
    assert.equal(me.body.code, 'SESSION_REVOKED');
  });

  test('a session whose account was deleted is refused after a flush', async () => {
    const u = await t.user();
    const s = await t.login(u.email, u.password);
    const del = await t.call('DELETE', '/api/auth/me', { token: s.accessToken, body: { password: u.password } });
    assert.ok(del.status >= 200 && del.status < 300, JSON.stringify(del.body));
    await flushPrefix(t.running.config.REDIS_KEY_PREFIX);
    const me = await t.call('GET', '/api/auth/me', { token: s.accessToken });
    assert.equal(me.status, 401);
    assert.equal(me.body.code, 'SESSION_REVOKED');
  });
});

test('with the in-memory store, a revoked access token is still refused after a restart', async () => {
  const first = await startTestApp({ REDIS_URL: undefined }, 'start');
  let second: TestApp | undefined;
  try {
    assert.equal(first.running.store.kind, 'memory');
    const u = await first.user();
    const s = await first.login(u.email, u.password);
    const keep = await first.login(u.email, u.password);
    assert.equal((await first.call('POST', '/api/auth/logout', { token: s.accessToken, body: {} })).status, 200);
    assert.equal((await first.call('GET', '/api/auth/me', { token: s.accessToken })).status, 401);

    // The same database, a new process: its memory store starts empty.
    await first.running.stop();
    second = await startTestApp({ REDIS_URL: undefined, DATABASE_URL: first.running.config.DATABASE_URL }, 'start');
    const me = await second.call('GET', '/api/auth/me', { token: s.accessToken });
    assert.equal(me.status, 401, JSON.stringify(me.body));
    assert.equal(me.body.code, 'SESSION_REVOKED');
    assert.equal((await second.call('GET', '/api/auth/me', { token: keep.accessToken })).status, 200);
  } finally {
    await second?.stop();
    await first.stop();
  }
});
