// Publishing to YouTube: one video per post, uploaded with the resumable protocol (upload.ts) as a video resource with
// snippet (title, description = the post's text, tags, categoryId) and status (privacyStatus, publishAt,
// selfDeclaredMadeForKids) (https://developers.google.com/youtube/v3/docs/videos/insert); an image attached with it
// becomes its custom thumbnail (thumbnails.set). A Short is a video YouTube itself classes as one (at most three
// minutes, square or vertical); the `short` option only has AllIN check that it fits.
// Figures: videos.list part=statistics (viewCount as impressions, likeCount, commentCount:
// https://developers.google.com/youtube/v3/docs/videos/list). Account figures: channels.list part=statistics
// (subscriberCount, absent when the channel hides it; videoCount: https://developers.google.com/youtube/v3/docs/channels).
import { accountFigures } from '../account-metrics.ts';
import { postMetrics } from '../post-metrics.ts';
import type { SentPosts } from '../sent-posts.ts';
import { ProviderError, type AccountMetricsAnswer, type AccountRef, type MediaItem, type PostMetrics, type PublishRequest, type PublishedPost } from '../types.ts';
import type { YouTubeApi } from './api.ts';
import { PROVIDER } from './errors.ts';
import { readYouTubeOptions, youtubeDescriptionProblems, youtubeOptionProblems, youtubeShortProblems } from './options.ts';
import { videoUrl, type SentVideo } from './reconcile.ts';
import type { youtubeUpload } from './upload.ts';

/** What videos.insert takes: any video/* (https://developers.google.com/youtube/v3/docs/videos/insert); these are the ones AllIN's media library holds. */
export const VIDEO_TYPES = ['video/mp4', 'video/quicktime', 'video/webm'];
/** 256 GB (videos.insert, "Maximum file size"). */
export const MAX_VIDEO_BYTES = 256 * 1024 ** 3;
/** 12 hours (https://support.google.com/youtube/answer/71673: 256 GB or 12 hours, whichever is less). */
export const MAX_VIDEO_SECONDS = 12 * 3600;
/** thumbnails.set: image/jpeg or image/png, at most 2 MB. */
export const THUMBNAIL_TYPES = ['image/jpeg', 'image/png'];
export const MAX_THUMBNAIL_BYTES = 2 * 1024 * 1024;

const refuse = (why: string, reason = 'refused_before_sending') => new ProviderError('permanent', `YouTube: ${why}`, { provider: PROVIDER, reason });
const VIDEO_ID = /^[A-Za-z0-9_-]{6,20}$/;

/** The post's media as one video and an optional thumbnail; what does not fit, in words. */
export function youtubeMediaProblems(media: { mimeType: string; bytes: number; durationSeconds?: number | null }[]): string[] {
  const videos = media.filter((m) => m.mimeType.startsWith('video/'));
  const images = media.filter((m) => m.mimeType.startsWith('image/'));
  const out: string[] = [];
  if (videos.length !== 1) out.push(`a YouTube post is one video (with, if you like, one image as its thumbnail); this has ${videos.length} videos`);
  if (images.length > 1) out.push('one image at most: it becomes the video\'s thumbnail');
  for (const v of videos) {
    if (!VIDEO_TYPES.includes(v.mimeType)) out.push(`YouTube takes ${VIDEO_TYPES.join(', ')} here; not ${v.mimeType}`);
    if (v.bytes > MAX_VIDEO_BYTES) out.push('a video weighs at most 256 GB');
    if (v.durationSeconds != null && v.durationSeconds > MAX_VIDEO_SECONDS) out.push('a video lasts at most 12 hours');
  }
  for (const i of images) {
    if (!THUMBNAIL_TYPES.includes(i.mimeType)) out.push(`a thumbnail is a JPEG or PNG; not ${i.mimeType}`);
    else if (i.bytes > MAX_THUMBNAIL_BYTES) out.push('a thumbnail weighs at most 2 MB');
  }
  return out;
}

export function youtubePosts(api: YouTubeApi, upload: ReturnType<typeof youtubeUpload>, sent: SentPosts<SentVideo>, audited: boolean) {
  return {
    async publish(account: AccountRef, post: PublishRequest): Promise<PublishedPost> {
      if (post.replyTo) throw refuse('AllIN publishes no comments or threads on YouTube; remove the thread parts and the first comment', 'no_threads');
      const problems = [...youtubeOptionProblems(post.options), ...youtubeDescriptionProblems(post.text), ...youtubeMediaProblems(post.media)];
      const video = post.media.find((m) => m.mimeType.startsWith('video/')) as MediaItem | undefined;
      const o = readYouTubeOptions(post.options);
      if (video && o.short) problems.push(...youtubeShortProblems(video));
      if (problems.length > 0 || !video) throw refuse(problems.join('; '), 'bad_option');
      // Videos uploaded by an API project that has not passed YouTube's audit are locked private: refused here, before
      // the quota is spent, rather than published where no one can see them.
      if (!audited && o.privacy !== 'private') {
        throw refuse(`this AllIN's Google project has not passed YouTube's API audit, so YouTube locks every video it uploads as private; choose privacy "private", or ask the operator to set YOUTUBE_API_AUDITED=on once the audit is passed`, 'unaudited_project');
      }
      const thumbnail = post.media.find((m) => m.mimeType.startsWith('image/'));
      const token = account.tokens.accessToken;
      const bytes = await video.read();
      const done = (v: { id: string }) => ({ remoteId: v.id, url: videoUrl(v.id, o.short) });

      // A session this marker already started (an earlier try): complete, or resumed where it stopped.
      const earlier = await sent.get(account.externalId, post.marker);
      if (earlier?.session && earlier.total === bytes.length) {
        const s = await upload.status(token, earlier.session, bytes.length);
        if ('video' in s) return done(s.video);
        if ('offset' in s) {
          const v = await upload.send(token, earlier.session, bytes, video.mimeType, s.offset);
          if (thumbnail) await upload.thumbnail(token, v.id, thumbnail);
          return done(v);
        }
      }

      const resource = {
        snippet: { title: o.title, description: post.text, categoryId: o.categoryId, ...(o.tags ? { tags: o.tags } : {}) },
        status: { privacyStatus: o.privacy, ...(o.publishAt ? { publishAt: o.publishAt } : {}), ...(o.madeForKids !== undefined ? { selfDeclaredMadeForKids: o.madeForKids } : {}) },
      };
      const record: SentVideo = { title: o.title, ...(o.short ? { short: true } : {}) };
      // Written down before the session starts, and again with its URI: the evidence reconcile.ts reads.
      await sent.record(account.externalId, post.marker, record);
      const session = await upload.initiate(token, resource, { ...video, bytes: bytes.length }, o.notifySubscribers !== false);
      await sent.record(account.externalId, post.marker, { ...record, session, total: bytes.length });
      const v = await upload.send(token, session, bytes, video.mimeType, 0);
      // The video exists from here on: a refused thumbnail (YouTube takes custom thumbnails only from verified channels)
      // does not undo it, so the refusal is not the post's. UNCONFIRMED how YouTube answers an unverified channel.
      if (thumbnail) {
        try {
          await upload.thumbnail(token, v.id, thumbnail);
        } catch (err) {
          if (!(err instanceof ProviderError) || err.kind !== 'permanent') throw new ProviderError('unknown_outcome', `YouTube: the video was uploaded (${v.id}) but its thumbnail could not be set (${(err as Error).message})`, { provider: PROVIDER, reason: 'thumbnail_failed' });
        }
      }
      return done(v);
    },

    async metrics(account: AccountRef, remoteId: string): Promise<PostMetrics> {
      if (!VIDEO_ID.test(remoteId)) throw refuse(`"${remoteId.slice(0, 40)}" is not a YouTube video id`, 'bad_remote_id');
      const { body } = await api.get<{ items?: { statistics?: Record<string, unknown> }[] }>(account.tokens.accessToken, `/videos?part=statistics&id=${remoteId}`, 'metrics');
      const s = body.items?.[0]?.statistics;
      if (!s) throw refuse('the video is gone', 'not_found');
      return postMetrics({ impressions: count(s.viewCount), likes: count(s.likeCount), replies: count(s.commentCount) });
    },

    async accountMetrics(account: AccountRef): Promise<AccountMetricsAnswer> {
      const { body } = await api.get<{ items?: { statistics?: Record<string, unknown> }[] }>(account.tokens.accessToken, `/channels?part=statistics&id=${encodeURIComponent(account.externalId)}`, 'account_metrics');
      const s = body.items?.[0]?.statistics;
      if (!s) throw refuse('the channel is gone', 'not_found');
      return { now: accountFigures({ followers: s.hiddenSubscriberCount === true ? undefined : count(s.subscriberCount), posts: count(s.videoCount) }), days: [] };
    },
  };
}

/** YouTube gives counts as strings of digits (unsigned long in the reference). */
function count(v: unknown): number | undefined {
  if (typeof v === 'number') return v;
  return typeof v === 'string' && /^\d{1,15}$/.test(v) ? Number(v) : undefined;
}
