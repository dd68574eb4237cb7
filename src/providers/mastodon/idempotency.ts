// The Idempotency-Key AllIN sends with each status (https://docs.joinmastodon.org/methods/statuses/#create):
// the server remembers it for one hour per account and answers a repeat with the status it created.
import { createHash } from 'node:crypto';

const HOUR = 3_600_000;
/** Mastodon remembers an Idempotency-Key for one hour (PostStatusService); a little margin for clock skew. */
export const IDEMPOTENCY_WINDOW_MS = HOUR - 5 * 60_000;

/**
 * The Idempotency-Key sent for a marker. Mastodon keeps it in Redis inside a key name, so it is hashed
 * to a fixed, plain form whatever the marker looks like.
 */
export function idempotencyKey(marker: string): string {
  return `allin-${createHash('sha256').update(marker).digest('base64url').slice(0, 32)}`;
}
