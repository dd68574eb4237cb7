// Counting rules shared by the composer and the adapters: each network's own way of measuring a post.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import {
  BLUESKY_MAX_GRAPHEMES, blueskyTextProblem, codePointLength, countText, graphemeLength, mastodonCountableText, mastodonLength, twitterLength, utf8Length,
} from '../../src/providers/text.ts';

const FAMILY = '👨‍👩‍👧'; // three emoji joined by ZWJ: one grapheme, 5 code points, 8 UTF-16 units, 18 bytes

test('twitter: weighted length as twitter-text v3 counts it', () => {
  assert.equal(twitterLength('hello'), 5);
  assert.equal(twitterLength('a'.repeat(280)), 280);
  assert.equal(twitterLength('日本'), 4, 'CJK weighs 2');
  assert.equal(twitterLength(FAMILY), 2, 'an emoji sequence weighs 2');
  assert.equal(twitterLength(`see https://example.com/${'x'.repeat(100)}`), 4 + 23, 'a URL is 23 whatever its length');
  assert.equal(twitterLength('café'), twitterLength('cafe\u0301'), 'NFC first');
  assert.equal(countText('twitter', 'Привет'), 6, 'Cyrillic weighs 1');
});

test('graphemes: extended grapheme clusters', () => {
  assert.equal(graphemeLength(FAMILY), 1);
  assert.equal(graphemeLength('e\u0301'), 1);
  assert.equal(graphemeLength('🇫🇷🇩🇪'), 2);
  assert.equal(graphemeLength('日本語'), 3);
  assert.equal(graphemeLength('👍🏽'), 1, 'skin tone modifier joins');
  assert.equal(countText('graphemes', `a${FAMILY}b`), 3);
});

test('mastodon: URLs are 23, mention domains do not count, graphemes', () => {
  const long = `https://example.com/${'x'.repeat(200)}`;
  assert.equal(countText('mastodon', long), 23);
  assert.equal(countText('mastodon', `read ${long} now`), 5 + 23 + 4);
  assert.equal(countText('mastodon', 'see example.com'), 15, 'a bare domain counts as typed');
  assert.equal(mastodonCountableText('hi @alice@mastodon.social and @bob'), 'hi @alice and @bob');
  assert.equal(countText('mastodon', '@alice@very.long.instance.example.org hi'), '@alice hi'.length);
  assert.equal(countText('mastodon', 'mail me@example.com'), 19, 'an e-mail address is not a mention');
  assert.equal(countText('mastodon', `${FAMILY} é`), 3);
  assert.equal(mastodonLength('body', 'cw'), 6, 'the content warning counts');
  assert.equal(mastodonLength(long, '', 30), 30, 'the instance decides the URL allowance');
  assert.equal(countText('mastodon', 'http://localhost:3000/a-very-long-path-indeed'), 'http://localhost:3000/a-very-long-path-indeed'.length,
    'twitter-text needs a known TLD, so a local URL is counted in full (an over-count, never an under-count)');
});

test('unicode code points and UTF-16 units', () => {
  assert.equal(codePointLength('😀'), 1);
  assert.equal(countText('unicode', 'e\u0301'), 2);
  assert.equal(countText('unicode', FAMILY), 5);
  assert.equal(countText('utf16', '😀'), 2);
  assert.equal(countText('utf16', FAMILY), 8);
  assert.equal(utf8Length(FAMILY), 18);
});

test('bluesky: 300 graphemes and 3,000 bytes, exactly at and one over', () => {
  assert.equal(BLUESKY_MAX_GRAPHEMES, 300);
  const at = '😀'.repeat(150) + 'e\u0301'.repeat(150); // 300 graphemes, 600 UTF-16 units, 1,050 bytes
  assert.equal(graphemeLength(at), 300);
  assert.equal(blueskyTextProblem(at), null);
  assert.match(blueskyTextProblem(`${at}x`)!, /301 graphemes/);
  assert.equal(blueskyTextProblem('é'.repeat(300)), null);
  // 166 families are 166 graphemes but 2,988 bytes; 167 are 3,006 bytes: the byte limit bites first.
  assert.equal(blueskyTextProblem(FAMILY.repeat(166)), null);
  assert.match(blueskyTextProblem(FAMILY.repeat(167))!, /3006 UTF-8 bytes/);
});
