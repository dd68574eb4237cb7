// Uploading a video with YouTube's resumable upload protocol
// (https://developers.google.com/youtube/v3/guides/using_resumable_upload_protocol):
// 1. POST /upload/youtube/v3/videos?uploadType=resumable&part=snippet,status with the video resource as JSON and
//    X-Upload-Content-Length / X-Upload-Content-Type: the answer's Location header is the session URI;
// 2. PUT the bytes to the session URI, in chunks (Content-Range: bytes first-last/total; chunk sizes a multiple of
//    256 KiB but the last): 308 Resume Incomplete with a Range header (bytes=0-N) while more is expected, 200 or 201
//    with the video resource when the upload is complete;
// 3. after an interruption, ask where the upload is with an empty PUT and `Content-Range: bytes */total`: 308 with the
//    Range received so far (none: nothing), or 200/201 with the video when it was complete; then carry on from there.
//    A 404 means the session is gone (expired) and the upload must start again.
// The session URI is the upload's idempotency: the video exists only once the session has all the bytes, and the
// session says so when asked. It is written in the send journal, so a restarted AllIN asks the same session.
// Thumbnails: POST /upload/youtube/v3/thumbnails/set?videoId=… with the image (https://developers.google.com/youtube/v3/docs/thumbnails/set).
import { ProviderError, type MediaItem } from '../types.ts';
import type { YouTubeApi } from './api.ts';
import { PROVIDER } from './errors.ts';

/** 8 MiB: a multiple of 256 KiB, as every chunk but the last must be. */
export const CHUNK_BYTES = 32 * 256 * 1024;
/** Interruptions one upload is resumed after before it gives up (the publish is tried again later). */
const MAX_RESUMES = 5;

export interface UploadedVideo {
  id: string;
  snippet?: { title?: string; publishedAt?: string };
  status?: { privacyStatus?: string; uploadStatus?: string; publishAt?: string };
}

export type SessionState = { video: UploadedVideo } | { offset: number } | { gone: true };

/** The next byte a session expects, from its Range header (bytes=0-N); none: nothing was received. */
export function nextOffset(range: string | undefined): number {
  const m = range ? /bytes=0-(\d+)/.exec(range) : null;
  return m ? Number(m[1]) + 1 : 0;
}

export function youtubeUpload(api: YouTubeApi) {
  const uploads = `${api.base}/upload/youtube/v3`;
  const auth = (token: string) => ({ authorization: `Bearer ${token}` });

  const video = (body: unknown, operation: string): UploadedVideo => {
    const v = body as UploadedVideo | null;
    if (!v || typeof v.id !== 'string' || v.id === '') throw new ProviderError('unknown_outcome', `YouTube: ${operation} answered without the video's id`, { provider: PROVIDER, reason: 'malformed_response' });
    return v;
  };

  /** Where a session is: the video when complete, the next byte it expects, or gone. */
  const status = async (token: string, uri: string, total: number): Promise<SessionState> => {
    const res = await api.send({ method: 'PUT', url: uri, operation: 'upload_status', headers: { ...auth(token), 'content-range': `bytes */${total}` }, body: Buffer.alloc(0) });
    if (res.status === 200 || res.status === 201) return { video: video(api.read(res, 'upload_status', true), 'upload_status') };
    if (res.status === 308) return { offset: nextOffset(res.headers.range) };
    if (res.status === 404 || res.status === 410) return { gone: true };
    throw api.fail('upload_status', res);
  };

  return {
    status,

    /** Starts a session for the video resource; its URI. */
    async initiate(token: string, resource: object, media: MediaItem, notifySubscribers: boolean): Promise<string> {
      const q = new URLSearchParams({ uploadType: 'resumable', part: 'snippet,status', ...(notifySubscribers ? {} : { notifySubscribers: 'false' }) });
      const res = await api.call({
        method: 'POST', url: `${uploads}/videos?${q.toString()}`, operation: 'upload_start', retryUnsent: true,
        headers: { ...auth(token), 'content-type': 'application/json; charset=UTF-8', 'x-upload-content-length': String(media.bytes), 'x-upload-content-type': media.mimeType },
        body: JSON.stringify(resource),
      });
      const location = res.headers.location;
      let uri: URL | undefined;
      try { uri = location ? new URL(location, uploads) : undefined; } catch { /* not a URL */ }
      // The bytes go only where the upload API is: a session URI elsewhere is not followed.
      if (!uri || uri.origin !== new URL(uploads).origin || !uri.pathname.startsWith(new URL(uploads).pathname)) {
        throw new ProviderError('transient', 'YouTube: the upload session answered without a usable session URI', { provider: PROVIDER, status: res.status, reason: 'no_session_uri' });
      }
      return uri.toString();
    },

    /** Sends the bytes from `from` on, resuming after interruptions; the video once complete. */
    async send(token: string, uri: string, bytes: Buffer, mimeType: string, from: number): Promise<UploadedVideo> {
      const total = bytes.length;
      let offset = from;
      let resumes = 0;
      // Asks the session where it got to after a failure; `last`: the failed request carried the final byte.
      const resume = async (failure: ProviderError, last: boolean): Promise<UploadedVideo | null> => {
        if (resumes++ >= MAX_RESUMES || failure.kind === 'permanent' || failure.kind === 'auth_expired') throw failure;
        let s: SessionState;
        try {
          s = await status(token, uri, total);
        } catch (err) {
          // The final bytes may have completed the upload: only the session (or the uploads playlist) can tell.
          if (last && err instanceof ProviderError && err.kind !== 'unknown_outcome') throw new ProviderError('unknown_outcome', `YouTube: the upload's end went unanswered and its session could not be asked (${err.message})`, { provider: PROVIDER, reason: 'session_unreadable' });
          throw err;
        }
        if ('video' in s) return s.video;
        if ('gone' in s) {
          throw new ProviderError(last ? 'unknown_outcome' : 'transient', `YouTube: the upload session expired${last ? ' after the last bytes were sent; the video may exist' : ''}`, { provider: PROVIDER, reason: 'session_gone' });
        }
        offset = s.offset;
        return null;
      };
      for (;;) {
        const end = Math.min(total, offset + CHUNK_BYTES);
        const last = end === total;
        let res;
        try {
          res = await api.send({
            method: 'PUT', url: uri, operation: 'video_upload', media: true, noRetry: true,
            headers: { ...auth(token), 'content-type': mimeType, 'content-range': `bytes ${offset}-${end - 1}/${total}` },
            body: bytes.subarray(offset, end),
          }, last);
        } catch (err) {
          if (!(err instanceof ProviderError)) throw err;
          const done = await resume(err, last);
          if (done) return done;
          continue;
        }
        if (res.status === 200 || res.status === 201) return video(api.read(res, 'video_upload', true), 'video_upload');
        if (res.status === 308) {
          const next = nextOffset(res.headers.range);
          // A session that took nothing of a chunk twice running is not moving: leave it to a later try.
          if (next <= offset && resumes++ >= MAX_RESUMES) throw new ProviderError('transient', 'YouTube: the upload session stopped taking bytes', { provider: PROVIDER, reason: 'upload_stalled' });
          offset = next;
          continue;
        }
        if (res.status === 404 || res.status === 410) {
          throw new ProviderError(last ? 'unknown_outcome' : 'transient', 'YouTube: the upload session expired', { provider: PROVIDER, status: res.status, reason: 'session_gone' });
        }
        const failure = api.fail('video_upload', res, last);
        if (res.status < 500) throw failure;
        const done = await resume(failure, last);
        if (done) return done;
      }
    },

    /** Sets the video's custom thumbnail. */
    async thumbnail(token: string, videoId: string, image: MediaItem): Promise<void> {
      await api.call({
        method: 'POST', url: `${uploads}/thumbnails/set?videoId=${encodeURIComponent(videoId)}&uploadType=media`, operation: 'thumbnail_set', media: true, retryUnsent: true,
        headers: { ...auth(token), 'content-type': image.mimeType }, body: await image.read(),
      });
    },
  };
}
