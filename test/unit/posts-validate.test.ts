// Every network's limit cases, with its own adapter's limits: exactly at the limit passes, one over
// fails, and the problem names the field. Text is counted as each network counts it.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import type { HttpClient } from '../../src/infra/http/client.ts';
import type { ProviderDeps, ProviderLimits } from '../../src/providers/types.ts';
import { createX } from '../../src/providers/x.ts';
import { createLinkedIn } from '../../src/providers/linkedin.ts';
import { createFacebook } from '../../src/providers/facebook.ts';
import { createInstagram } from '../../src/providers/instagram.ts';
import { createThreads } from '../../src/providers/threads.ts';
import { createMastodon, mastodonLimits } from '../../src/providers/mastodon.ts';
import { createBluesky } from '../../src/providers/bluesky.ts';
import { createTelegram } from '../../src/providers/telegram.ts';
import { createDiscord } from '../../src/providers/discord.ts';
import { checkTarget, type MediaFacts, type TargetContent } from '../../src/modules/posts/validate.ts';

const deps: ProviderDeps = { http: {} as HttpClient, settings: { clientId: 'id', clientSecret: 'secret', baseUrls: { version: '202601' } } };
const limits = {
  x: createX(deps).meta.limits,
  linkedin: createLinkedIn(deps).meta.limits,
  facebook: createFacebook(deps).meta.limits,
  instagram: createInstagram(deps).meta.limits,
  threads: createThreads(deps).meta.limits,
  mastodon: createMastodon(deps).meta.limits,
  bluesky: createBluesky(deps).meta.limits,
  telegram: createTelegram(deps).meta.limits,
  discord: createDiscord(deps).meta.limits,
};

const jpeg = (over: Partial<MediaFacts> = {}): MediaFacts => ({ id: 'm1', mimeType: 'image/jpeg', bytes: 100_000, width: 1080, height: 1080, ...over });
const check = (provider: string, l: ProviderLimits, content: Partial<TargetContent> & { text?: string; media?: MediaFacts[] }) =>
  checkTarget('acc', provider, provider, l, {
    parts: content.parts ?? [{ text: content.text ?? '', media: content.media ?? [] }],
    ...(content.firstComment !== undefined ? { firstComment: content.firstComment } : {}), ...(content.options ? { options: content.options } : {}),
  }).problems;

test('the limit of each network: at it passes, one over fails on the text field', () => {
  const cases: [keyof typeof limits, number, MediaFacts[]][] = [
    ['x', 280, []], ['linkedin', 3000, []], ['facebook', 63_206, []], ['instagram', 2200, [jpeg()]], ['threads', 500, []], ['mastodon', 500, []], ['bluesky', 300, []], ['telegram', 4096, []], ['discord', 2000, []],
  ];
  for (const [provider, max, media] of cases) {
    assert.equal(limits[provider].maxTextLength, max, `${provider} limit`);
    assert.deepEqual(check(provider, limits[provider], { text: 'a'.repeat(max), media }), [], `${provider} at ${max}`);
    const over = check(provider, limits[provider], { text: 'a'.repeat(max + 1), media });
    assert.equal(over.length, 1, `${provider} over`);
    assert.equal(over[0]!.field, 'text');
    assert.match(over[0]!.message, new RegExp(`allows ${max} characters.*${max + 1}`));
  }
});

test('X counts with twitter-text: a link is 23, an emoji 2; thread parts are counted one by one', () => {
  const url = 'https://example.com/a/very/long/path/that/is/much/longer/than/twenty-three/characters';
  assert.deepEqual(check('x', limits.x, { text: `${'a'.repeat(280 - 24)} ${url}` }), []);
  assert.equal(check('x', limits.x, { text: `${'a'.repeat(280 - 23)} ${url}` })[0]!.field, 'text');
  assert.deepEqual(check('x', limits.x, { text: '😀'.repeat(140) }), []);
  assert.equal(check('x', limits.x, { text: '😀'.repeat(141) }).length, 1);
  const thread = check('x', limits.x, { parts: [{ text: 'one', media: [] }, { text: 'b'.repeat(280), media: [] }, { text: 'c'.repeat(281), media: [] }] });
  assert.deepEqual(thread.map((p) => p.field), ['thread[1].text']);
});

test('Bluesky counts graphemes (a family emoji is one) and refuses more than 3,000 UTF-8 bytes', () => {
  const family = '👨‍👩‍👧‍👦'; // one grapheme, 25 UTF-8 bytes
  assert.deepEqual(check('bluesky', limits.bluesky, { text: family.repeat(100) }), []);
  const bytes = check('bluesky', limits.bluesky, { text: family.repeat(121) });
  assert.equal(bytes.length, 1);
  assert.match(bytes[0]!.message, /UTF-8 bytes/);
  assert.deepEqual(check('bluesky', limits.bluesky, { text: 'é'.repeat(300) }), []);
});

test('Mastodon takes the instance\'s own limit, and counts a link as 23', () => {
  const big = mastodonLimits({ maxCharacters: 5000, maxMediaAttachments: 4, supportedMimeTypes: [], imageSizeLimit: 16_777_216, videoSizeLimit: 103_809_024 } as never);
  assert.deepEqual(check('mastodon', big, { text: 'a'.repeat(5000) }), []);
  assert.equal(check('mastodon', big, { text: 'a'.repeat(5001) }).length, 1);
  assert.deepEqual(check('mastodon', limits.mastodon, { text: `${'a'.repeat(476)} https://example.com/${'x'.repeat(100)}` }), []);
});

test('media rules: Instagram needs media; counts, types, sizes and video length per network', () => {
  assert.equal(check('instagram', limits.instagram, { text: 'no picture' })[0]!.field, 'media');
  assert.deepEqual(check('instagram', limits.instagram, { text: 'ok', media: Array.from({ length: 10 }, () => jpeg()) }), []);
  assert.equal(check('instagram', limits.instagram, { text: 'ok', media: Array.from({ length: 11 }, () => jpeg()) })[0]!.field, 'media');
  assert.equal(check('instagram', limits.instagram, { text: 'ok', media: [jpeg({ mimeType: 'image/png' })] })[0]!.field, 'media[0]');
  assert.deepEqual(check('x', limits.x, { text: 'ok', media: [1, 2, 3, 4].map(() => jpeg()) }), []);
  assert.equal(check('x', limits.x, { text: 'ok', media: [1, 2, 3, 4, 5].map(() => jpeg()) })[0]!.field, 'media');
  const video = (seconds: number, bytes = 1_000_000): MediaFacts => ({ id: 'v', mimeType: 'video/mp4', bytes, durationSeconds: seconds });
  assert.deepEqual(check('x', limits.x, { text: 'ok', media: [video(140)] }), []);
  assert.match(check('x', limits.x, { text: 'ok', media: [video(141)] })[0]!.message, /140 seconds/);
  assert.equal(check('x', limits.x, { text: 'ok', media: [video(10), jpeg()] })[0]!.field, 'media', 'X does not mix a video with images');
  assert.deepEqual(check('threads', limits.threads, { text: 'ok', media: [video(300)] }), []);
  assert.equal(check('threads', limits.threads, { text: 'ok', media: [video(301)] })[0]!.field, 'media[0]');
  assert.equal(check('x', limits.x, { text: 'ok', media: [jpeg({ bytes: limits.x.media.maxImageBytes + 1 })] })[0]!.field, 'media[0]');
  assert.deepEqual(check('x', limits.x, { text: 'ok', media: [jpeg({ bytes: limits.x.media.maxImageBytes })] }), []);
});

test('threads and first comments only where the network has them', () => {
  const twoParts = { parts: [{ text: 'one', media: [jpeg()] }, { text: 'two', media: [] }] };
  assert.equal(check('instagram', limits.instagram, twoParts)[0]!.field, 'thread');
  assert.deepEqual(check('threads', limits.threads, twoParts), []);
  assert.deepEqual(check('x', limits.x, { text: 'post', firstComment: 'more below' }), []);
  assert.equal(check('x', limits.x, { text: 'post', firstComment: 'c'.repeat(281) })[0]!.field, 'firstComment');
  assert.equal(check('x', limits.x, { text: '' })[0]!.field, 'text', 'an empty post');
});

test('an Instagram Story: exactly one image or video, a video of at most 60 s and 100 MB, no first comment', () => {
  const story = { story: true };
  const mp4 = (over: Partial<MediaFacts> = {}): MediaFacts => ({ id: 'v1', mimeType: 'video/mp4', bytes: 5_000_000, durationSeconds: 60, ...over });
  assert.deepEqual(check('instagram', limits.instagram, { text: 'caption not shown', media: [jpeg({ width: 1080, height: 1920 })], options: story }), []);
  assert.deepEqual(check('instagram', limits.instagram, { media: [mp4()], options: story }), [], 'exactly 60 s');
  const fields = (c: Partial<TargetContent> & { media?: MediaFacts[] }) => check('instagram', limits.instagram, { ...c, options: story }).map((x) => `${x.field}: ${x.message}`);
  assert.match(fields({ media: [jpeg(), jpeg()] }).join(), /^media: .*exactly one image or video; this has 2/);
  assert.match(fields({ media: [mp4({ durationSeconds: 60.5 })] }).join(), /^media\[0\]: .*at most 60 seconds; this one is 61/);
  assert.match(fields({ media: [mp4({ bytes: 101 * 1024 * 1024, durationSeconds: 10 })] }).join(), /^media\[0\]: .*at most 100 MB/);
  assert.match(fields({ media: [jpeg()], firstComment: 'hi' }).join(), /firstComment: .*cannot have a first comment/);
  // Without the option, the same video is a Reel: 90 s is fine there.
  assert.deepEqual(check('instagram', limits.instagram, { media: [mp4({ durationSeconds: 90 })] }), []);
});

test('a Facebook video is a Reel: 3 to 90 seconds, checked when the post is saved', () => {
  const mp4 = (durationSeconds: number): MediaFacts => ({ id: 'v1', mimeType: 'video/mp4', bytes: 5_000_000, durationSeconds });
  assert.deepEqual(check('facebook', limits.facebook, { text: 'Reel', media: [mp4(3)] }), []);
  assert.deepEqual(check('facebook', limits.facebook, { text: 'Reel', media: [mp4(90)] }), []);
  assert.match(check('facebook', limits.facebook, { text: 'Reel', media: [mp4(2.5)] }).map((x) => `${x.field}: ${x.message}`).join(), /^media\[0\]: .*at least 3 seconds; this one is 2\.5/);
  assert.match(check('facebook', limits.facebook, { text: 'Reel', media: [mp4(91)] }).map((x) => `${x.field}: ${x.message}`).join(), /^media\[0\]: .*up to 90 seconds/);
  assert.match(check('facebook', limits.facebook, { text: 'Reel', media: [mp4(10), jpeg()] }).map((x) => x.message).join(), /either images or one video/);
});

test('Telegram: 4096 characters of text, but a caption (text with media) holds 1024; photo sides; its options', () => {
  const t = limits.telegram;
  assert.deepEqual(check('telegram', t, { text: 'a'.repeat(1024), media: [jpeg()] }), []);
  const caption = check('telegram', t, { text: 'a'.repeat(1025), media: [jpeg()] });
  assert.equal(caption.length, 1);
  assert.equal(caption[0]!.field, 'text');
  assert.match(caption[0]!.message, /caption of at most 1024 characters; this is 1025/);
  assert.equal(check('telegram', t, { text: '😀'.repeat(2049) })[0]!.field, 'text', 'UTF-16 units: an emoji counts two');
  assert.deepEqual(check('telegram', t, { text: '', media: Array.from({ length: 10 }, () => jpeg()) }), [], 'an album of 10');
  assert.match(check('telegram', t, { text: '', media: Array.from({ length: 11 }, () => jpeg()) })[0]!.message, /at most 10 media/);
  assert.deepEqual(check('telegram', t, { text: '', media: [jpeg(), jpeg({ mimeType: 'video/mp4', width: null, height: null })] }), [], 'photos and videos mix in an album');
  assert.match(check('telegram', t, { text: '', media: [jpeg({ width: 100, height: 2001 })] })[0]!.message, /differ at most 20 times/);
  assert.deepEqual(check('telegram', t, { text: '', media: [jpeg({ width: 100, height: 2001 })], options: { asDocuments: true } }), [], 'as a file it goes as it is');
  assert.deepEqual(check('telegram', t, { text: 'x', options: { silent: true } }), []);
  assert.match(check('telegram', t, { text: 'x', options: { pin: true } })[0]!.message, /"pin" is not one/);
  assert.match(check('telegram', t, { text: 'x', options: { silent: 'yes' } })[0]!.message, /true or false/);
});

test('Discord: 2000 characters with or without files, 10 files of 10 MiB, and its options and embeds checked as the adapter checks them', () => {
  const d = limits.discord;
  assert.deepEqual(check('discord', d, { text: 'a'.repeat(2000), media: Array.from({ length: 10 }, () => jpeg()) }), [], 'no caption limit: text and files together');
  assert.match(check('discord', d, { text: 'a'.repeat(2001) })[0]!.message, /allows 2000 characters/);
  assert.match(check('discord', d, { text: '', media: Array.from({ length: 11 }, () => jpeg()) })[0]!.message, /at most 10 media/);
  assert.match(check('discord', d, { text: '', media: [jpeg({ bytes: 10 * 1024 * 1024 + 1 })] })[0]!.message, /up to 10 MB/);
  assert.deepEqual(check('discord', d, { text: 'x', options: { threadName: 'Release', silent: true, embeds: [{ title: 'T', description: 'D', fields: [{ name: 'n', value: 'v' }] }] } }), []);
  const bad = check('discord', d, { text: 'x', options: { threadName: '', embeds: [{ title: 't'.repeat(257) }], pin: true } });
  assert.deepEqual(bad.map((x) => x.field), ['options', 'options', 'options']);
  assert.match(bad.map((x) => x.message).join(' | '), /"pin" is not an option.*threadName is the title of a forum post.*title holds at most 256 characters; this is 257/);
});
