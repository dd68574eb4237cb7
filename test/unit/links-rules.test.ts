// Link rules with no database: which URLs are shortened, the UTM parameters per network and campaign,
// a writer's own UTM parameter never replaced, and texts counted as the network counts them once their
// links are short.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { CODE_LENGTH, DEFAULT_RULES, newCode, rewriteText, shortUrl, urlsToShorten, utmFor, withUtm, type LinkRules } from '../../src/modules/links/rules.ts';
import { countText, replaceUrls } from '../../src/providers/text.ts';

const PUBLIC = 'https://go.example.com';
const rules = (r: Partial<LinkRules>): LinkRules => ({ ...DEFAULT_RULES, ...r });

test('UTM per network: the source is the network id unless the rules name one; medium, campaign, content', () => {
  const r = rules({ utmSources: { x: 'twitter' }, utmContent: '{network}-{post}' });
  assert.deepEqual(utmFor(r, { network: 'x', postId: 'p1', label: 'Spring sale' }), [
    ['utm_source', 'twitter'], ['utm_medium', 'social'], ['utm_campaign', 'Spring sale'], ['utm_content', 'x-p1'],
  ]);
  assert.deepEqual(utmFor(r, { network: 'mastodon', postId: 'p1', label: null }), [['utm_source', 'mastodon'], ['utm_medium', 'social'], ['utm_content', 'mastodon-p1']],
    'no label and no fallback campaign: no utm_campaign');
  assert.deepEqual(utmFor(rules({ utmCampaign: 'always-on' }), { network: 'bluesky', postId: 'p', label: null }).find(([k]) => k === 'utm_campaign'), ['utm_campaign', 'always-on'], 'label mode falls back to the fixed value');
  assert.deepEqual(utmFor(rules({ campaignMode: 'fixed', utmCampaign: 'q3' }), { network: 'x', postId: 'p', label: 'Ignored' }).find(([k]) => k === 'utm_campaign'), ['utm_campaign', 'q3']);
  assert.equal(utmFor(rules({ campaignMode: 'none', utmCampaign: 'q3' }), { network: 'x', postId: 'p', label: 'L' }).some(([k]) => k === 'utm_campaign'), false);
});

test('a destination keeps its own query, fragment and UTM parameters (even an empty one)', () => {
  const utm = utmFor(rules({}), { network: 'x', postId: 'p', label: 'Spring sale' });
  assert.equal(withUtm('https://shop.example.com/a?id=7&b=%2F#top', utm), 'https://shop.example.com/a?id=7&b=%2F&utm_source=x&utm_medium=social&utm_campaign=Spring+sale#top');
  assert.equal(withUtm('https://shop.example.com/?utm_source=newsletter&utm_campaign=', utm), 'https://shop.example.com/?utm_source=newsletter&utm_campaign=&utm_medium=social');
  assert.equal(withUtm('https://exämple.de/ü', []), 'https://xn--exmple-cua.de/%C3%BC', 'ASCII, as a Location header must be');
});

test('which URLs are shortened: http(s) ones as X finds them, not AllIN\'s own, each once', () => {
  const text = 'New: https://shop.example.com/a?x=1. Also http://blog.example.com/p, example.org, ftp://files.example.com/x, https://go.example.com/media/1 and https://shop.example.com/a?x=1 again';
  assert.deepEqual(urlsToShorten(text, PUBLIC), ['https://shop.example.com/a?x=1', 'http://blog.example.com/p']);
  const out = rewriteText(text, PUBLIC, (u) => (u.startsWith('https://shop') ? shortUrl(PUBLIC, 'AAAAAAAA') : null));
  assert.equal(out, 'New: https://go.example.com/l/AAAAAAAA. Also http://blog.example.com/p, example.org, ftp://files.example.com/x, https://go.example.com/media/1 and https://go.example.com/l/AAAAAAAA again');
  assert.equal(replaceUrls('😀 https://a.example.com/x 😀', () => 'L'), '😀 L 😀', 'indices in UTF-16 units');
});

test('short links count as each network counts them', () => {
  const long = `Read https://shop.example.com/${'a'.repeat(300)}`;
  const short = rewriteText(long, PUBLIC, () => shortUrl(PUBLIC, newCode()));
  assert.equal(countText('twitter', long), 5 + 23, 'X: every URL is 23');
  assert.equal(countText('twitter', short), 5 + 23, 'X: the short link too');
  assert.equal(countText('mastodon', short), 5 + 23);
  assert.equal(countText('graphemes', short), 5 + `${PUBLIC}/l/`.length + CODE_LENGTH, 'Bluesky counts the short link as written');
  assert.equal(countText('unicode', short), countText('unicode', rewriteText(long, PUBLIC, () => shortUrl(PUBLIC, 'x'.repeat(CODE_LENGTH)))));
});

test('codes: base62, fixed length, not repeated', () => {
  const codes = new Set(Array.from({ length: 2000 }, newCode));
  assert.equal(codes.size, 2000);
  for (const c of codes) assert.match(c, new RegExp(`^[0-9A-Za-z]{${CODE_LENGTH}}$`));
});
