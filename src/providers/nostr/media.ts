// Media for a note. Nostr itself carries no files: a note links them, and NIP-92 describes each link in an
// `imeta` tag (url, m, x, size, dim, alt) so clients show it inline. The files go to the account's Blossom
// media server (BUD-01, BUD-02: `PUT /upload` with the bytes as the body and `Authorization: Nostr
// <base64 of a kind 24242 event>` carrying ["t","upload"], ["x",<sha256>] and a NIP-40 ["expiration"];
// answered by a blob descriptor {url, sha256, size, type, uploaded}). A blob is addressed by its sha256, so
// sending it again after a lost answer stores nothing new. The server is the user's choice: the guard applies.
// (https://github.com/nostr-protocol/nips/blob/master/92.md, https://github.com/hzrd149/blossom/blob/master/buds/01.md,
// https://github.com/hzrd149/blossom/blob/master/buds/02.md)
import { createHash } from 'node:crypto';
import { finalizeEvent } from 'nostr-tools/pure';
import { hexToBytes } from 'nostr-tools/utils';
import type { HttpClient, HttpResponse } from '../../infra/http/client.ts';
import { httpError } from '../errors.ts';
import { adapterCalls } from '../request.ts';
import { ProviderError, type MediaItem, type MediaLimits } from '../types.ts';
import { PROVIDER } from './errors.ts';

export interface BlobDescriptor { url: string; sha256: string; size: number; type?: string }

const refuse = (why: string) => new ProviderError('permanent', `Nostr: ${why}`, { provider: PROVIDER, reason: 'refused_before_sending' });

/** BUD-01 says why in an X-Reason header; 401 and 403 are the server refusing this key, not an expired token. */
function blossomError(operation: string, res: HttpResponse): ProviderError {
  const why = res.headers['x-reason']?.slice(0, 200);
  if (res.status === 401 || res.status === 403 || res.status === 413 || res.status === 415) {
    return new ProviderError('permanent', `Nostr: the media server refused the upload (${res.status}${why ? `: ${why}` : ''})`, { provider: PROVIDER, status: res.status, reason: why ?? `HTTP ${res.status}` });
  }
  return httpError(PROVIDER, operation, res);
}

/** The media server from what the user typed: an https:// origin (http:// only with private hosts allowed). */
export function parseMediaServer(input: string, allowPlain = false): string {
  let u: URL;
  try {
    u = new URL(/^[a-z]+:\/\//i.test(input.trim()) ? input.trim() : `https://${input.trim()}`);
  } catch {
    throw new ProviderError('permanent', `Nostr: "${input.slice(0, 80)}" is not a media server address (https://blossom.example.com)`, { provider: PROVIDER, reason: 'bad_media_server' });
  }
  if (u.protocol !== 'https:' && !(allowPlain && u.protocol === 'http:')) throw new ProviderError('permanent', `Nostr: ${u.host}: a media server is reached over https://`, { provider: PROVIDER, reason: 'bad_media_server' });
  if (u.username || u.password || u.search || u.hash) throw new ProviderError('permanent', `Nostr: ${u.host}: a media server address has no user, query or fragment`, { provider: PROVIDER, reason: 'bad_media_server' });
  return `${u.origin}${u.pathname.replace(/\/+$/, '')}`;
}

export function checkMedia(media: MediaItem[], limits: MediaLimits, mediaServer: string | undefined): void {
  if (media.length === 0) return;
  if (!mediaServer) throw refuse('a note links its images and videos from a media server, and this account has none; reconnect it with a Blossom media server');
  if (media.length > limits.maxCount) throw refuse(`a note carries at most ${limits.maxCount} media items here; this has ${media.length}`);
  for (const [i, m] of media.entries()) {
    const image = limits.imageTypes.includes(m.mimeType);
    if (!image && !limits.videoTypes.includes(m.mimeType)) throw refuse(`item ${i + 1} is ${m.mimeType}; AllIN sends ${[...limits.imageTypes, ...limits.videoTypes].join(', ')}`);
    const max = image ? limits.maxImageBytes : limits.maxVideoBytes;
    if (m.bytes > max) throw refuse(`item ${i + 1} is ${m.bytes} bytes; AllIN uploads at most ${max} for a ${image ? 'image' : 'video'} (media servers set their own limits too)`);
  }
}

export function blossom(http: HttpClient) {
  const calls = adapterCalls(http, { provider: PROVIDER, error: blossomError, defaults: { userSuppliedHost: true } });
  return {
    /** Uploads the item; the descriptor's sha256 must be the bytes' own. */
    async upload(server: string, secretHex: string, m: MediaItem): Promise<BlobDescriptor> {
      const bytes = await m.read();
      const sha256 = createHash('sha256').update(bytes).digest('hex');
      const now = Math.floor(Date.now() / 1000);
      const auth = finalizeEvent({
        kind: 24242, created_at: now, content: 'Upload a file for a note',
        tags: [['t', 'upload'], ['x', sha256], ['size', String(bytes.length)], ['expiration', String(now + 600)]],
      }, hexToBytes(secretHex));
      // PUT is retried by the HttpClient on a lost answer: a blob is its hash, so a second copy is the same blob.
      const res = await calls.call({
        method: 'PUT', url: `${server}/upload`, operation: 'blossom_upload', media: true, body: bytes,
        headers: { authorization: `Nostr ${Buffer.from(JSON.stringify(auth)).toString('base64')}`, 'content-type': m.mimeType },
      });
      const d = calls.read<Partial<BlobDescriptor>>(res, 'blossom_upload');
      if (typeof d.url !== 'string' || !/^https?:\/\//.test(d.url) || d.sha256 !== sha256) {
        throw new ProviderError('transient', 'Nostr: the media server answered without the blob it stored (its url, or a sha256 that is not the file\'s)', { provider: PROVIDER, reason: 'malformed_response' });
      }
      return { url: d.url, sha256, size: bytes.length, type: m.mimeType };
    },
  };
}

/** The NIP-92 imeta tag for an uploaded item. */
export function imetaTag(blob: BlobDescriptor, m: MediaItem): string[] {
  return ['imeta', `url ${blob.url}`, `m ${m.mimeType}`, `x ${blob.sha256}`, `size ${blob.size}`,
    ...(m.width && m.height ? [`dim ${m.width}x${m.height}`] : []), ...(m.altText ? [`alt ${m.altText}`] : [])];
}
