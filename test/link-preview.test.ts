// Link cards: what a page's head says about it (Open Graph, Twitter cards, <title>), fetched within caps
// and a timeout, redirects followed by hand, private addresses refused, and never an exception.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { createServer, type Server } from 'node:http';
import { HttpClient } from '../src/infra/http/client.ts';
import { createMetrics } from '../src/infra/metrics.ts';
import { parseCard } from '../src/modules/link-preview/card.ts';
import { CachedLinkCards, LinkPreviewer } from '../src/modules/link-preview/previewer.ts';
import { capturingLogger, quietLogger } from './support/env.ts';
import { greyPng } from './support/fixtures.ts';
import { startTestApp } from './support/app.ts';
import { sql } from 'drizzle-orm';

test('Open Graph first, then Twitter tags, then <title> and the meta description', () => {
  const og = parseCard(`<!doctype html><html><head>
    <title>Plain title</title>
    <meta name="description" content="Plain description">
    <meta property="og:title" content="OG &amp; friends">
    <meta property="og:description" content="The card&#39;s text">
    <meta property="og:image" content="/img/card.png">
  </head><body><meta property="og:title" content="in the body: ignored"></body></html>`, 'https://example.com/a/b');
  assert.deepEqual(og, { title: 'OG & friends', description: 'The card\'s text', image: 'https://example.com/img/card.png' });

  const twitter = parseCard(`<head><meta name="twitter:title" content="T title"><meta name="twitter:description" content="T text">
    <meta name="twitter:image" content="https://cdn.example.net/t.jpg"></head>`, 'https://example.com/');
  assert.deepEqual(twitter, { title: 'T title', description: 'T text', image: 'https://cdn.example.net/t.jpg' });

  const plain = parseCard(`<HTML><HEAD><TITLE>
      Only   a title
    </TITLE><META NAME="Description" CONTENT="  and a description  "></HEAD></HTML>`, 'https://example.com/');
  assert.deepEqual(plain, { title: 'Only a title', description: 'and a description' });
});

test('relative images resolve against <base>; javascript:, data: and unparsable image URLs are dropped; an empty head is null', () => {
  assert.equal(parseCard('<head><base href="https://static.example.org/s/"><meta property="og:title" content="x"><meta property="og:image" content="i.png"></head>', 'https://example.com/')?.image,
    'https://static.example.org/s/i.png');
  for (const bad of ['javascript:alert(1)', 'data:image/png;base64,AAAA', 'http://[::1', 'ftp://example.com/i.png']) {
    assert.equal(parseCard(`<head><meta property="og:title" content="x"><meta property="og:image" content="${bad}"></head>`, 'https://example.com/')?.image, undefined, bad);
  }
  assert.equal(parseCard('<html><head></head><body><h1>No metadata</h1></body></html>', 'https://example.com/'), null);
  assert.equal(parseCard('', 'https://example.com/'), null);
  assert.equal(parseCard('<head><title>a', 'https://example.com/')?.title, 'a', 'unclosed tags still give what they hold');
});

test('long titles and descriptions are cut at a character boundary with an ellipsis', () => {
  const card = parseCard(`<head><meta property="og:title" content="${'😀'.repeat(400)}"><meta property="og:description" content="${'word '.repeat(400)}"></head>`, 'https://example.com/');
  assert.equal([...card!.title].length, 300);
  assert.ok(card!.title.endsWith('…'));
  assert.ok(!card!.title.includes('\uFFFD'));
  assert.equal([...card!.description].length <= 1000, true);
});

let server: Server;
let base: string;
let hits: string[] = [];
const PAGE = (image: string) => `<html><head><meta property="og:title" content="A page"><meta property="og:description" content="About it">
  <meta property="og:image" content="${image}"></head><body>${'x'.repeat(2000)}</body></html>`;
before(async () => {
  server = createServer((req, res) => {
    hits.push(req.url!);
    const url = new URL(req.url!, 'http://x');
    switch (url.pathname) {
      case '/page': return void res.writeHead(200, { 'content-type': 'text/html; charset=utf-8' }).end(PAGE('/card.png'));
      case '/card.png': return void res.writeHead(200, { 'content-type': 'image/png' }).end(greyPng(1, 1));
      case '/latin1': return void res.writeHead(200, { 'content-type': 'text/html; charset=iso-8859-1' }).end(Buffer.from('<head><title>Café crème</title></head>', 'latin1'));
      case '/hop': {
        const n = Number(url.searchParams.get('n'));
        return void res.writeHead(302, { location: n > 0 ? `/hop?n=${n - 1}` : '/page' }).end();
      }
      case '/big-image-page': return void res.writeHead(200, { 'content-type': 'text/html' }).end(PAGE('/big.png'));
      case '/big.png': return void res.writeHead(200, { 'content-type': 'image/png' }).end(Buffer.concat([greyPng(1, 1), Buffer.alloc(2_000)]));
      case '/fake-image-page': return void res.writeHead(200, { 'content-type': 'text/html' }).end(PAGE('/fake.png'));
      case '/fake.png': return void res.writeHead(200, { 'content-type': 'image/png' }).end('<svg xmlns="http://www.w3.org/2000/svg"></svg>');
      case '/json': return void res.writeHead(200, { 'content-type': 'application/json' }).end('{"title":"no"}');
      case '/missing': return void res.writeHead(404, { 'content-type': 'text/html' }).end(PAGE('/card.png'));
      case '/hang': return; // never answers
      case '/endless': {
        res.writeHead(200, { 'content-type': 'text/html' });
        res.write('<head><title>Endless</title></head><body>');
        const timer = setInterval(() => res.write('y'.repeat(64 * 1024)), 5);
        res.on('close', () => clearInterval(timer));
        return;
      }
      default: return void res.writeHead(404).end();
    }
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', () => r()));
  base = `http://127.0.0.1:${(server.address() as { port: number }).port}`;
});
after(() => new Promise<void>((r) => { server.closeAllConnections(); server.close(() => r()); }));

const previewer = (allowPrivateHosts = true, log = quietLogger()) => {
  const http = new HttpClient({ metrics: createMetrics({ enabled: true }), log, allowPrivateHosts, maxRetries: 0 });
  return { http, p: new LinkPreviewer({ http, log, timeoutMs: 500, maxImageBytes: 1_000, maxPageBytes: 64 * 1024 }) };
};

test('a page with an image gives a card with the image\'s bytes, under the link as written; redirects are followed up to three', async () => {
  const { http, p } = previewer();
  const card = await p.card(`${base}/page`);
  assert.deepEqual({ ...card, thumb: card?.thumb && { mimeType: card.thumb.mimeType, bytes: card.thumb.bytes.equals(greyPng(1, 1)) } },
    { uri: `${base}/page`, title: 'A page', description: 'About it', thumb: { mimeType: 'image/png', bytes: true } });
  const viaRedirects = await p.card(`${base}/hop?n=2`);
  assert.equal(viaRedirects?.uri, `${base}/hop?n=2`);
  assert.equal(viaRedirects?.title, 'A page');
  hits = [];
  assert.equal(await p.card(`${base}/hop?n=3`), null, 'a fourth redirect is one too many');
  assert.equal(hits.filter((h) => h.startsWith('/hop')).length, 4);
  assert.equal((await p.card(`${base}/latin1`))?.title, 'Café crème', 'the charset of the Content-Type is honoured');
  await http.close();
});

test('no card, and no exception, for what is not a readable HTML page', async () => {
  const { http, p } = previewer();
  for (const path of ['/json', '/missing', '/hang', '/nothing-here']) assert.equal(await p.card(`${base}${path}`), null, path);
  for (const url of ['not a url', 'ftp://example.com/', 'mailto:someone@example.com', 'javascript:alert(1)']) assert.equal(await p.card(url), null, url);
  // A page that never ends is read up to the cap, then let go.
  assert.equal((await p.card(`${base}/endless`))?.title, 'Endless');
  await http.close();
});

test('an image over the cap, or not an image whatever its Content-Type says, leaves the card without one', async () => {
  const { http, p } = previewer();
  const big = await p.card(`${base}/big-image-page`);
  assert.equal(big?.title, 'A page');
  assert.equal(big?.thumb, undefined);
  const fake = await p.card(`${base}/fake-image-page`);
  assert.equal(fake?.title, 'A page');
  assert.equal(fake?.thumb, undefined);
  await http.close();
});

test('links to this machine or its private network are not fetched, and the log names only the host', async () => {
  const { log, lines } = capturingLogger('info');
  const { http, p } = previewer(false, log);
  hits = [];
  const secret = 'reset-token-0123456789';
  for (const url of [`${base}/page?token=${secret}`, `http://localhost:${new URL(base).port}/page`, `http://[::1]:${new URL(base).port}/page`, 'http://169.254.169.254/latest/meta-data/', 'http://10.0.0.1/']) {
    assert.equal(await p.card(url), null, url);
  }
  assert.deepEqual(hits, [], 'nothing reached the local server');
  const logged = JSON.stringify(lines());
  assert.match(logged, /no link card/);
  assert.doesNotMatch(logged, new RegExp(secret));
  await http.close();
});

test('POST …/link-card previews the card of a text\'s first link for writers; viewers and strangers are refused', async () => {
  const app = await startTestApp({ ALLOW_PRIVATE_HOSTS: 'true' });
  try {
    const owner = await app.user();
    const token = (await app.login(owner.email, owner.password)).accessToken as string;
    const ws = (await app.call('POST', '/api/workspaces', { token, body: { name: 'Cards' } })).body.id as string;
    const path = `/api/workspaces/${ws}/link-card`;
    hits = [];
    const r = await app.call('POST', path, { token, body: { text: `Look: ${base}/page and ${base}/json` } });
    assert.equal(r.status, 200, JSON.stringify(r.body));
    assert.deepEqual({ ...r.body.card, image: String(r.body.card.image).slice(0, 22) }, { uri: `${base}/page`, title: 'A page', description: 'About it', image: 'data:image/png;base64,' });
    assert.deepEqual(Buffer.from(r.body.card.image.split(',')[1], 'base64'), greyPng(1, 1));
    const again = await app.call('POST', path, { token, body: { text: `Again ${base}/page` } });
    assert.equal(again.body.card.title, 'A page');
    assert.deepEqual(hits, ['/page', '/card.png'], 'the second preview came from the cache');
    assert.deepEqual((await app.call('POST', path, { token, body: { text: 'No link here' } })).body, { card: null });
    assert.deepEqual((await app.call('POST', path, { token, body: { text: `${base}/json` } })).body, { card: null });

    for (const [body, says] of [[{}, /text/], [{ text: { a: 1 } }, /text/], [{ text: 'x'.repeat(10_001) }, /text/], [{ text: 'ok', url: 'extra' }, /body\.url is not an accepted field/]] as const) {
      const bad = await app.call('POST', path, { token, body });
      assert.equal(bad.status, 400, JSON.stringify(body));
      assert.match(bad.body.message, says);
    }
    const viewer = await app.user();
    const viewerToken = (await app.login(viewer.email, viewer.password)).accessToken as string;
    await app.running.services.db.execute(sql`insert into memberships (workspace_id, user_id, role) values (${ws}, ${viewer.id}, 'viewer')`);
    assert.equal((await app.call('POST', path, { token: viewerToken, body: { text: `${base}/page` } })).status, 403);
    const stranger = await app.user();
    const strangerToken = (await app.login(stranger.email, stranger.password)).accessToken as string;
    assert.equal((await app.call('POST', path, { token: strangerToken, body: { text: `${base}/page` } })).status, 404);
    assert.equal((await app.call('POST', path, { body: { text: `${base}/page` } })).status, 401);
  } finally {
    await app.stop();
  }
});

test('cached cards: a card is kept, a link without one is asked again (the page may be back)', async () => {
  let calls = 0;
  let up = false;
  const cards = new CachedLinkCards({
    card: async (url) => {
      calls++;
      return up ? { uri: url, title: 't', description: 'd' } : null;
    },
  }, createMetrics({ enabled: true }));
  assert.equal(await cards.card('https://example.com/a'), null);
  up = true;
  assert.equal((await cards.card('https://example.com/a'))?.title, 't', 'not cached while it had no card');
  up = false;
  assert.equal((await cards.card('https://example.com/a'))?.title, 't', 'cached once it had one');
  assert.equal(calls, 2);
});
