// The Sandbox adapter against the simulator: the template every network's adapter test follows.
import { test, before, after, describe } from 'node:test';
import assert from 'node:assert/strict';
import { harness, authorize, type Harness } from './harness.ts';
import { greyPng } from '../support/fixtures.ts';
import { createSandbox } from '../../src/providers/sandbox.ts';
import { ProviderError, type AccountRef, type Provider } from '../../src/providers/types.ts';
import { DEFAULT_KNOBS } from '../../tools/provider-sim/core.ts';

let h: Harness;
let p: Provider;
before(async () => {
  h = await harness();
  p = createSandbox({ http: h.http, settings: { clientId: 'allin', baseUrls: { api: h.sim.base('sandbox') } } });
});
after(() => h.stop());

const account = async (simUser?: string): Promise<AccountRef> => {
  const { tokens } = await authorize(p, simUser ? { loginHint: simUser } : {});
  const [id] = await p.identities(tokens);
  return { externalId: id!.externalId, username: id!.username, tokens, data: {} };
};

test('connect: authorization code with PKCE, profile', async () => {
  const { tokens, redirect } = await authorize(p);
  assert.equal(redirect.searchParams.get('state'), 'state-123');
  assert.ok(tokens.accessToken && tokens.refreshToken && tokens.expiresAt);
  const ids = await p.identities(tokens);
  assert.equal(ids.length, 1);
  assert.equal(ids[0]!.kind, 'person');
});

test('consent denied comes back as an error on the redirect', async () => {
  h.sim.state('sandbox').knobs.denyConsent = true;
  try {
    const { redirect } = await authorize(p);
    assert.equal(redirect.searchParams.get('error'), 'access_denied');
  } finally {
    h.sim.state('sandbox').knobs.denyConsent = false;
  }
});

test('refresh rotates the refresh token; the old one is then refused (auth_expired)', async () => {
  const a = await account();
  const next = await p.refresh(a);
  assert.notEqual(next.refreshToken, a.tokens.refreshToken);
  await assert.rejects(p.refresh(a), (e: unknown) => e instanceof ProviderError && e.kind === 'auth_expired');
});

test('publish text, media, a reply; find by marker; metrics', async () => {
  const a = await account();
  const first = await p.publish(a, { text: 'hello sandbox', media: [], marker: 'm-1' });
  assert.match(first.url!, /\/sandbox\/p\//);
  const withMedia = await p.publish(a, { text: 'with a picture', marker: 'm-2', media: [{ mimeType: 'image/png', bytes: greyPng(1, 1).length, read: async () => greyPng(1, 1) }] });
  const reply = await p.publish(a, { text: 'part two', media: [], replyTo: first.remoteId, marker: 'm-3' });
  const posts = h.sim.state('sandbox').posts;
  assert.equal(posts.find((x) => x.id === withMedia.remoteId)!.media.length, 1);
  assert.equal(posts.find((x) => x.id === reply.remoteId)!.replyTo, first.remoteId);
  assert.deepEqual(await p.findByMarker(a, 'm-2', new Date(Date.now() - 60_000)), { remoteId: withMedia.remoteId, url: withMedia.url });
  assert.equal(await p.findByMarker(a, 'never-sent', new Date(Date.now() - 60_000)), null);
  const m = await p.metrics!(a, first.remoteId);
  assert.equal(typeof m.likes, 'number');
});

test('the same marker twice creates one post (Idempotency-Key)', async () => {
  const a = await account();
  const x = await p.publish(a, { text: 'once', media: [], marker: 'idem-1' });
  const y = await p.publish(a, { text: 'once', media: [], marker: 'idem-1' });
  assert.equal(x.remoteId, y.remoteId);
  assert.equal(h.sim.state('sandbox').posts.filter((q) => q.key === 'idem-1').length, 1);
});

test('error classes: 401, 429 with Retry-After, 5xx, accept-then-timeout, malformed', async () => {
  const a = await account();
  const s = h.sim.state('sandbox');
  const kindOf = (e: unknown) => (e instanceof ProviderError ? e.kind : String(e));
  await assert.rejects(p.publish({ ...a, tokens: { accessToken: 'revoked' } }, { text: 'x', media: [], marker: 'e1' }), (e) => kindOf(e) === 'auth_expired');
  s.knobs.rateLimitNext = 1;
  s.knobs.retryAfterSeconds = 7;
  await assert.rejects(p.publish(a, { text: 'x', media: [], marker: 'e2' }), (e) => kindOf(e) === 'rate_limited' && (e as ProviderError).details.retryAfterMs === 7000);
  s.knobs.errorRate = 1;
  await assert.rejects(p.publish(a, { text: 'x', media: [], marker: 'e3' }), (e) => kindOf(e) === 'transient');
  s.knobs.errorRate = 0;
  s.knobs.acceptThenHangNext = 1;
  await assert.rejects(p.publish(a, { text: 'accepted', media: [], marker: 'e4' }), (e) => kindOf(e) === 'unknown_outcome');
  assert.ok(await p.findByMarker(a, 'e4', new Date(Date.now() - 60_000)), 'the post exists: reconciliation finds it');
  s.knobs.malformedNext = 1;
  await assert.rejects(p.publish(a, { text: 'x', media: [], marker: 'e5' }), (e) => kindOf(e) === 'unknown_outcome');
  s.knobs.malformedNext = 1;
  await assert.rejects(p.identities(a.tokens), (e) => kindOf(e) === 'transient');
});

test('revocation: the token stops working', async () => {
  const a = await account();
  await p.revoke!(a);
  await assert.rejects(p.refresh(a), (e: unknown) => e instanceof ProviderError && e.kind === 'auth_expired');
});

test('every call moved allin_social_api_calls_total', async () => {
  const calls = await h.metrics.socialApiCalls.get();
  const publish = calls.values.filter((v) => v.labels.provider === 'sandbox' && v.labels.operation === 'publish');
  assert.ok(publish.some((v) => v.labels.status === '201'));
  assert.ok(publish.some((v) => v.labels.status === '429'));
});

describe('inbox', () => {
  const s = () => h.sim.state('sandbox');
  const collectAll = async (a: AccountRef, cursor: string | null) => {
    const items = [];
    let pages = 0;
    for (;;) {
      const page = await p.collectInbox!(a, { source: 'inbox', cursor });
      pages++;
      items.push(...page.items);
      cursor = page.cursor;
      if (!page.more) return { items, cursor, pages };
    }
  };

  test('declares its source; comments, replies and mentions come page by page, each once', async () => {
    s().knobs.inboxRatePerMinute = 0;
    s().knobs.inboxPageSize = 2;
    try {
      assert.deepEqual(p.meta.inbox!.sources.map((x) => x.id), ['inbox']);
      const a = await account('inbox-pages');
      const post = await p.publish(a, { text: 'Ask me anything', media: [], marker: 'inbox-1' });
      const c1 = s().inbox.add({ userId: a.externalId, kind: 'comment', postId: post.remoteId, text: 'Does it work on Linux?', lang: 'en-GB', author: { id: 'x1', username: 'xavier' } });
      const c2 = s().inbox.add({ userId: a.externalId, kind: 'comment', postId: post.remoteId, parentId: c1.id, text: 'Yes it does' });
      const m = s().inbox.add({ userId: a.externalId, kind: 'mention', text: '@you hello' });
      s().inbox.add({ userId: 'someone-else', kind: 'mention', text: 'not for this account' });
      const { items, cursor, pages } = await collectAll(a, null);
      assert.equal(pages, 2);
      assert.deepEqual(items.map((i) => i.remoteId), [c1.id, c2.id, m.id]);
      const [first, second, mention] = items;
      assert.equal(first!.kind, 'comment');
      assert.equal(first!.rootRemoteId, post.remoteId);
      assert.equal(first!.parentRemoteId, undefined);
      assert.equal(first!.language, 'en-GB');
      assert.deepEqual(first!.author.handle, 'xavier');
      assert.equal(first!.root!.text, 'Ask me anything');
      assert.equal(first!.root!.authorRemoteId, a.externalId);
      assert.equal(second!.parentRemoteId, c1.id);
      assert.equal(mention!.kind, 'mention');
      assert.equal(mention!.rootRemoteId, m.id);
      // Caught up: the cursor holds, nothing comes again.
      const again = await p.collectInbox!(a, { source: 'inbox', cursor });
      assert.deepEqual(again.items, []);
      assert.equal(again.cursor, cursor);
      assert.equal(again.more, false);
    } finally {
      s().knobs.inboxRatePerMinute = DEFAULT_KNOBS.inboxRatePerMinute;
      s().knobs.inboxPageSize = DEFAULT_KNOBS.inboxPageSize;
    }
  });

  test('an edit, a deletion and hiding come again after the cursor with the new state', async () => {
    s().knobs.inboxRatePerMinute = 0;
    try {
      const a = await account('inbox-edits');
      const post = await p.publish(a, { text: 'Edits', media: [], marker: 'inbox-2' });
      const c = s().inbox.add({ userId: a.externalId, kind: 'comment', postId: post.remoteId, text: 'frist' });
      const d = s().inbox.add({ userId: a.externalId, kind: 'comment', postId: post.remoteId, text: 'spam spam' });
      const { cursor } = await collectAll(a, null);
      s().inbox.change(c.id, { text: 'first' });
      s().inbox.change(d.id, { deleted: true });
      const page = await p.collectInbox!(a, { source: 'inbox', cursor });
      const edited = page.items.find((i) => i.remoteId === c.id)!;
      assert.equal(edited.text, 'first');
      assert.ok(edited.editedAt instanceof Date);
      const gone = page.items.find((i) => i.remoteId === d.id)!;
      assert.equal(gone.deleted, true);
      assert.equal(gone.text, '');
      s().inbox.change(c.id, { hidden: true });
      const hidden = await p.collectInbox!(a, { source: 'inbox', cursor: page.cursor });
      assert.deepEqual(hidden.items.map((i) => [i.remoteId, i.hidden]), [[c.id, true]]);
    } finally {
      s().knobs.inboxRatePerMinute = DEFAULT_KNOBS.inboxRatePerMinute;
    }
  });

  test('a 429 between pages and a token that expires between pages: errors of their kind, the cursor still good', async () => {
    s().knobs.inboxRatePerMinute = 0;
    s().knobs.inboxPageSize = 1;
    try {
      const a = await account('inbox-busy');
      const post = await p.publish(a, { text: 'Busy', media: [], marker: 'inbox-3' });
      for (const text of ['one', 'two', 'three']) s().inbox.add({ userId: a.externalId, kind: 'comment', postId: post.remoteId, text });
      s().knobs.inboxRateLimitAfter = 1;
      s().knobs.retryAfterSeconds = 9;
      const first = await p.collectInbox!(a, { source: 'inbox', cursor: null });
      assert.deepEqual(first.items.map((i) => i.text), ['one']);
      await assert.rejects(p.collectInbox!(a, { source: 'inbox', cursor: first.cursor }),
        (e: unknown) => e instanceof ProviderError && e.kind === 'rate_limited' && e.details.retryAfterMs === 9000);
      const second = await p.collectInbox!(a, { source: 'inbox', cursor: first.cursor });
      assert.deepEqual(second.items.map((i) => i.text), ['two']);
      s().knobs.inboxExpireTokensAfter = 0;
      await assert.rejects(p.collectInbox!(a, { source: 'inbox', cursor: second.cursor }), (e: unknown) => e instanceof ProviderError && e.kind === 'auth_expired');
      const fresh = await p.refresh(a);
      const third = await p.collectInbox!({ ...a, tokens: fresh }, { source: 'inbox', cursor: second.cursor });
      assert.deepEqual(third.items.map((i) => i.text), ['three']);
      assert.equal(third.more, false);
    } finally {
      Object.assign(s().knobs, { inboxRatePerMinute: DEFAULT_KNOBS.inboxRatePerMinute, inboxPageSize: DEFAULT_KNOBS.inboxPageSize, retryAfterSeconds: DEFAULT_KNOBS.retryAfterSeconds });
    }
  });

  test('the generator: comments on the user\'s posts and mentions appear at the rate knob', async () => {
    const a = await account('inbox-alive');
    await p.publish(a, { text: 'Alive', media: [], marker: 'inbox-4' });
    s().knobs.inboxRatePerMinute = 600;
    try {
      const { items } = await collectAll(a, null);
      assert.ok(items.length >= 5, `the first read of a user brings a minute's worth (${items.length})`);
      assert.ok(items.every((i) => i.kind === 'mention' || i.root?.authorRemoteId === a.externalId));
    } finally {
      s().knobs.inboxRatePerMinute = DEFAULT_KNOBS.inboxRatePerMinute;
    }
  });

  test('a source the network does not have is refused as permanent, before any call', async () => {
    const a = await account('inbox-dms');
    await assert.rejects(p.collectInbox!(a, { source: 'dms', cursor: null }), (e: unknown) => e instanceof ProviderError && e.kind === 'permanent');
  });
});
