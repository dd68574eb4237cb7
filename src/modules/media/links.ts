// Signed, expiring links to an upload, for networks that fetch media themselves (Instagram and Threads
// take an image_url/video_url, not bytes). The link names the media and its expiry and carries an
// HMAC-SHA256 of both under a key derived from AUTH_SECRET, so it can be given to a network without a
// session and stops working when it expires. The network must reach PUBLIC_URL for this to work.
import { createHmac, hkdfSync, timingSafeEqual } from 'node:crypto';

export class MediaLinks {
  private readonly key: Buffer;

  constructor(secret: string, private readonly publicUrl: string, private readonly ttlSeconds = 24 * 3600) {
    this.key = Buffer.from(hkdfSync('sha256', secret, 'allin', 'media links v1', 32));
  }

  private sign(mediaId: string, expires: number): string {
    return createHmac('sha256', this.key).update(`${mediaId.toLowerCase()}.${expires}`).digest('base64url');
  }

  url(mediaId: string, now = Date.now()): string {
    const expires = Math.floor(now / 1000) + this.ttlSeconds;
    return `${this.publicUrl.replace(/\/$/, '')}/media/${mediaId}?expires=${expires}&sig=${this.sign(mediaId, expires)}`;
  }

  /** True when the signature is ours and the link has not expired. */
  verify(mediaId: string, expires: number, sig: string, now = Date.now()): boolean {
    if (!Number.isSafeInteger(expires) || expires * 1000 < now) return false;
    const want = Buffer.from(this.sign(mediaId, expires));
    const got = Buffer.from(sig);
    return want.length === got.length && timingSafeEqual(want, got);
  }
}
