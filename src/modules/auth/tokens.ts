// Access tokens: JWTs signed with Ed25519 (jose), at most 15 minutes, carrying the user and session ids
// and the key id. The signing key is derived from AUTH_SECRET with HKDF, so every API process signs and
// verifies with the same key without sharing key files; its public half is served at
// /.well-known/jwks.json. Refresh tokens are opaque 256-bit random values, stored only as SHA-256 hashes.
import { createHash, createPrivateKey, createPublicKey, hkdfSync, randomBytes, createCipheriv, createDecipheriv, type KeyObject } from 'node:crypto';
import { SignJWT, jwtVerify, exportJWK, errors as joseErrors, type JWK } from 'jose';
import { LRUCache } from 'lru-cache';

const ED25519_PKCS8_PREFIX = Buffer.from('302e020100300506032b657004220420', 'hex');
const AUDIENCE = 'allin-api';

export interface AccessClaims {
  userId: string;
  sessionId: string;
}

export class TokenError extends Error {
  constructor(readonly code: 'TOKEN_EXPIRED' | 'INVALID_TOKEN', message: string) {
    super(message);
    this.name = 'TokenError';
  }
}

interface SigningKey {
  kid: string;
  privateKey: KeyObject;
  publicKey: KeyObject;
}

function deriveKey(secret: string): SigningKey {
  const seed = Buffer.from(hkdfSync('sha256', secret, 'allin', 'access-token signing key v1', 32));
  const privateKey = createPrivateKey({ key: Buffer.concat([ED25519_PKCS8_PREFIX, seed]), format: 'der', type: 'pkcs8' });
  const publicKey = createPublicKey(privateKey);
  const raw = publicKey.export({ format: 'der', type: 'spki' });
  const kid = createHash('sha256').update(raw).digest('base64url').slice(0, 16);
  return { kid, privateKey, publicKey };
}

export class TokenService {
  private readonly key: SigningKey;
  private readonly byKid: Map<string, KeyObject>;
  private readonly graceKey: Buffer;

  constructor(private readonly opts: { secret: string; issuer: string; accessTtlSeconds: number; now?: () => number }) {
    this.key = deriveKey(opts.secret);
    this.byKid = new Map([[this.key.kid, this.key.publicKey]]);
    this.graceKey = Buffer.from(hkdfSync('sha256', opts.secret, 'allin', 'refresh grace encryption v1', 32));
  }

  get accessTtlSeconds(): number {
    return this.opts.accessTtlSeconds;
  }

  async jwks(): Promise<{ keys: (JWK & { kid: string })[] }> {
    const jwk = await exportJWK(this.key.publicKey);
    return { keys: [{ ...jwk, kid: this.key.kid, alg: 'EdDSA', use: 'sig' }] };
  }

  async issueAccess(claims: AccessClaims): Promise<{ token: string; expiresAt: Date }> {
    const now = Math.floor((this.opts.now?.() ?? Date.now()) / 1000);
    const exp = now + this.opts.accessTtlSeconds;
    const token = await new SignJWT({ sid: claims.sessionId })
      .setProtectedHeader({ alg: 'EdDSA', kid: this.key.kid, typ: 'at+jwt' })
      .setSubject(claims.userId)
      .setIssuer(this.opts.issuer)
      .setAudience(AUDIENCE)
      .setIssuedAt(now)
      .setExpirationTime(exp)
      .sign(this.key.privateKey);
    return { token, expiresAt: new Date(exp * 1000) };
  }

  /**
   * Verified tokens, remembered until they expire: a client sends the same access token on every
   * request for up to 15 minutes, and re-verifying its signature each time was ~10% of a simple
   * authenticated read. Only successes are kept; revocation is checked by the caller on every request.
   * At most 50,000 (the least recently used go first); expiry is checked on the injected clock.
   */
  private readonly verified = new LRUCache<string, { claims: AccessClaims; exp: number }>({ max: 50_000 });

  async verifyAccess(token: string): Promise<AccessClaims> {
    const now = this.opts.now?.() ?? Date.now();
    const hit = this.verified.get(token);
    if (hit) {
      if (hit.exp > now) return hit.claims;
      this.verified.delete(token);
    }
    const claims = await this.verifyUncached(token);
    this.verified.set(token, { claims, exp: claims.exp * 1000 });
    return { userId: claims.userId, sessionId: claims.sessionId };
  }

  private async verifyUncached(token: string): Promise<AccessClaims & { exp: number }> {
    try {
      const { payload } = await jwtVerify(token, (header) => {
        const key = header.kid ? this.byKid.get(header.kid) : undefined;
        if (!key) throw new TokenError('INVALID_TOKEN', 'The access token was signed with an unknown key');
        return key;
      }, {
        algorithms: ['EdDSA'],
        issuer: this.opts.issuer,
        audience: AUDIENCE,
        typ: 'at+jwt',
        ...(this.opts.now ? { currentDate: new Date(this.opts.now()) } : {}),
      });
      if (typeof payload.sub !== 'string' || typeof payload.sid !== 'string' || typeof payload.exp !== 'number') {
        throw new TokenError('INVALID_TOKEN', 'The access token lacks its subject, session or expiry');
      }
      return { userId: payload.sub, sessionId: payload.sid, exp: payload.exp };
    } catch (err) {
      if (err instanceof TokenError) throw err;
      if (err instanceof joseErrors.JWTExpired) throw new TokenError('TOKEN_EXPIRED', 'The access token has expired; refresh it');
      throw new TokenError('INVALID_TOKEN', 'The access token is not valid');
    }
  }

  /** Encrypts a refresh token for the short grace-window cache (never stored in plain text). */
  sealGrace(token: string): string {
    const iv = randomBytes(12);
    const c = createCipheriv('aes-256-gcm', this.graceKey, iv);
    const body = Buffer.concat([c.update(token, 'utf8'), c.final()]);
    return Buffer.concat([iv, c.getAuthTag(), body]).toString('base64url');
  }

  openGrace(sealed: string): string | null {
    try {
      const b = Buffer.from(sealed, 'base64url');
      const d = createDecipheriv('aes-256-gcm', this.graceKey, b.subarray(0, 12));
      d.setAuthTag(b.subarray(12, 28));
      return Buffer.concat([d.update(b.subarray(28)), d.final()]).toString('utf8');
    } catch {
      return null;
    }
  }
}

/** A new opaque secret with a recognisable prefix (256 bits of randomness). */
export function newSecret(prefix: string): string {
  return `${prefix}_${randomBytes(32).toString('base64url')}`;
}

export function sha256(value: string): Buffer {
  return createHash('sha256').update(value).digest();
}
