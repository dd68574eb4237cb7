// Publishing on TikTok with the Content Posting API (https://developers.tiktok.com/doc/content-posting-api-get-started):
// 1. POST /v2/post/publish/creator_info/query/ before every direct post: the privacy levels this creator may use, whether
//    the creator turned comments, duets or stitches off, and the longest video they may post
//    (https://developers.tiktok.com/doc/content-posting-api-reference-query-creator-info);
// 2. a video: POST /v2/post/publish/video/init/ (direct post, with post_info) or /v2/post/publish/inbox/video/init/ (a
//    draft in the creator's inbox) with source_info FILE_UPLOAD (video_size, chunk_size, total_chunk_count) → publish_id
//    and upload_url; the bytes are PUT there in order, one chunk a request with Content-Range
//    (https://developers.tiktok.com/doc/content-posting-api-media-transfer-guide: chunks of 5 to 64 MB, the last up to
//    128 MB, a video under 5 MB in one piece, total_chunk_count = floor(size / chunk_size)); 206 until the last, 201 then.
//    FILE_UPLOAD rather than PULL_FROM_URL: it needs no domain verified with TikTok, and it lets reconciliation prove a
//    lost init harmless (no bytes, no post);
//    photos: POST /v2/post/publish/content/init/ with media_type PHOTO, post_mode DIRECT_POST or MEDIA_UPLOAD and
//    source_info PULL_FROM_URL (photo_images: public HTTPS URLs on a domain verified for the app; TikTok fetches them)
//    (https://developers.tiktok.com/doc/content-posting-api-reference-photo-post);
// 3. POST /v2/post/publish/status/fetch/ {publish_id} read until PUBLISH_COMPLETE (direct) or SEND_TO_USER_INBOX (inbox),
//    or FAILED with its fail_reason (https://developers.tiktok.com/doc/content-posting-api-reference-get-video-status).
//    publicaly_available_post_id (TikTok's spelling) holds the post's id once moderation passed and the post is public
//    (UNCONFIRMED for other privacy levels): it is read from the raw text, since int64 ids do not survive JSON numbers.
// The send journal gets what is sent before init and the publish_id as soon as init answers, so a later try (or
// reconciliation) asks the status of that publish instead of posting again. Figures: POST /v2/video/query/ (like_count,
// comment_count, share_count, view_count); the account's: GET /v2/user/info/ (follower_count, following_count, video_count).
import { accountFigures } from '../account-metrics.ts';
import { malformed } from '../errors.ts';
import { pollUntilReady, type PollSchedule } from '../poll.ts';
import { postMetrics } from '../post-metrics.ts';
import type { SentPosts } from '../sent-posts.ts';
import { ProviderError, type AccountMetricsAnswer, type AccountRef, type MediaItem, type PostMetrics, type PublishRequest, type PublishedPost } from '../types.ts';
import { PROVIDER, type TikTokApi } from './api.ts';
import { readTikTokOptions, tiktokCaptionProblems, tiktokMediaProblems, tiktokOptionProblems, type TikTokOptions } from './options.ts';
import { postUrl, type PublishStatus, type SentTikTok } from './reconcile.ts';

const refuse = (why: string, reason = 'refused_before_sending') => new ProviderError('permanent', `TikTok: ${why}`, { provider: PROVIDER, reason });
/** The status endpoint allows 30 reads a minute per user token: never more than one each 2 s. */
export const STATUS_POLL: PollSchedule = { firstDelayMs: 2000, maxDelayMs: 15_000, deadlineMs: 5 * 60_000 };
/** 10 MiB chunks: within 5-64 MB; the last chunk takes the rest (under 20 MiB, within 128 MB). */
export const CHUNK_BYTES = 10 * 1024 * 1024;
const SMALL = 5 * 1024 * 1024;
export const VIDEO_ID = /^\d{1,30}$/;

/** chunk_size and total_chunk_count for a video of `size` bytes, as the media transfer guide asks. */
export function chunking(size: number): { chunkSize: number; count: number } {
  if (size < SMALL) return { chunkSize: size, count: 1 };
  const chunkSize = Math.min(CHUNK_BYTES, size);
  return { chunkSize, count: Math.max(1, Math.floor(size / chunkSize)) };
}

export interface CreatorInfo {
  privacyLevels: string[];
  commentDisabled: boolean;
  duetDisabled: boolean;
  stitchDisabled: boolean;
  maxVideoSeconds?: number;
}

const DONE = ['PUBLISH_COMPLETE', 'SEND_TO_USER_INBOX'];

export function tiktokPosts(api: TikTokApi, sent: SentPosts<SentTikTok>, poll: PollSchedule, audited: boolean) {
  const creatorInfo = async (token: string): Promise<CreatorInfo> => {
    const d = await api.post<Record<string, unknown>>(token, '/post/publish/creator_info/query/', {}, 'creator_info');
    if (!Array.isArray(d.privacy_level_options)) throw malformed(PROVIDER, 'creator_info', false);
    return {
      privacyLevels: d.privacy_level_options.filter((x): x is string => typeof x === 'string'),
      commentDisabled: d.comment_disabled === true, duetDisabled: d.duet_disabled === true, stitchDisabled: d.stitch_disabled === true,
      ...(typeof d.max_video_post_duration_sec === 'number' && d.max_video_post_duration_sec > 0 ? { maxVideoSeconds: d.max_video_post_duration_sec } : {}),
    };
  };

  /** Where a publish is (POST /v2/post/publish/status/fetch/). */
  const status = async (token: string, publishId: string): Promise<PublishStatus> => {
    const res = await api.call({
      method: 'POST', url: `${api.base}/v2/post/publish/status/fetch/`, operation: 'publish_status', retryUnsent: true,
      headers: { authorization: `Bearer ${token}`, accept: 'application/json', 'content-type': 'application/json; charset=UTF-8' }, body: JSON.stringify({ publish_id: publishId }),
    });
    const b = api.read<{ data?: Record<string, unknown>; error?: { code?: unknown } }>(res, 'publish_status');
    if (b.error && typeof b.error.code === 'string' && b.error.code !== 'ok') throw api.fail('publish_status', res);
    const d = b.data;
    if (!d || typeof d.status !== 'string') throw malformed(PROVIDER, 'publish_status', false, res.status);
    // int64 ids lose digits as JSON numbers: the first id is taken from the text itself.
    const id = /"publicaly_available_post_id"\s*:\s*\[\s*"?(\d{1,30})/.exec(res.text)?.[1];
    return {
      status: d.status, ...(typeof d.fail_reason === 'string' && d.fail_reason ? { failReason: d.fail_reason } : {}), ...(id ? { postId: id } : {}),
      ...(typeof d.uploaded_bytes === 'number' ? { uploadedBytes: d.uploaded_bytes } : {}),
    };
  };

  const failed = (s: PublishStatus) => refuse(`TikTok could not publish the post (${s.failReason ?? 'FAILED'}); check the media meets TikTok's rules`, 'publish_failed');

  /** Reads the status until the publish is done; FAILED is refused; past the deadline the next try asks again. */
  const waitFor = async (token: string, publishId: string): Promise<PublishStatus> => {
    let last: PublishStatus | undefined;
    const ok = await pollUntilReady(poll, async () => {
      last = await status(token, publishId);
      if (last.status === 'FAILED') throw failed(last);
      return DONE.includes(last.status);
    });
    if (!ok || !last) throw new ProviderError('transient', `TikTok: the post (publish ${publishId}) was still being processed (${last?.status ?? 'unknown'}) after ${Math.round(poll.deadlineMs / 60_000)} minutes; the next try asks again, without posting twice`, { provider: PROVIDER, reason: 'still_processing' });
    return last;
  };

  const result = (account: AccountRef, kind: SentTikTok['kind'], publishId: string, s: PublishStatus): PublishedPost =>
    s.postId ? { remoteId: s.postId, url: postUrl(account.username, kind, s.postId) } : { remoteId: publishId };

  /** Sends the video's bytes to upload_url in order, a chunk a request; the last one may complete the post. */
  const upload = async (uploadUrl: string, video: MediaItem, bytes: Buffer) => {
    let url: URL;
    try { url = new URL(uploadUrl); } catch { throw malformed(PROVIDER, 'video_init', true); }
    // The bytes go to TikTok's upload host over HTTPS (or, in tests, next to the API itself), nowhere else.
    if (url.protocol !== 'https:' && url.origin !== new URL(api.base).origin) throw malformed(PROVIDER, 'video_init', true);
    const { chunkSize, count } = chunking(bytes.length);
    for (let i = 0; i < count; i++) {
      const from = i * chunkSize;
      const to = i === count - 1 ? bytes.length : from + chunkSize;
      const last = i === count - 1;
      const res = await api.send({
        method: 'PUT', url: url.toString(), operation: 'video_upload', media: true, noRetry: true,
        headers: { 'content-type': video.mimeType, 'content-range': `bytes ${from}-${to - 1}/${bytes.length}` }, body: bytes.subarray(from, to),
      }, last);
      if (res.status !== 201 && res.status !== 206 && !(res.status >= 200 && res.status < 300)) throw api.fail('video_upload', res, last);
    }
  };

  /** The creator's settings checked against the options: what TikTok would refuse, in words, before anything is sent. */
  const checkCreator = (c: CreatorInfo, o: TikTokOptions, video: MediaItem | undefined) => {
    if (!audited && o.privacyLevel !== 'SELF_ONLY') {
      throw refuse('this AllIN\'s TikTok app has not passed TikTok\'s audit, so TikTok lets it post only as SELF_ONLY (private), to private accounts; choose privacyLevel SELF_ONLY, or ask the operator to set TIKTOK_AUDITED=on once the audit is passed', 'unaudited_client');
    }
    if (!c.privacyLevels.includes(o.privacyLevel!)) throw refuse(`this creator's account offers the privacy levels ${c.privacyLevels.join(', ') || 'none'}; ${o.privacyLevel} is not one of them`, 'privacy_level_not_offered');
    if (video?.durationSeconds != null && c.maxVideoSeconds !== undefined && video.durationSeconds > c.maxVideoSeconds) {
      throw refuse(`this creator may post videos of at most ${c.maxVideoSeconds} seconds; this one lasts ${Math.round(video.durationSeconds)}`, 'video_too_long');
    }
  };

  return {
    status,

    async publish(account: AccountRef, post: PublishRequest): Promise<PublishedPost> {
      if (post.replyTo) throw refuse('a TikTok post has no threads or first comment through the API; remove them', 'no_threads');
      const problems = [...tiktokOptionProblems(post.options), ...tiktokCaptionProblems(post.text), ...tiktokMediaProblems(post.media, post.options)];
      if (problems.length > 0) throw refuse(problems.join('; '), 'bad_option');
      const o = readTikTokOptions(post.options);
      const token = account.tokens.accessToken;
      const video = post.media.find((m) => m.mimeType.startsWith('video/'));
      const photos = post.media.filter((m) => m.mimeType.startsWith('image/'));
      const kind: SentTikTok['kind'] = video ? 'video' : 'photo';

      // A publish an earlier try of this marker started is finished, not made again.
      const earlier = await sent.get(account.externalId, post.marker);
      if (earlier?.publishId) {
        const s = await status(token, earlier.publishId);
        if (DONE.includes(s.status)) return result(account, earlier.kind, earlier.publishId, s);
        // FAILED, or an upload that never got all its bytes (that publish can never complete): start over.
        const stalled = s.status === 'FAILED' || (earlier.kind === 'video' && s.status === 'PROCESSING_UPLOAD' && (s.uploadedBytes ?? 0) < (earlier.videoBytes ?? 0));
        if (!stalled) return result(account, earlier.kind, earlier.publishId, await waitFor(token, earlier.publishId));
      }

      const c = o.mode === 'direct' ? await creatorInfo(token) : undefined;
      if (c) checkCreator(c, o, video);
      // TikTok downloads photos itself: each needs an address it can reach.
      const urls = photos.map((m) => m.publicUrl);
      if (kind === 'photo' && urls.some((u) => !u || !/^https:\/\//.test(u))) {
        throw refuse('TikTok fetches photos itself from public HTTPS addresses on a domain verified for the app; this AllIN gives its media no public address (set PUBLIC_URL to an HTTPS address TikTok can reach)', 'media_without_public_url');
      }
      const record: SentTikTok = { kind, mode: o.mode, caption: post.text, ...(o.title ? { title: o.title } : {}), ...(o.privacyLevel ? { privacy: o.privacyLevel } : {}), ...(video ? { videoBytes: video.bytes } : {}) };
      await sent.record(account.externalId, post.marker, record);

      const interactions = {
        // A setting the creator turned off in TikTok stays off (creator_info's *_disabled).
        disable_comment: o.disableComment || c?.commentDisabled === true,
        brand_content_toggle: o.brandContent, brand_organic_toggle: o.brandOrganic,
      };
      let publishId: string;
      let bytes: Buffer | undefined;
      let uploadUrl: string | undefined;
      if (video) {
        bytes = await video.read();
        const { chunkSize, count } = chunking(bytes.length);
        const source_info = { source: 'FILE_UPLOAD', video_size: bytes.length, chunk_size: chunkSize, total_chunk_count: count };
        const d = o.mode === 'inbox'
          ? await api.post<{ publish_id?: unknown; upload_url?: unknown }>(token, '/post/publish/inbox/video/init/', { source_info }, 'video_init', true)
          : await api.post<{ publish_id?: unknown; upload_url?: unknown }>(token, '/post/publish/video/init/', {
            post_info: { title: post.text, privacy_level: o.privacyLevel, ...interactions, disable_duet: o.disableDuet || c?.duetDisabled === true, disable_stitch: o.disableStitch || c?.stitchDisabled === true },
            source_info,
          }, 'video_init', true);
        if (typeof d.publish_id !== 'string' || typeof d.upload_url !== 'string') throw malformed(PROVIDER, 'video_init', true);
        publishId = d.publish_id;
        uploadUrl = d.upload_url;
      } else {
        const d = await api.post<{ publish_id?: unknown }>(token, '/post/publish/content/init/', {
          post_info: {
            ...(o.title ? { title: o.title } : {}), description: post.text,
            ...(o.mode === 'direct' ? { privacy_level: o.privacyLevel, ...interactions, auto_add_music: o.autoAddMusic } : {}),
          },
          source_info: { source: 'PULL_FROM_URL', photo_cover_index: o.photoCoverIndex, photo_images: urls },
          post_mode: o.mode === 'direct' ? 'DIRECT_POST' : 'MEDIA_UPLOAD', media_type: 'PHOTO',
        }, 'photo_init', true);
        if (typeof d.publish_id !== 'string') throw malformed(PROVIDER, 'photo_init', true);
        publishId = d.publish_id;
      }
      await sent.record(account.externalId, post.marker, { ...record, publishId });
      if (video && bytes && uploadUrl) await upload(uploadUrl, video, bytes);
      return result(account, kind, publishId, await waitFor(token, publishId));
    },

    async metrics(account: AccountRef, remoteId: string): Promise<PostMetrics> {
      const token = account.tokens.accessToken;
      let id = remoteId;
      if (!VIDEO_ID.test(remoteId)) {
        // A post published as SELF_ONLY (or a draft) is known by its publish_id until TikTok gives a post id.
        const s = await status(token, remoteId);
        if (!s.postId) return postMetrics({});
        id = s.postId;
      }
      const d = await api.post<{ videos?: Record<string, unknown>[] }>(token, '/video/query/?fields=id,like_count,comment_count,share_count,view_count', { filters: { video_ids: [id] } }, 'metrics');
      const v = (d.videos ?? []).find((x) => String(x.id) === id);
      if (!v) throw new ProviderError('permanent', `TikTok: the post ${id} is not among the creator's videos (deleted, or not public)`, { provider: PROVIDER, status: 404, reason: 'not_found' });
      const n = (x: unknown) => (typeof x === 'number' && Number.isSafeInteger(x) && x >= 0 ? x : undefined);
      return postMetrics({ impressions: n(v.view_count), likes: n(v.like_count), replies: n(v.comment_count), reposts: n(v.share_count) });
    },

    async accountMetrics(account: AccountRef): Promise<AccountMetricsAnswer> {
      const u = await api.get<{ user?: Record<string, unknown> }>(account.tokens.accessToken, '/user/info/?fields=open_id,follower_count,following_count,video_count', 'account_metrics');
      const me = u.user ?? {};
      return { now: accountFigures({ followers: me.follower_count, following: me.following_count, posts: me.video_count }), days: [] };
    },
  };
}
