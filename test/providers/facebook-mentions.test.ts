// The Facebook Pages adapter's mentions against the simulated Graph API: public posts tagging the Page, polled page
// by page and read back only to the previous sweep (less an hour), a person's post without its author; Graph's
// throttling in the middle of a sweep and a token that stops working between pages.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { harness, authorize, type Harness, sweepInbox } from './harness.ts';
import { createFacebook } from '../../src/providers/facebook.ts';
import { ProviderError, type AccountRef, type Provider } from '../../src/providers/types.ts';

let h: Harness;
let p: Provider;
before(async () => {
  h = await harness();
  const base = h.sim.base('facebook');
  p = createFacebook({ http: h.http, settings: { clientId: 'fb-app', clientSecret: 'fb-secret', baseUrls: { graph: base, rupload: base, auth: base, version: 'v26.0' } } });
  sim().knobs.inboxRatePerMinute = 0;
});
after(() => h.stop());

const sim = () => h.sim.state('facebook');
const isKind = (kind: string) => (e: unknown) => e instanceof ProviderError && e.kind === kind;

async function pageAccount(loginHint: string): Promise<AccountRef> {
  const { tokens } = await authorize(p, { loginHint });
  const [page] = await p.identities(tokens);
  return { externalId: page!.externalId, username: page!.username, tokens: page!.tokens!, data: page!.data ?? {} };
}
const tagged = (page: AccountRef, text: string, ageMs = 0) => sim().inbox.add({
  userId: page.externalId, kind: 'mention', text, author: { id: 'fan-ada', name: 'Ada Lovelace', username: 'ada' }, createdAt: new Date(Date.now() - ageMs).toISOString(),
}).id;

const sweep = (a: AccountRef, cursor: string | null) => sweepInbox(p, a, 'mentions', cursor);

test('tagged posts: every one once in pages, each a mention of its own, a person\'s without its author; the next sweep reads back only to the previous one less an hour', async () => {
  const page = await pageAccount('fb-tags');
  const earlier = tagged(page, 'three hours ago with Bakery', 3 * 3600_000);
  const old = tagged(page, 'last month with Bakery', 30 * 86_400_000);
  const ids = [tagged(page, 'lunch at Bakery'), tagged(page, 'Bakery again'), tagged(page, 'thanks Bakery')];
  sim().knobs.inboxPageSize = 2;
  try {
    const first = await sweep(page, null);
    assert.ok(first.pages >= 2, `paged (${first.pages})`);
    assert.deepEqual(first.items.map((i) => i.remoteId).sort(), [earlier, ...ids].sort());
    assert.equal(first.items.some((i) => i.remoteId === old), false);
    const x = first.items.find((i) => i.remoteId === ids[0])!;
    assert.deepEqual([x.kind, x.rootRemoteId, x.text, x.author.handle], ['mention', ids[0], 'lunch at Bakery', 'Facebook user']);
    assert.ok(x.url);
    const late = tagged(page, 'later at Bakery');
    const again = (await sweep(page, first.cursor)).items.map((i) => i.remoteId);
    assert.ok(again.includes(late));
    assert.equal(again.includes(earlier), false);
  } finally {
    sim().knobs.inboxPageSize = 50;
  }
});

test('Graph\'s throttling in the middle of a sweep, then a token that stops working between pages', async () => {
  const page = await pageAccount('fb-tags-fail');
  const m1 = tagged(page, 'first', 60_000);
  const m2 = tagged(page, 'second');
  sim().knobs.inboxPageSize = 1;
  try {
    const first = await p.collectInbox!(page, { source: 'mentions', cursor: null });
    assert.deepEqual(first.items.map((i) => i.remoteId), [m2]);
    sim().knobs.inboxRateLimitAfter = 0;
    await assert.rejects(p.collectInbox!(page, { source: 'mentions', cursor: first.cursor }), isKind('rate_limited'));
    sim().knobs.inboxExpireTokensAfter = 0;
    await assert.rejects(p.collectInbox!(page, { source: 'mentions', cursor: first.cursor }), isKind('auth_expired'));
    const fresh = await pageAccount('fb-tags-fail');
    assert.deepEqual((await sweep(fresh, first.cursor)).items.map((i) => i.remoteId), [m1]);
  } finally {
    sim().knobs.inboxPageSize = 50;
    sim().knobs.inboxRateLimitAfter = -1;
    sim().knobs.inboxExpireTokensAfter = -1;
  }
});
