// Images, GIFs and videos for a post, uploaded before the post that shows them
// (https://docs.x.com/x-api/media/introduction): an image in one multipart request; a GIF or a video in
// chunks (initialize, append 1 MB segments, finalize:
// https://docs.x.com/x-api/media/quickstart/media-upload-chunked), then the STATUS read again, after the wait
// X names in check_after_secs, until processing succeeded or failed; alt text is set last.
// What the wait relies on: finalize answers processing_info only when X still has to process the media (no
// processing_info: ready), its state goes pending → in_progress → failed | succeeded, check_after_secs says
// when to read STATUS next, and a failed state carries error.message
// (https://developer.x.com/en/docs/media/upload-media/api-reference/post-media-upload-finalize,
// https://developer.x.com/en/docs/media/upload-media/api-reference/get-media-upload-status).
import { malformed } from '../errors.ts';
import { pollUntilReady } from '../poll.ts';
import { ProviderError, type MediaItem, type TokenSet } from '../types.ts';
import { PROVIDER, type XApi } from './api.ts';

const MB = 1024 * 1024;
/** 1 MB chunks are what the quickstart uses and proven in production; segment_index allows 0-999. */
const CHUNK_BYTES = 1 * MB;
/** Longest wait for X to process a video before giving up (nothing was posted yet, so transient). */
const PROCESSING_DEADLINE_MS = 10 * 60_000;

type ProcessingInfo = { state?: string; check_after_secs?: number; progress_percent?: number; error?: { message?: string; name?: string } };

interface XMediaAnswer {
  data?: { id?: string; processing_info?: ProcessingInfo };
}

export function mediaCategory(m: MediaItem): 'tweet_image' | 'tweet_gif' | 'tweet_video' {
  if (m.mimeType === 'image/gif') return 'tweet_gif';
  return m.mimeType.startsWith('video/') ? 'tweet_video' : 'tweet_image';
}

/** Uploads one item and waits until X has processed it; returns the media id. */
export async function uploadMedia(api: XApi, tokens: TokenSet, m: MediaItem): Promise<string> {
  const bytes = await m.read();
  const category = mediaCategory(m);
  const headers = api.bearer(tokens);
  let id: string;
  let processing: ProcessingInfo | undefined;
  if (category === 'tweet_image') {
    // Images: one multipart request.
    const form = new FormData();
    form.set('media_category', category);
    form.set('media', new Blob([bytes], { type: m.mimeType }), 'media');
    const res = await api.call({ method: 'POST', url: `${api.base}/2/media/upload`, operation: 'media_upload', headers, body: form, retryUnsent: true, media: true });
    const d = api.read<XMediaAnswer>(res, 'media_upload').data;
    if (!d?.id) throw malformed(PROVIDER, 'media_upload', false);
    id = d.id;
    processing = d.processing_info;
  } else {
    // Video and GIF: initialize, append 1 MB segments, finalize, then poll STATUS while processing.
    const init = await api.call({
      method: 'POST', url: `${api.base}/2/media/upload/initialize`, operation: 'media_initialize', headers,
      body: { media_type: m.mimeType, total_bytes: bytes.length, media_category: category }, retryUnsent: true,
    });
    const initId = api.read<XMediaAnswer>(init, 'media_initialize').data?.id;
    if (!initId) throw malformed(PROVIDER, 'media_initialize', false);
    id = initId;
    for (let offset = 0, segment = 0; offset < bytes.length; offset += CHUNK_BYTES, segment++) {
      const form = new FormData();
      form.set('segment_index', String(segment));
      form.set('media', new Blob([bytes.subarray(offset, offset + CHUNK_BYTES)], { type: 'application/octet-stream' }), 'media');
      await api.call({ method: 'POST', url: `${api.base}/2/media/upload/${encodeURIComponent(id)}/append`, operation: 'media_append', headers, body: form, retryUnsent: true, media: true });
    }
    const fin = await api.call({ method: 'POST', url: `${api.base}/2/media/upload/${encodeURIComponent(id)}/finalize`, operation: 'media_finalize', headers, retryUnsent: true });
    processing = api.read<XMediaAnswer>(fin, 'media_finalize').data?.processing_info;
  }
  if (processing) await waitProcessed(api, tokens, id, processing);
  if (m.altText) {
    await api.call({
      method: 'POST', url: `${api.base}/2/media/metadata`, operation: 'media_metadata', headers,
      body: { id, metadata: { alt_text: { text: m.altText } } }, retryUnsent: true,
    });
  }
  return id;
}

/**
 * Reads STATUS until processing succeeded (failed: permanent, with X's reason), each time after the wait X
 * names in check_after_secs (at least a second; one second when X names none), through poll.ts, which gives
 * up before a wait that would end past PROCESSING_DEADLINE_MS (then transient: nothing was posted).
 */
async function waitProcessed(api: XApi, tokens: TokenSet, id: string, info: ProcessingInfo): Promise<void> {
  // The first answer is finalize's, already in hand; every later one is a STATUS read.
  let current: ProcessingInfo | undefined = info;
  let first = true;
  const done = await pollUntilReady({ firstDelayMs: 1000, maxDelayMs: 1000, deadlineMs: PROCESSING_DEADLINE_MS }, async () => {
    if (!first) {
      const res = await api.call({
        method: 'GET', url: `${api.base}/2/media/upload?command=STATUS&media_id=${encodeURIComponent(id)}`, operation: 'media_status', headers: api.bearer(tokens),
      });
      current = api.read<XMediaAnswer>(res, 'media_status').data?.processing_info;
    }
    first = false;
    // STATUS without processing_info means there is nothing left to wait for.
    if (!current || current.state === 'succeeded') return true;
    if (current.state === 'failed') {
      const why = current.error?.message ?? current.error?.name ?? 'processing failed';
      throw new ProviderError('permanent', `x: X could not process the media (${why})`, { provider: PROVIDER, reason: `media_processing_failed: ${why}` });
    }
    return { waitMs: Math.max(1, current.check_after_secs ?? 1) * 1000 };
  });
  if (!done) throw new ProviderError('transient', 'x: the media was still processing when AllIN stopped waiting', { provider: PROVIDER, reason: 'media_processing_timeout' });
}
