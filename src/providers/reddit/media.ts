// An image post's image, through Reddit's media asset upload. This flow is not in Reddit's API reference
// (https://www.reddit.com/dev/api); it is what Reddit's own clients and PRAW use (UNCONFIRMED, every step):
// POST /api/media/asset.json (form: filepath, mimetype) answers `{args: {action, fields: [{name, value}]}, asset:
// {asset_id, websocket_url}}`; the image is POSTed as multipart/form-data to `action` (a storage host, often given
// without a scheme: `//…`) with every field and then the file; the post is then submitted with kind=image and
// url=`<action>/<key field>`. The storage host is not Reddit's API: it gets no token and goes through the
// private-address guard. Images only (JPEG, PNG, GIF); 20 MB is what third-party tools state (UNCONFIRMED).
import { ProviderError, type MediaItem } from '../types.ts';
import type { RedditApi } from './api.ts';
import { PROVIDER } from './errors.ts';

export const MAX_IMAGE_BYTES = 20 * 1024 * 1024;
export const IMAGE_TYPES = ['image/jpeg', 'image/png', 'image/gif'];
const EXT: Record<string, string> = { 'image/jpeg': 'jpg', 'image/png': 'png', 'image/gif': 'gif' };

export function checkImage(media: MediaItem[]): void {
  const refuse = (why: string) => new ProviderError('permanent', `Reddit: ${why}`, { provider: PROVIDER, reason: 'media_refused' });
  if (media.length > 1) throw refuse(`an image post carries one image; this has ${media.length}`);
  const m = media[0];
  if (!m) return;
  if (!IMAGE_TYPES.includes(m.mimeType)) throw refuse(`Reddit image posts take ${IMAGE_TYPES.join(', ')}; this is ${m.mimeType} (video posts are not offered)`);
  if (m.bytes > MAX_IMAGE_BYTES) throw refuse(`the image is ${m.bytes} bytes; AllIN sends images of at most 20 MB to Reddit`);
}

/** Uploads the image; the URL to submit as an image post's url. */
export async function uploadImage(api: RedditApi, token: string, m: MediaItem): Promise<string> {
  const bytes = await m.read();
  const filepath = `image.${EXT[m.mimeType] ?? 'bin'}`;
  const lease = await api.form<{ args?: { action?: unknown; fields?: { name?: unknown; value?: unknown }[] } }>(token, '/api/media/asset.json', 'media_lease', { filepath, mimetype: m.mimeType });
  const action = typeof lease.args?.action === 'string' ? lease.args.action : undefined;
  const fields = Array.isArray(lease.args?.fields) ? lease.args.fields.filter((f): f is { name: string; value: string } => typeof f.name === 'string' && typeof f.value === 'string') : [];
  const key = fields.find((f) => f.name === 'key')?.value;
  if (!action || !key) throw new ProviderError('transient', 'Reddit: the media upload lease came without its upload address', { provider: PROVIDER, reason: 'malformed_response' });
  // A scheme-less address takes the API's scheme (https on Reddit).
  const target = new URL(action, api.base);
  if (target.protocol !== 'https:' && target.protocol !== 'http:') throw new ProviderError('permanent', 'Reddit: the media upload address is not an http(s) address', { provider: PROVIDER, reason: 'bad_upload_url' });
  const form = new FormData();
  for (const f of fields) form.append(f.name, f.value);
  form.append('file', new Blob([new Uint8Array(bytes)], { type: m.mimeType }), filepath);
  await api.call({ method: 'POST', url: target.toString(), operation: 'media_upload', body: form, userSuppliedHost: true, media: true, retryUnsent: true });
  return `${target.toString().replace(/\/+$/, '')}/${key}`;
}
