// Finding a video again after an upload whose outcome is unknown (the last bytes went out and no answer came back).
// The rule, in order:
// 1. The send journal holds what was sent under the marker: the title and, once the session was started, its URI and
//    the file's size. Nothing recorded: nothing was sent, the video is not there.
// 2. With a session URI, the session is asked (empty PUT, `Content-Range: bytes */size`,
//    https://developers.google.com/youtube/v3/guides/using_resumable_upload_protocol#Check_Upload_Status): 200/201
//    answer the video (found); 308 says bytes are missing, so no video exists and publishing again resumes the same
//    session (absent); 404 says the session is gone (expired), and step 3 decides.
// 3. Without a session that answers, the channel's uploads playlist (channels.list contentDetails.relatedPlaylists.uploads,
//    then playlistItems.list, https://developers.google.com/youtube/v3/docs/playlistItems/list) is read, newest first
//    (UNCONFIRMED that the uploads playlist is in that order), for a video with exactly the recorded title added since two
//    minutes before the first send. AllIN writes no marker into the description (viewers would see it), so the title and
//    the time are the match. Past 3 pages of 50 without reaching older items, the outcome stays unknown.
import type { SentPosts } from '../sent-posts.ts';
import { ProviderError, type AccountRef, type PublishedPost } from '../types.ts';
import type { YouTubeApi } from './api.ts';
import { PROVIDER } from './errors.ts';
import type { youtubeUpload } from './upload.ts';

export interface SentVideo {
  title: string;
  /** The resumable session's URI, once it was started. */
  session?: string;
  /** The file's size in bytes (what the session expects). */
  total?: number;
  short?: boolean;
}

const SKEW_MS = 2 * 60_000;
const PAGES = 3;

export const videoUrl = (id: string, short?: boolean) => (short ? `https://www.youtube.com/shorts/${id}` : `https://www.youtube.com/watch?v=${id}`);

/** The channel's uploads playlist: kept from the connection, else read. */
export async function uploadsPlaylist(api: YouTubeApi, account: AccountRef): Promise<string> {
  if (typeof account.data.uploads === 'string' && account.data.uploads !== '') return account.data.uploads;
  const { body } = await api.get<{ items?: { contentDetails?: { relatedPlaylists?: { uploads?: string } } }[] }>(account.tokens.accessToken, `/channels?part=contentDetails&id=${encodeURIComponent(account.externalId)}`, 'channel');
  const id = body.items?.[0]?.contentDetails?.relatedPlaylists?.uploads;
  if (!id) throw new ProviderError('permanent', 'YouTube: the channel has no uploads playlist', { provider: PROVIDER, reason: 'playlistNotFound' });
  return id;
}

/** A video with the title added to the uploads playlist since `from` (ms); null when the playlist was read past `from`. */
export async function searchUploads(api: YouTubeApi, account: AccountRef, title: string, from: number, short?: boolean): Promise<PublishedPost | null> {
  const playlist = await uploadsPlaylist(api, account);
  let page = '';
  for (let i = 0; i < PAGES; i++) {
    const { body } = await api.get<{ nextPageToken?: string; items?: { snippet?: { title?: string; publishedAt?: string; resourceId?: { videoId?: string } } }[] }>(account.tokens.accessToken,
      `/playlistItems?part=snippet&maxResults=50&playlistId=${encodeURIComponent(playlist)}${page ? `&pageToken=${encodeURIComponent(page)}` : ''}`, 'find_video');
    const items = body.items ?? [];
    for (const it of items) {
      const at = Date.parse(it.snippet?.publishedAt ?? '');
      const id = it.snippet?.resourceId?.videoId;
      if (id && it.snippet?.title === title && Number.isFinite(at) && at >= from) return { remoteId: id, url: videoUrl(id, short) };
    }
    const oldest = Date.parse(items.at(-1)?.snippet?.publishedAt ?? '');
    if (!body.nextPageToken || items.length === 0 || (Number.isFinite(oldest) && oldest < from)) return null;
    page = body.nextPageToken;
  }
  throw new ProviderError('unknown_outcome', `YouTube: the channel added more than ${PAGES * 50} videos since the upload; the outcome cannot be established`, { provider: PROVIDER, reason: 'cannot_reconcile' });
}

export async function findByMarker(api: YouTubeApi, upload: ReturnType<typeof youtubeUpload>, sent: SentPosts<SentVideo>, account: AccountRef, marker: string, since: Date): Promise<PublishedPost | null> {
  const rec = await sent.get(account.externalId, marker);
  if (!rec) return null;
  if (rec.session && rec.total !== undefined) {
    const s = await upload.status(account.tokens.accessToken, rec.session, rec.total);
    if ('video' in s) return { remoteId: s.video.id, url: videoUrl(s.video.id, rec.short) };
    // Bytes are missing: no video exists, and publishing again resumes this session.
    if ('offset' in s) return null;
  }
  return searchUploads(api, account, rec.title, Math.min(since.getTime(), rec.firstSentAt) - SKEW_MS, rec.short);
}
