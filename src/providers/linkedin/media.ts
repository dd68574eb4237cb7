// Images and videos for a LinkedIn post, uploaded before the post that shows them
// (https://learn.microsoft.com/en-us/linkedin/marketing/community-management/shares/images-api,
// https://learn.microsoft.com/en-us/linkedin/marketing/community-management/shares/videos-api): initialise the
// upload, PUT the bytes (a video in the parts LinkedIn gives, each part's ETag kept in order), finalise a
// video, then read the asset until it is AVAILABLE, because attaching it earlier makes the post fail.
import { malformed } from '../errors.ts';
import { pollUntilReady } from '../poll.ts';
import { ProviderError, type MediaItem, type TokenSet } from '../types.ts';
import { PROVIDER, type LinkedInApi } from './api.ts';

const IMAGE_DEADLINE_MS = 60_000;
const VIDEO_DEADLINE_MS = 15 * 60_000;

/** Uploads one item for `owner` (the author URN); returns its image or video URN. */
export function uploadMedia(api: LinkedInApi, tokens: TokenSet, owner: string, m: MediaItem): Promise<string> {
  return m.mimeType.startsWith('video/') ? uploadVideo(api, tokens, owner, m) : uploadImage(api, tokens, owner, m);
}

async function uploadImage(api: LinkedInApi, tokens: TokenSet, owner: string, m: MediaItem): Promise<string> {
  const init = await api.call({
    method: 'POST', url: `${api.base}/rest/images?action=initializeUpload`, operation: 'media_initialize', headers: api.rest(tokens),
    body: { initializeUploadRequest: { owner } }, retryUnsent: true,
  });
  const v = api.read<{ value?: { uploadUrl?: string; image?: string } }>(init, 'media_initialize').value;
  if (!v?.uploadUrl || !v.image) throw malformed(PROVIDER, 'media_initialize', false);
  // The whole file in one PUT: images are never chunked.
  await api.call({ method: 'PUT', url: v.uploadUrl, operation: 'media_upload', headers: api.uploadHeaders(tokens, v.uploadUrl), body: await m.read(), media: true });
  await waitAvailable(api, tokens, 'images', v.image, IMAGE_DEADLINE_MS);
  return v.image;
}

async function uploadVideo(api: LinkedInApi, tokens: TokenSet, owner: string, m: MediaItem): Promise<string> {
  const bytes = await m.read();
  const init = await api.call({
    method: 'POST', url: `${api.base}/rest/videos?action=initializeUpload`, operation: 'media_initialize', headers: api.rest(tokens),
    body: { initializeUploadRequest: { owner, fileSizeBytes: bytes.length, uploadCaptions: false, uploadThumbnail: false } }, retryUnsent: true,
  });
  const v = api.read<{ value?: { video?: string; uploadToken?: string; uploadInstructions?: { uploadUrl?: string; firstByte?: number; lastByte?: number }[] } }>(init, 'media_initialize').value;
  if (!v?.video || !Array.isArray(v.uploadInstructions) || v.uploadInstructions.length === 0) throw malformed(PROVIDER, 'media_initialize', false);
  // Each part is PUT as given (at most 4 MB); its ETag, in order, proves the part to finalizeUpload.
  const etags: string[] = [];
  for (const part of v.uploadInstructions) {
    if (!part.uploadUrl || typeof part.firstByte !== 'number' || typeof part.lastByte !== 'number') throw malformed(PROVIDER, 'media_initialize', false);
    const res = await api.call({
      method: 'PUT', url: part.uploadUrl, operation: 'media_upload', headers: api.uploadHeaders(tokens, part.uploadUrl),
      body: bytes.subarray(part.firstByte, part.lastByte + 1), media: true,
    });
    const etag = res.headers.etag?.replace(/^W\//, '').replace(/"/g, '');
    if (!etag) throw malformed(PROVIDER, 'media_upload', false);
    etags.push(etag);
  }
  await api.call({
    method: 'POST', url: `${api.base}/rest/videos?action=finalizeUpload`, operation: 'media_finalize', headers: api.rest(tokens),
    body: { finalizeUploadRequest: { video: v.video, uploadToken: v.uploadToken ?? '', uploadedPartIds: etags } }, retryUnsent: true,
  });
  await waitAvailable(api, tokens, 'videos', v.video, VIDEO_DEADLINE_MS);
  return v.video;
}

/** Reads an image or video until AVAILABLE; attaching earlier makes the post fail. */
async function waitAvailable(api: LinkedInApi, tokens: TokenSet, kind: 'images' | 'videos', urn: string, deadlineMs: number): Promise<void> {
  const available = await pollUntilReady({ firstDelayMs: 500, maxDelayMs: 5000, deadlineMs }, async () => {
    const res = await api.send({ method: 'GET', url: `${api.base}/rest/${kind}/${encodeURIComponent(urn)}`, operation: 'media_status', headers: api.rest(tokens) });
    // Member tokens have been reported unable to read images back (403). LinkedIn does not say which
    // behaviour is right (UNCONFIRMED): the upload itself succeeded, so carry on and let the post
    // creation say whether the media is ready.
    if (res.status === 403) return true;
    if (res.status < 200 || res.status >= 300) throw api.fail('media_status', res);
    const status = api.read<{ status?: string }>(res, 'media_status').status;
    if (status === 'PROCESSING_FAILED') {
      throw new ProviderError('permanent', `linkedin: LinkedIn could not process the ${kind === 'images' ? 'image' : 'video'}`, { provider: PROVIDER, reason: 'media_processing_failed' });
    }
    return status === 'AVAILABLE';
  });
  if (!available) throw new ProviderError('transient', 'linkedin: the media was still processing when AllIN stopped waiting', { provider: PROVIDER, reason: 'media_processing_timeout' });
}
