// Finding a TikTok post again after a try whose outcome is unknown. TikTok takes no idempotency key and a post has no
// field AllIN could hide a marker in; what identifies a publish is the publish_id, which only init's answer gives. The
// rule, in order:
// 1. The send journal holds what was sent under the marker (kind, mode, caption, privacy, the video's size) and, once
//    init answered, the publish_id. Nothing recorded: nothing was sent (absent).
// 2. A publish_id: its status (POST /v2/post/publish/status/fetch/) says. PUBLISH_COMPLETE or SEND_TO_USER_INBOX: found
//    (the post id when TikTok gives one, else the publish_id); FAILED: absent; a video upload that stopped before its
//    last byte: absent (TikTok publishes nothing without all of it); still processing: not yet known, asked again later.
// 3. No publish_id (init's answer was lost):
//    - a video: absent. It is sent as FILE_UPLOAD, so TikTok has none of its bytes until AllIN PUTs them to the
//      upload_url that only init's answer names: a lost init publishes nothing (it expires unused).
//    - photos (PULL_FROM_URL: TikTok fetches them itself, so the post may exist): the creator's videos are listed,
//      newest first (POST /v2/video/list/, 20 a page, 3 pages; https://developers.tiktok.com/doc/tiktok-api-v2-video-list)
//      for one created since two minutes before the first send whose description or title is the one sent. Found: it.
//      Not found: unknown, since the list holds public posts only (UNCONFIRMED whether photo posts are listed, and a post
//      in moderation or private or in the inbox is not), so absence cannot be proved; the team is told to look.
import type { SentPosts } from '../sent-posts.ts';
import { ProviderError, type AccountRef, type PublishedPost } from '../types.ts';
import { PROVIDER, type TikTokApi } from './api.ts';

export interface SentTikTok {
  kind: 'video' | 'photo';
  mode: 'direct' | 'inbox';
  caption: string;
  title?: string;
  privacy?: string;
  videoBytes?: number;
  publishId?: string;
}

/** What status/fetch says of a publish (read by posts.ts). */
export interface PublishStatus {
  status: string;
  failReason?: string;
  postId?: string;
  uploadedBytes?: number;
}

const SKEW_MS = 2 * 60_000;
const PAGES = 3;

export const postUrl = (username: string, kind: SentTikTok['kind'], id: string) => `https://www.tiktok.com/@${encodeURIComponent(username)}/${kind === 'photo' ? 'photo' : 'video'}/${id}`;

interface Listed { id?: unknown; title?: unknown; video_description?: unknown; create_time?: unknown }

export async function findByMarker(api: TikTokApi, status: (token: string, publishId: string) => Promise<PublishStatus>, sent: SentPosts<SentTikTok>, account: AccountRef, marker: string, since: Date): Promise<PublishedPost | null> {
  const rec = await sent.get(account.externalId, marker);
  if (!rec) return null;
  const token = account.tokens.accessToken;
  if (rec.publishId) {
    const s = await status(token, rec.publishId);
    if (s.status === 'PUBLISH_COMPLETE' || s.status === 'SEND_TO_USER_INBOX') {
      return s.postId ? { remoteId: s.postId, url: postUrl(account.username, rec.kind, s.postId) } : { remoteId: rec.publishId };
    }
    if (s.status === 'FAILED') return null;
    if (rec.kind === 'video' && s.status === 'PROCESSING_UPLOAD' && (s.uploadedBytes ?? 0) < (rec.videoBytes ?? 0)) return null;
    throw new ProviderError('transient', `TikTok: the post (publish ${rec.publishId}) is still being processed (${s.status}); asked again later`, { provider: PROVIDER, reason: 'still_processing' });
  }
  if (rec.kind === 'video') return null;
  const unknown = (why: string) => new ProviderError('permanent', `TikTok: init's answer was lost and ${why}; look at the TikTok account before trying again`, { provider: PROVIDER, reason: 'cannot_reconcile' });
  if (rec.mode === 'inbox') throw unknown('drafts in the creator\'s inbox cannot be listed');
  const from = Math.min(since.getTime(), rec.firstSentAt) - SKEW_MS;
  let cursor: number | undefined;
  for (let i = 0; i < PAGES; i++) {
    const d = await api.post<{ videos?: Listed[]; cursor?: unknown; has_more?: unknown }>(token, '/video/list/?fields=id,title,video_description,create_time', { max_count: 20, ...(cursor !== undefined ? { cursor } : {}) }, 'find_post');
    const videos = d.videos ?? [];
    for (const v of videos) {
      const at = typeof v.create_time === 'number' ? v.create_time * 1000 : NaN;
      const same = v.video_description === rec.caption || (rec.title !== undefined && v.title === rec.title) || (!rec.title && v.title === rec.caption);
      if ((typeof v.id === 'string' || typeof v.id === 'number') && Number.isFinite(at) && at >= from && same) {
        const id = String(v.id);
        return { remoteId: id, url: postUrl(account.username, rec.kind, id) };
      }
    }
    const oldest = videos.at(-1)?.create_time;
    if (d.has_more !== true || typeof d.cursor !== 'number' || videos.length === 0 || (typeof oldest === 'number' && oldest * 1000 < from)) break;
    cursor = d.cursor;
  }
  throw unknown('no public post with what was sent is listed (private posts and posts still in moderation are not)');
}
