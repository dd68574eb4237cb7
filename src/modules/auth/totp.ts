// Authenticator-app codes (TOTP, RFC 6238: HMAC-SHA1, 6 digits, 30-second steps, the parameters every
// authenticator app supports) through `otpauth`, and the QR code of the otpauth:// URI (Key URI Format,
// https://github.com/google/google-authenticator/wiki/Key-Uri-Format) as SVG through `uqr`.
// A code is matched within one step of drift either way (RFC 6238 §5.2 and §6), and the step it matched
// is returned so the caller can refuse it a second time.
import { randomBytes } from 'node:crypto';
import { Secret, TOTP } from 'otpauth';
import { renderSVG } from 'uqr';

export const TOTP_PERIOD_SECONDS = 30;
export const TOTP_DIGITS = 6;
/** Steps of clock drift accepted either side of the current one. */
export const TOTP_DRIFT_STEPS = 1;
/** RFC 4226 §4 asks for at least 128 bits and recommends 160. */
const SECRET_BYTES = 20;

const totp = (secretBase32: string, label = '', issuer = '') => new TOTP({
  issuer, label, secret: Secret.fromBase32(secretBase32), algorithm: 'SHA1', digits: TOTP_DIGITS, period: TOTP_PERIOD_SECONDS,
});

export function newTotpSecret(): string {
  return new Secret({ buffer: randomBytes(SECRET_BYTES).buffer }).base32;
}

/** The otpauth:// URI an authenticator app reads (from the QR code or pasted). */
export function otpauthUri(secretBase32: string, issuer: string, account: string): string {
  return totp(secretBase32, account, issuer).toString();
}

/** The URI as an SVG image, for a data: URL or inline. */
export function qrCodeSvg(uri: string): string {
  return renderSVG(uri, { ecc: 'M', border: 2 });
}

/** Digits only, six of them; spaces people type between the groups are dropped. */
export function normaliseCode(code: string): string | null {
  const digits = code.replace(/[\s-]/g, '');
  return new RegExp(`^\\d{${TOTP_DIGITS}}$`).test(digits) ? digits : null;
}

/** The time step the code belongs to, within the drift allowed around `nowMs`; null when it matches none. */
export function matchStep(secretBase32: string, code: string, nowMs: number): number | null {
  const t = totp(secretBase32);
  const delta = t.validate({ token: code, timestamp: nowMs, window: TOTP_DRIFT_STEPS });
  return delta === null ? null : t.counter({ timestamp: nowMs }) + delta;
}

/** The code of the step that holds `atMs` (what an authenticator app shows then). */
export function codeAt(secretBase32: string, atMs: number): string {
  return totp(secretBase32).generate({ timestamp: atMs });
}
