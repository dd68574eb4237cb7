// The Instagram adapter's mentions against the simulated Instagram API: media the account is tagged in, polled
// page by page and read back only to the previous sweep (less an hour); Graph's throttling in the middle of a
// sweep; a token that expires between pages; mentions named by a webhook (a caption, a comment) read through
// mentioned_media / mentioned_comment, one gone left out.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { harness, type Harness, connectedAccount, sweepInbox } from './harness.ts';
import { createInstagram } from '../../src/providers/instagram.ts';
import { ProviderError, type AccountRef, type Provider } from '../../src/providers/types.ts';
import { instagramMentionNotification } from '../../tools/provider-sim/networks/instagram.ts';

let h: Harness;
let p: Provider;
before(async () => {
  h = await harness();
  const base = h.sim.base('instagram');
  p = createInstagram({ http: h.http, settings: { clientId: 'ig-app', clientSecret: 'ig-secret', baseUrls: { auth: base, api: base, graph: base } } });
  sim().knobs.inboxRatePerMinute = 0;
});
after(() => h.stop());

const sim = () => h.sim.state('instagram');
const isKind = (kind: string) => (e: unknown) => e instanceof ProviderError && e.kind === kind;

const account = (loginHint: string) => connectedAccount(p, loginHint);
/** Someone's medium naming (and tagging) the account; with `on`, a comment naming it under that medium. */
const mention = (a: AccountRef, text: string, o: { on?: string; ageMs?: number } = {}) => sim().inbox.add({
  userId: a.externalId, kind: 'mention', postId: o.on ?? null, text, author: { id: '1790', name: 'Grace', username: 'grace.h' },
  createdAt: new Date(Date.now() - (o.ageMs ?? 0)).toISOString(),
}).id;

const sweep = (a: AccountRef, cursor: string | null) => sweepInbox(p, a, 'mentions', cursor);

test('the mentions source is declared beside comments, and what is not collected is said', () => {
  assert.deepEqual(p.meta.inbox?.sources.map((x) => x.id), ['comments', 'mentions']);
  assert.match(p.meta.inbox?.notCollected ?? '', /Stories/);
});

test('tagged media: every one once in pages, as a mention that is its own root; the next sweep reads back only to the previous one less an hour', async () => {
  const a = await account('ig-tags');
  const old = mention(a, 'last month @shop', { ageMs: 30 * 86_400_000 });
  const earlier = mention(a, 'three hours ago @shop', { ageMs: 3 * 3600_000 });
  const ids = [mention(a, 'one @shop'), mention(a, 'two @shop'), mention(a, 'three @shop')];
  sim().knobs.inboxPageSize = 2;
  try {
    const first = await sweep(a, null);
    assert.ok(first.pages >= 2, `paged (${first.pages})`);
    assert.deepEqual(first.items.map((i) => i.remoteId).sort(), [earlier, ...ids].sort(), 'each once; older than the first sweep\'s 14 days left out');
    assert.equal(first.items.some((i) => i.remoteId === old), false);
    const x = first.items.find((i) => i.remoteId === ids[1])!;
    assert.equal(x.kind, 'mention');
    assert.equal(x.rootRemoteId, ids[1]);
    assert.equal(x.text, 'two @shop');
    assert.deepEqual(x.author, { remoteId: 'grace.h', handle: 'grace.h' });
    assert.ok(x.url);
    const late = mention(a, 'later @shop');
    const again = (await sweep(a, first.cursor)).items.map((i) => i.remoteId);
    assert.ok(again.includes(late));
    assert.equal(again.includes(earlier), false, 'not read again');
  } finally {
    sim().knobs.inboxPageSize = 50;
  }
});

test('Graph\'s throttling in the middle of a sweep, then a token that expires between pages: the cursor carries on', async () => {
  const a = await account('ig-tags-fail');
  const m1 = mention(a, 'first @shop', { ageMs: 60_000 });
  const m2 = mention(a, 'second @shop');
  sim().knobs.inboxPageSize = 1;
  try {
    const first = await p.collectInbox!(a, { source: 'mentions', cursor: null });
    assert.deepEqual(first.items.map((i) => i.remoteId), [m2]);
    assert.equal(first.more, true);
    sim().knobs.inboxRateLimitAfter = 0;
    await assert.rejects(p.collectInbox!(a, { source: 'mentions', cursor: first.cursor }), isKind('rate_limited'));
    sim().knobs.inboxExpireTokensAfter = 0;
    await assert.rejects(p.collectInbox!(a, { source: 'mentions', cursor: first.cursor }), isKind('auth_expired'));
    const fresh = await account('ig-tags-fail');
    assert.deepEqual((await sweep(fresh, first.cursor)).items.map((i) => i.remoteId), [m1]);
  } finally {
    sim().knobs.inboxPageSize = 50;
    sim().knobs.inboxRateLimitAfter = -1;
    sim().knobs.inboxExpireTokensAfter = -1;
  }
});

test('a pushed mention names ids only; the lookup reads a caption and a comment (under its medium), and leaves out one deleted since', async () => {
  const a = await account('ig-push');
  const media = mention(a, 'our trip with @shop');
  const comment = mention(a, '@shop do you ship?', { on: media });
  const gone = mention(a, '@shop rude words', { on: media });
  const pushed = [media, comment, gone].flatMap((id) => p.webhook!.parse(instagramMentionNotification(sim(), id)));
  assert.deepEqual(pushed.map((x) => [x.externalId, x.source, x.items.length, x.lookups]), [
    [a.externalId, 'mentions', 0, [`media:${media}`]], [a.externalId, 'mentions', 0, [`comment:${comment}`]], [a.externalId, 'mentions', 0, [`comment:${gone}`]],
  ]);
  sim().inbox.change(gone, { deleted: true });
  const items = await p.webhook!.lookup!(a, pushed.flatMap((x) => x.lookups!));
  assert.deepEqual(items.map((i) => [i.remoteId, i.kind, i.rootRemoteId, i.text]), [
    [media, 'mention', media, 'our trip with @shop'], [comment, 'mention', media, '@shop do you ship?'],
  ]);
  assert.equal(items[1]!.root?.text, 'our trip with @shop', 'the comment\'s medium is the conversation\'s root');
  sim().knobs.inboxRateLimitAfter = 0;
  try {
    await assert.rejects(p.webhook!.lookup!(a, [`media:${media}`]), isKind('rate_limited'));
  } finally {
    sim().knobs.inboxRateLimitAfter = -1;
  }
});
