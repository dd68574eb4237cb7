// Meta webhooks, the part every Meta product shares: each event notification is a POST whose raw body is
// signed with the app's secret, `X-Hub-Signature-256: sha256={HMAC-SHA256 hex}`, checked here in constant time
// before anything in it is read. The verify-token handshake (hub.mode, hub.verify_token, hub.challenge) is
// answered by the callback route, which holds the configured token. Documentation:
//   https://developers.facebook.com/docs/graph-api/webhooks/getting-started (Verification Requests, Event Notifications)
import { createHmac, timingSafeEqual } from 'node:crypto';

const SIGNATURE = /^sha256=([0-9a-f]{64})$/i;

/** Whether `header` is the HMAC-SHA256 of exactly these bytes with `secret`; false without a secret or a well-formed header. */
export function validSignature(rawBody: Buffer, header: string | undefined, secret: string | undefined): boolean {
  if (!secret || !header) return false;
  const m = SIGNATURE.exec(header.trim());
  if (!m) return false;
  const given = Buffer.from(m[1]!.toLowerCase(), 'hex');
  const expected = createHmac('sha256', secret).update(rawBody).digest();
  return given.length === expected.length && timingSafeEqual(given, expected);
}

/** The signature header Meta would send for these bytes (the simulator and tests sign with it). */
export function signatureOf(rawBody: Buffer | string, secret: string): string {
  return `sha256=${createHmac('sha256', secret).update(rawBody).digest('hex')}`;
}
