// Account metrics of each adapter that reads them, against the simulator: the counts (which grow over time
// there, deterministically), the daily insights where the network has them, the fields a network does not
// give (absent, never 0), and the network's refusals (a token without the scope).
import { test, before, after, describe } from 'node:test';
import assert from 'node:assert/strict';
import { harness, authorize, type Harness } from './harness.ts';
import { createSandbox } from '../../src/providers/sandbox.ts';
import { createMastodon } from '../../src/providers/mastodon.ts';
import { createBluesky } from '../../src/providers/bluesky.ts';
import { createX } from '../../src/providers/x.ts';
import { createTelegram } from '../../src/providers/telegram.ts';
import { telegramBot, telegramChat } from '../../tools/provider-sim/networks/telegram.ts';
import { REDIRECT } from './harness.ts';
import { ProviderError, type AccountRef, type Provider } from '../../src/providers/types.ts';
import { simAudience, simDayInsights } from '../../tools/provider-sim/core.ts';
import { blueskyAccount } from '../../tools/provider-sim/networks/bluesky.ts';

let h: Harness;
before(async () => { h = await harness(); });
after(() => h.stop());

const day = (offset: number) => new Date(Date.UTC(new Date().getUTCFullYear(), new Date().getUTCMonth(), new Date().getUTCDate() + offset)).toISOString().slice(0, 10);
/** The simulator's followers for the user, read between two instants (the count may step at midnight UTC). */
const followersAround = async (userId: string, read: () => Promise<number | undefined>) => {
  const lo = simAudience(userId, Date.now()).followers;
  const got = await read();
  const hi = simAudience(userId, Date.now()).followers;
  assert.ok(got !== undefined && got >= lo && got <= hi, `followers ${got} between ${lo} and ${hi}`);
};
const hits = (network: string, path: RegExp) => h.sim.state(network).log.filter((l) => path.test(l.path)).length;

describe('sandbox', () => {
  let p: Provider;
  let account: AccountRef;
  before(async () => {
    p = createSandbox({ http: h.http, settings: { clientId: 'allin', baseUrls: { api: h.sim.base('sandbox') } } });
    const { tokens } = await authorize(p, { loginHint: 'am1' });
    const [id] = await p.identities(tokens);
    account = { externalId: id!.externalId, username: id!.username, tokens, data: {} };
  });

  test('declares every field and 90 days of history', () => {
    assert.deepEqual(p.meta.accountMetrics?.fields, ['followers', 'following', 'posts', 'reach', 'impressions', 'profileViews', 'engagement']);
    assert.equal(p.meta.accountMetrics?.historyDays, 90);
  });

  test('the counts now, and each past day from `since` to yesterday with its insights', async () => {
    let answer!: Awaited<ReturnType<NonNullable<Provider['accountMetrics']>>>;
    await followersAround('am1', async () => {
      answer = await p.accountMetrics!(account, { since: day(-5), insights: true });
      return answer.now.followers;
    });
    assert.equal(answer.now.following, simAudience('am1', Date.now()).following);
    assert.equal(answer.now.posts, 0);
    assert.equal(answer.now.reach, undefined, 'no insights for a day not over');
    assert.deepEqual(answer.days.map((d) => d.date), [day(-5), day(-4), day(-3), day(-2), day(-1)]);
    for (const d of answer.days) {
      const i = simDayInsights('am1', d.date);
      assert.deepEqual(d.figures, {
        followers: simAudience('am1', Date.parse(`${d.date}T23:59:59.999Z`)).followers,
        reach: i.reach, impressions: i.impressions, profileViews: i.profileViews, engagement: i.engagement,
      }, 'following and posts are not given per day: absent');
    }
    const f = answer.days.map((d) => d.figures.followers!);
    assert.ok(f.every((v, i) => i === 0 || v > f[i - 1]!), `followers grow day by day: ${f.join(', ')}`);
    assert.equal(answer.insightsRefused, undefined);
  });

  test('without insights asked, only the counts are read', async () => {
    const before = hits('sandbox', /\/api\/me\/insights/);
    const answer = await p.accountMetrics!(account, { since: day(-3), insights: false });
    assert.equal(hits('sandbox', /\/api\/me\/insights/), before);
    assert.deepEqual(answer.days, []);
    assert.ok(typeof answer.now.followers === 'number');
  });

  test('a token without the insights scope: the counts come, the insights are refused with a reason', async () => {
    const { tokens } = await authorize(p, { loginHint: 'am2' });
    const sim = h.sim.state('sandbox').tokens.get(tokens.accessToken)!;
    sim.scope = sim.scope.filter((s) => s !== 'insights');
    const answer = await p.accountMetrics!({ externalId: 'am2', username: 'am2', tokens, data: {} }, { since: day(-3), insights: true });
    assert.ok(typeof answer.now.followers === 'number');
    assert.deepEqual(answer.days, []);
    assert.match(answer.insightsRefused ?? '', /insights scope.*reconnect/);
  });

  test('a token without the profile scope is refused for good (permanent, 403)', async () => {
    h.sim.state('sandbox').knobs.declineScopes = ['profile'];
    try {
      const { tokens } = await authorize(p, { loginHint: 'am3' });
      assert.ok(!tokens.scope?.includes('profile'), 'the person unticked it at consent');
      await assert.rejects(p.accountMetrics!({ externalId: 'am3', username: 'am3', tokens, data: {} }, { insights: true }),
        (e: unknown) => e instanceof ProviderError && e.kind === 'permanent' && e.details.status === 403);
    } finally {
      h.sim.state('sandbox').knobs.declineScopes = [];
    }
  });

  test('a profile without counts gives none (absent, not 0)', async () => {
    h.sim.state('sandbox').knobs.profileCountsOmitted = true;
    try {
      const answer = await p.accountMetrics!(account, { insights: false });
      assert.deepEqual(answer.now, {});
    } finally {
      h.sim.state('sandbox').knobs.profileCountsOmitted = false;
    }
  });
});

describe('mastodon', () => {
  let p: Provider;
  let host: string;
  const connect = async (login: string): Promise<AccountRef> => {
    const { tokens } = await authorize(p, { host, loginHint: login });
    const [id] = await p.identities(tokens, host);
    return { externalId: id!.externalId, username: id!.username, tokens, host, data: id!.data ?? {} };
  };
  before(() => {
    host = new URL(h.sim.url).host;
    p = createMastodon({ http: h.http, settings: { baseUrls: { instance: 'http://{host}/mastodon' } } });
  });

  test('followers, following and statuses from verify_credentials; no insights and no history', async () => {
    assert.deepEqual(p.meta.accountMetrics?.fields, ['followers', 'following', 'posts']);
    assert.equal(p.meta.accountMetrics?.historyDays, 0);
    const account = await connect('am-mastodon');
    await p.publish(account, { text: 'one status', media: [], marker: 'am-m-1' });
    let answer!: Awaited<ReturnType<NonNullable<Provider['accountMetrics']>>>;
    await followersAround(account.externalId, async () => {
      answer = await p.accountMetrics!(account, { insights: true });
      return answer.now.followers;
    });
    assert.equal(answer.now.following, simAudience(account.externalId, Date.now()).following);
    assert.equal(answer.now.posts, 1);
    assert.deepEqual(Object.keys(answer.now).sort(), ['followers', 'following', 'posts'], 'reach, impressions, profile views and engagement are not Mastodon\'s');
    assert.deepEqual(answer.days, []);
  });

  test('a token without read:accounts is refused for good (permanent, 403)', async () => {
    const account = await connect('am-mastodon-2');
    const sim = h.sim.state('mastodon').tokens.get(account.tokens.accessToken)!;
    sim.scope = ['write:statuses'];
    await assert.rejects(p.accountMetrics!(account, { insights: true }), (e: unknown) => e instanceof ProviderError && e.kind === 'permanent' && e.details.status === 403);
  });
});

describe('bluesky', () => {
  let p: Provider;
  const PASSWORD = 'abcd-efgh-ijkl-mnop';
  before(() => {
    const base = h.sim.base('bluesky');
    p = createBluesky({ http: h.http, settings: { baseUrls: { service: base, plc: `${base}/plc`, appview: `${base}/appview` } } });
  });

  test('followers, follows and posts from the AppView profile; absent when the profile leaves them out', async () => {
    assert.deepEqual(p.meta.accountMetrics?.fields, ['followers', 'following', 'posts']);
    assert.equal(p.meta.accountMetrics?.historyDays, 0);
    const a = blueskyAccount(h.sim.state('bluesky'), { handle: 'counts.bsky.test', password: PASSWORD });
    const signed = await p.signIn!(a.handle, PASSWORD);
    const [id] = await p.identities(signed.tokens, signed.host);
    const account: AccountRef = { externalId: id!.externalId, username: id!.username, tokens: signed.tokens, ...(signed.host ? { host: signed.host } : {}), data: id!.data ?? {} };
    await p.publish(account, { text: 'a post', media: [], marker: 'am-b-1' });
    let answer!: Awaited<ReturnType<NonNullable<Provider['accountMetrics']>>>;
    await followersAround(a.did, async () => {
      answer = await p.accountMetrics!(account, { insights: true });
      return answer.now.followers;
    });
    assert.equal(answer.now.following, simAudience(a.did, Date.now()).following);
    assert.equal(answer.now.posts, 1);
    assert.deepEqual(answer.days, []);

    h.sim.state('bluesky').knobs.profileCountsOmitted = true;
    try {
      assert.deepEqual((await p.accountMetrics!(account, { insights: true })).now, {});
    } finally {
      h.sim.state('bluesky').knobs.profileCountsOmitted = false;
    }
  });
});

describe('x', () => {
  let p: Provider;
  const CLIENT = { clientId: 'allin-x-am', clientSecret: 'x-secret-am' };
  before(() => {
    h.sim.state('x').apps.set(CLIENT.clientId, { ...CLIENT, redirectUris: [REDIRECT], name: 'AllIN' });
    p = createX({ http: h.http, settings: { ...CLIENT, baseUrls: { api: h.sim.base('x'), auth: h.sim.base('x') } } });
  });

  test('followers, following and posts from public_metrics; nothing else, no history; absent when not given', async () => {
    assert.deepEqual(p.meta.accountMetrics?.fields, ['followers', 'following', 'posts']);
    assert.equal(p.meta.accountMetrics?.historyDays, 0);
    const { tokens } = await authorize(p, { loginHint: 'am-x' });
    const [id] = await p.identities(tokens);
    const account: AccountRef = { externalId: id!.externalId, username: id!.username, tokens, data: {} };
    await p.publish(account, { text: 'counted', media: [], marker: 'am-x-1' });
    let answer!: Awaited<ReturnType<NonNullable<Provider['accountMetrics']>>>;
    await followersAround('am-x', async () => {
      answer = await p.accountMetrics!(account, { insights: true });
      return answer.now.followers;
    });
    assert.equal(answer.now.following, simAudience('am-x', Date.now()).following);
    assert.equal(answer.now.posts, 1);
    assert.deepEqual(Object.keys(answer.now).sort(), ['followers', 'following', 'posts']);
    assert.deepEqual(answer.days, []);
    h.sim.state('x').knobs.profileCountsOmitted = true;
    try {
      assert.deepEqual((await p.accountMetrics!(account, { insights: true })).now, {});
    } finally {
      h.sim.state('x').knobs.profileCountsOmitted = false;
    }
  });

  test('a token X refuses is an expired session, not a refusal of the figures', async () => {
    const { tokens } = await authorize(p, { loginHint: 'am-x-2' });
    h.sim.state('x').tokens.get(tokens.accessToken)!.revoked = true;
    await assert.rejects(p.accountMetrics!({ externalId: 'x', username: 'x', tokens, data: {} }, { insights: true }), (e: unknown) => e instanceof ProviderError && e.kind === 'auth_expired');
  });
});

describe('telegram', () => {
  test('a channel\'s members as its followers; nothing else, no history; a chat the bot was removed from is refused', async () => {
    const p = createTelegram({ http: h.http, settings: { baseUrls: { api: h.sim.base('telegram') } } });
    assert.deepEqual(p.meta.accountMetrics?.fields, ['followers']);
    assert.equal(p.meta.accountMetrics?.historyDays, 0);
    const s = h.sim.state('telegram');
    const bot = telegramBot(s, { username: 'am_counting_bot' });
    const channel = telegramChat(s, { type: 'channel', title: 'Counted', members: { [bot.id]: { status: 'administrator', canPost: true } } });
    const signed = await p.signIn!(String(channel.id), bot.token);
    const id = signed.identities![0]!;
    const account: AccountRef = { externalId: id.externalId, username: id.username, tokens: signed.tokens, data: id.data ?? {} };
    await followersAround(`chat:${channel.id}`, async () => (await p.accountMetrics!(account, { insights: true })).now.followers);
    const answer = await p.accountMetrics!(account, { insights: true });
    assert.deepEqual(Object.keys(answer.now), ['followers']);
    assert.deepEqual(answer.days, []);

    const gone = await p.accountMetrics!({ ...account, externalId: '-100999999999' }, { insights: true }).then(() => null, (e: unknown) => e);
    assert.ok(gone instanceof ProviderError && gone.kind === 'permanent', String(gone));
  });
});
