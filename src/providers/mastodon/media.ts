// Media attachments (https://docs.joinmastodon.org/methods/media/#v2): POST /api/v2/media answers 200 when
// the file is processed and 202 while it is still processing; then GET /api/v1/media/{id} answers 206
// until it is done (200, with a url). A status may only attach processed media.
import { malformed } from '../errors.ts';
import { pollUntilReady } from '../poll.ts';
import { ProviderError, type AccountRef, type MediaItem } from '../types.ts';
import { PROVIDER, type MastodonApi } from './api.ts';

/** How long a video may take to process before AllIN gives up (nothing was posted: transient). */
const MEDIA_WAIT_MS = 5 * 60_000;

/** Uploads one item and waits until the instance has processed it; returns the attachment id. */
export async function uploadMedia(api: MastodonApi, account: AccountRef, host: string, m: MediaItem, i: number): Promise<string> {
  const form = new FormData();
  form.set('file', new Blob([await m.read()], { type: m.mimeType }), `media-${i}`);
  if (m.altText) form.set('description', m.altText);
  const res = await api.call({ method: 'POST', url: `${api.base(host)}/api/v2/media`, operation: 'media_upload', headers: api.bearer(account.tokens), body: form, media: true });
  const media = api.read<{ id?: unknown; url?: unknown }>(res, 'media_upload');
  if (typeof media.id !== 'string') throw malformed(PROVIDER, 'media_upload', false);
  if (res.status === 202 || media.url === null) await waitForMedia(api, account, host, media.id);
  return media.id;
}

async function waitForMedia(api: MastodonApi, account: AccountRef, host: string, id: string): Promise<void> {
  const done = await pollUntilReady({ firstDelayMs: 500, maxDelayMs: 5000, deadlineMs: MEDIA_WAIT_MS, waitFirst: true }, async () => {
    const res = await api.send({ method: 'GET', url: `${api.base(host)}/api/v1/media/${encodeURIComponent(id)}`, operation: 'media_status', headers: api.bearer(account.tokens) });
    if (res.status === 206) return false;
    if (res.status === 200) {
      const m = api.read<{ url?: unknown }>(res, 'media_status');
      return m.url !== null && m.url !== undefined;
    }
    throw api.fail('media_status', res);
  });
  if (!done) {
    throw new ProviderError('transient', `mastodon: media ${id} was still processing after ${MEDIA_WAIT_MS / 60_000} minutes`, { provider: PROVIDER, reason: 'media_processing' });
  }
}
