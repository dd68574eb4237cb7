// What an instance says about its limits (GET /api/v2/instance, or /api/v1/instance on 3.4.2–3.5:
// https://docs.joinmastodon.org/methods/instance/#v2), kept an hour per host, and those limits in the shape
// the composer's validation uses. Forks raise max_characters, so each account carries its instance's own.
import { LRUCache } from 'lru-cache';
import type { ProviderLimits } from '../types.ts';
import type { MastodonApi } from './api.ts';
import { MAX_HOSTS_KEPT } from './discovery.ts';

const HOUR = 3_600_000;

/** What an unmodified Mastodon server lists (GET /api/v2/instance); the instance's own lists are in each account's data. */
const IMAGE_TYPES = ['image/jpeg', 'image/png', 'image/gif', 'image/webp', 'image/heic', 'image/heif', 'image/avif'];
const VIDEO_TYPES = ['video/mp4', 'video/webm', 'video/quicktime', 'video/ogg'];

/** A stock server's limits; identities() reads each instance's real ones (forks raise max_characters). */
export const STOCK_LIMITS: ProviderLimits = {
  textCounting: 'mastodon', maxTextLength: 500, threads: true, firstComment: true,
  media: {
    maxCount: 4, imageTypes: IMAGE_TYPES, videoTypes: VIDEO_TYPES,
    maxImageBytes: 16_777_216, maxVideoBytes: 103_809_024, mixing: false, required: false,
  },
};

/** What `GET /api/v2/instance` (or v1 on 3.4–3.5) says about limits, kept in each account's data. */
export interface MastodonInstanceInfo {
  version: string;
  apiVersion?: number;
  maxCharacters: number;
  maxMediaAttachments: number;
  charactersReservedPerUrl: number;
  supportedMimeTypes: string[];
  imageSizeLimit: number;
  imageMatrixLimit?: number;
  videoSizeLimit: number;
  videoFrameRateLimit?: number;
  videoMatrixLimit?: number;
  descriptionLimit?: number;
}

/** The limits of one instance, in the shape the composer's validation uses. */
export function mastodonLimits(instance: MastodonInstanceInfo): ProviderLimits {
  const types = instance.supportedMimeTypes;
  return {
    ...STOCK_LIMITS,
    maxTextLength: instance.maxCharacters,
    media: {
      ...STOCK_LIMITS.media,
      maxCount: instance.maxMediaAttachments,
      imageTypes: types.length ? types.filter((t) => t.startsWith('image/')) : IMAGE_TYPES,
      videoTypes: types.length ? types.filter((t) => t.startsWith('video/')) : VIDEO_TYPES,
      maxImageBytes: instance.imageSizeLimit,
      maxVideoBytes: instance.videoSizeLimit,
    },
  };
}

/** The instance's limits, asked once an hour per host (host already normalised). */
export function instanceInfo(api: MastodonApi): (host: string) => Promise<MastodonInstanceInfo> {
  const instances = new LRUCache<string, MastodonInstanceInfo>({ max: MAX_HOSTS_KEPT, ttl: HOUR });
  return async (host) => {
    const cached = instances.get(host);
    if (cached) return cached;
    let res = await api.send({ method: 'GET', url: `${api.base(host)}/api/v2/instance`, operation: 'instance', headers: { accept: 'application/json' } });
    // 3.4.2–3.5.x have no v2 endpoint but the same `configuration` block in v1.
    if (res.status === 404) res = await api.send({ method: 'GET', url: `${api.base(host)}/api/v1/instance`, operation: 'instance', headers: { accept: 'application/json' } });
    if (res.status < 200 || res.status >= 300) throw api.fail('instance', res);
    const info = parseInstance(api.read(res, 'instance'));
    instances.set(host, info);
    return info;
  };
}

type InstanceAnswer = { version?: unknown; api_versions?: { mastodon?: unknown }; configuration?: Record<string, Record<string, unknown> | undefined> };

/** Older servers without `configuration` run the stock limits (https://docs.joinmastodon.org/methods/instance/#v2). */
function parseInstance(body: InstanceAnswer): MastodonInstanceInfo {
  const statuses = body.configuration?.statuses ?? {};
  const media = body.configuration?.media_attachments ?? {};
  const num = (v: unknown): number | undefined => (typeof v === 'number' && Number.isFinite(v) && v > 0 ? v : undefined);
  const info: MastodonInstanceInfo = {
    version: typeof body.version === 'string' ? body.version : 'unknown',
    ...(typeof body.api_versions?.mastodon === 'number' ? { apiVersion: body.api_versions.mastodon } : {}),
    maxCharacters: num(statuses.max_characters) ?? 500,
    maxMediaAttachments: num(statuses.max_media_attachments) ?? 4,
    charactersReservedPerUrl: num(statuses.characters_reserved_per_url) ?? 23,
    supportedMimeTypes: Array.isArray(media.supported_mime_types) ? media.supported_mime_types.filter((t): t is string => typeof t === 'string') : [],
    imageSizeLimit: num(media.image_size_limit) ?? 16_777_216,
    videoSizeLimit: num(media.video_size_limit) ?? 103_809_024,
  };
  const imageMatrixLimit = num(media.image_matrix_limit);
  const videoFrameRateLimit = num(media.video_frame_rate_limit);
  const videoMatrixLimit = num(media.video_matrix_limit);
  const descriptionLimit = num(media.description_limit);
  if (imageMatrixLimit) info.imageMatrixLimit = imageMatrixLimit;
  if (videoFrameRateLimit) info.videoFrameRateLimit = videoFrameRateLimit;
  if (videoMatrixLimit) info.videoMatrixLimit = videoMatrixLimit;
  if (descriptionLimit) info.descriptionLimit = descriptionLimit;
  return info;
}
