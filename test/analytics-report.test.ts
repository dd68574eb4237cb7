// The report of a period: a self-contained HTML page and a PDF with the overview's own figures, in the
// workspace's time zone unless another is asked for. Attacks: a post text and an account name that are
// markup, another workspace's member and account, no token. The PDF is parsed back with pdf.js.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { sql } from 'drizzle-orm';
import { getDocument } from 'pdfjs-dist/legacy/build/pdf.mjs';
import { startTestApp, type TestApp } from './support/app.ts';
import { fmt } from '../src/modules/analytics/report.ts';
import { MISSING } from '../src/modules/analytics/report-pdf.ts';

const HOUR = 3_600_000;
const DAY = 24 * HOUR;
let t: TestApp;
let owner: string;
let ws: string;
let sandbox: string;
let stranger: string;
let strangerWs: string;
let strangerAccount: string;
const db = () => t.running.services.db;
const SCRIPT = '<script>alert("owned")</script> & more';
const EVIL_NAME = '<img src=x onerror=alert(1)>';
// Outside Latin-1 (which Helvetica, the standard PDF font, stops at): Polish, an emoji, Japanese (no font
// for it is embedded), Greek, Cyrillic.
const WORLD = 'Łódź 🎉 東 Καλημέρα Привет';

async function account(workspaceId: string, provider: string, name: string): Promise<string> {
  const id = randomUUID();
  await db().execute(sql`insert into social_accounts (id, workspace_id, provider, external_id, kind, username, display_name)
    values (${id}, ${workspaceId}, ${provider}, ${id}, 'person', ${name}, ${name})`);
  return id;
}

async function published(workspaceId: string, accountId: string, provider: string, at: Date, f: { likes: number | null; reposts: number | null; replies: number | null; impressions: number | null }, text: string) {
  const postId = randomUUID();
  const targetId = randomUUID();
  await db().execute(sql`insert into posts (id, workspace_id, text) values (${postId}, ${workspaceId}, ${text})`);
  await db().execute(sql`insert into post_targets (id, post_id, workspace_id, account_id, provider, state, published_at, remote_id)
    values (${targetId}, ${postId}, ${workspaceId}, ${accountId}, ${provider}, 'published', ${at}, ${`r-${targetId}`})`);
  await db().execute(sql`insert into post_metrics (target_id, account_id, likes, reposts, replies, impressions, collected_at)
    values (${targetId}, ${accountId}, ${f.likes}, ${f.reposts}, ${f.replies}, ${f.impressions}, ${new Date(at.getTime() + HOUR)})`);
}

async function pdfText(buf: Buffer): Promise<string> {
  const pdf = await getDocument({ data: new Uint8Array(buf), useSystemFonts: false, disableFontFace: true, verbosity: 0 }).promise;
  let out = '';
  for (let i = 1; i <= pdf.numPages; i++) {
    const content = await (await pdf.getPage(i)).getTextContent();
    // A word may be drawn in pieces (one per embedded font): the pieces are joined as they are.
    out += content.items.map((it) => ('str' in it ? it.str : '')).join('') + '\n';
  }
  await pdf.destroy();
  return out;
}

before(async () => {
  t = await startTestApp();
  const u = await t.user();
  owner = (await t.login(u.email, u.password)).accessToken;
  ws = (await t.call('POST', '/api/workspaces', { token: owner, body: { name: 'Acme & "Sons" <Ltd>' } })).body.id;
  assert.equal((await t.call('PATCH', `/api/workspaces/${ws}`, { token: owner, body: { settings: { timeZone: 'Europe/Berlin' } } })).status, 200);
  sandbox = await account(ws, 'sandbox', EVIL_NAME);
  const masto = await account(ws, 'mastodon', 'report-masto');
  const v = await t.user();
  stranger = (await t.login(v.email, v.password)).accessToken;
  strangerWs = (await t.call('POST', '/api/workspaces', { token: stranger, body: { name: 'Theirs' } })).body.id;
  strangerAccount = await account(strangerWs, 'sandbox', 'their-sandbox');
  const now = Date.now();
  await published(ws, sandbox, 'sandbox', new Date(now - 2 * DAY), { likes: 1200, reposts: 34, replies: 5, impressions: 40000 }, SCRIPT);
  await published(ws, sandbox, 'sandbox', new Date(now - 3 * DAY), { likes: 7, reposts: 1, replies: 0, impressions: 300 }, 'Quiet one');
  await published(ws, masto, 'mastodon', new Date(now - 4 * DAY), { likes: 40, reposts: 2, replies: 3, impressions: null }, 'Fediverse hello');
  await published(ws, masto, 'mastodon', new Date(now - 5 * DAY), { likes: 2, reposts: 0, replies: 0, impressions: 50 }, WORLD);
  await published(ws, sandbox, 'sandbox', new Date(now - 40 * DAY), { likes: 9, reposts: 0, replies: 1, impressions: 100 }, 'From the period before');
});

after(async () => {
  await t.stop();
});

test('HTML: self-contained, the overview\'s figures, every string escaped, the workspace\'s time zone', async () => {
  const [r, ov] = await Promise.all([
    t.call('GET', `/api/workspaces/${ws}/analytics/report.html`, { token: owner }),
    t.call('GET', `/api/workspaces/${ws}/analytics/overview?timeZone=Europe/Berlin`, { token: owner }),
  ]);
  assert.equal(r.status, 200, String(r.body));
  assert.match(r.headers.get('content-type') ?? '', /^text\/html/);
  assert.match(r.headers.get('content-security-policy') ?? '', /default-src 'none'/);
  const html = r.body as string;
  assert.ok(html.includes('days in Europe/Berlin'), 'the workspace\'s zone by default');
  // Nothing executes and nothing is fetched: no script, no outside resource.
  assert.ok(!/<script|<img|<link|<iframe|@import|url\(|src=/i.test(html.replace(/&lt;[^<]*?&gt;/g, '')), 'no element that runs or loads anything');
  assert.ok(!html.includes(SCRIPT) && !html.includes(EVIL_NAME), 'markup written by a person is not markup here');
  assert.ok(html.includes('&lt;script&gt;alert(&quot;owned&quot;)&lt;/script&gt; &amp; more'), 'the post text, escaped');
  assert.ok(html.includes('&lt;img src=x onerror=alert(1)&gt;'), 'the account name, escaped');
  assert.ok(html.includes('Acme &amp; &quot;Sons&quot; &lt;Ltd&gt;'), 'the workspace name, escaped');
  // The overview's own figures, each with its change against the period before.
  const tot = ov.body.totals;
  assert.equal(tot.engagement.current, 1200 + 34 + 5 + 8 + 45 + 2);
  for (const k of ['posts', 'engagement', 'likes', 'impressions'] as const) {
    assert.ok(html.includes(`<b>${fmt(tot[k].current)}</b>`), `${k}: ${fmt(tot[k].current)}`);
  }
  assert.ok(html.includes(`<td class="n">${fmt(tot.engagement.previous)}</td>`), 'the previous period\'s engagement');
  assert.equal(tot.impressions.current, 40350, 'a post without impressions adds nothing');
  // Charts with their numbers: one SVG per chart, and a table of the days and of the networks.
  assert.equal((html.match(/<svg /g) ?? []).length, 2);
  for (const d of ov.body.days as { date: string }[]) assert.ok(html.includes(`<th scope="row">${d.date}</th>`), d.date);
  assert.ok(html.includes('<th scope="row">mastodon</th>') && html.includes('<th scope="row">sandbox</th>'));

  const utc = await t.call('GET', `/api/workspaces/${ws}/analytics/report.html?timeZone=UTC&accounts=${sandbox}`, { token: owner });
  assert.equal(utc.status, 200);
  assert.ok((utc.body as string).includes('days in UTC'), 'the zone asked for');
  assert.ok(!(utc.body as string).includes('report-masto'), 'only the accounts named');
});

test('PDF: parsed back, it holds the period and its figures', async () => {
  const res = await fetch(`${t.url}/api/workspaces/${ws}/analytics/report.pdf?from=2020-01-01&to=2020-01-31`, { headers: { authorization: `Bearer ${owner}` } });
  assert.equal(res.status, 200);
  assert.equal(res.headers.get('content-type'), 'application/pdf');
  assert.match(res.headers.get('content-disposition') ?? '', /filename="report-2020-01-01-2020-01-31\.pdf"/);
  const empty = await pdfText(Buffer.from(await res.arrayBuffer()));
  assert.ok(empty.includes('2020-01-01') && empty.includes('Nothing in this period.'), 'an empty period says so');

  const ov = (await t.call('GET', `/api/workspaces/${ws}/analytics/overview?timeZone=Europe/Berlin`, { token: owner })).body;
  const full = await fetch(`${t.url}/api/workspaces/${ws}/analytics/report.pdf`, { headers: { authorization: `Bearer ${owner}` } });
  const buf = Buffer.from(await full.arrayBuffer());
  assert.equal(buf.subarray(0, 5).toString(), '%PDF-');
  const text = await pdfText(buf);
  assert.ok(text.includes(`Analytics from ${ov.from} to ${ov.to}`), 'the period');
  for (const k of ['posts', 'engagement', 'likes', 'impressions'] as const) assert.ok(text.includes(fmt(ov.totals[k].current)), `${k} ${fmt(ov.totals[k].current)}`);
  assert.ok(text.includes('1,239'), 'the top post\'s engagement');
  assert.ok(text.includes('<script>alert("owned")'), 'the post text as written (a PDF runs no markup)');
  // Embedded fonts: letters beyond Latin-1 and the emoji come back as written; the CJK character, which no
  // embedded font has, as the placeholder.
  for (const word of ['Łódź', '🎉', 'Καλημέρα', 'Привет']) assert.ok(text.includes(word), `${word} in ${text}`);
  assert.ok(text.includes(MISSING) && !text.includes('東'), 'the character without a font is marked');
  assert.ok(!/[ŁΚП]/.test(text.replace(/Łódź|Καλημέρα|Привет/g, '')) && !text.includes('?d?'), 'no letter turned into "?"');
});

test('who may read it: an analytics:read key yes; another workspace, no token and a bad zone no', async () => {
  const k = await t.call('POST', `/api/workspaces/${ws}/api-keys`, { token: owner, body: { name: 'reports', scopes: ['analytics:read'] } });
  assert.equal(k.status, 201);
  assert.equal((await t.call('GET', `/api/workspaces/${ws}/analytics/report.html`, { token: k.body.key })).status, 200);
  assert.equal((await t.call('GET', `/api/workspaces/${ws}/analytics/report.pdf`, { token: k.body.key })).status, 200);
  assert.equal((await t.call('GET', `/api/workspaces/${ws}/analytics/report.html`)).status, 401);
  assert.equal((await t.call('GET', `/api/workspaces/${ws}/analytics/report.html`, { token: stranger })).status, 404, 'not a member');
  const theirs = await t.call('GET', `/api/workspaces/${ws}/analytics/report.pdf?accounts=${strangerAccount}`, { token: owner });
  assert.equal(theirs.status, 404, 'their account named in my workspace');
  assert.equal((await t.call('GET', `/api/workspaces/${strangerWs}/analytics/report.html`, { token: k.body.key })).status, 404, 'a key works on its own workspace only');
  const bad = await t.call('GET', `/api/workspaces/${ws}/analytics/report.html?timeZone=Mars/Olympus`, { token: owner });
  assert.equal(bad.status, 400);
  assert.match(bad.body.message, /not an IANA time zone/);
});
