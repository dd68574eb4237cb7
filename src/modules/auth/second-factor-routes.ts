// /api/auth/second-factor/*, /api/auth/passkeys/* and /api/auth/step-up: setting up an authenticator app,
// passkeys, recovery codes, and proving the factor again before a sensitive change. The code step of
// sign-in and the sign-in with a passkey alone are in routes.ts, beside /api/auth/login.
import type { FastifyInstance } from 'fastify';
import type { TypeBoxTypeProvider } from '@fastify/type-provider-typebox';
import { Type, type Static } from 'typebox';
import { ApiError } from '../../http/errors.ts';
import type { AuthGuards } from './authenticate.ts';
import { requestContext, userOf } from './authenticate.ts';
import type { AuthService } from './service.ts';
import type { Proof as ProofInput, SecondFactorService } from './second-factor.ts';
import type { PasskeyService } from './passkeys.ts';

const Err = Type.Ref('Error');
const errors = (...codes: number[]) => Object.fromEntries(codes.map((c) => [c, Err]));

const B64u = (maxLength: number) => Type.String({ minLength: 1, maxLength, pattern: '^[A-Za-z0-9_-]+={0,2}$' });
const Attachment = Type.Optional(Type.Union([Type.Literal('platform'), Type.Literal('cross-platform')]));
// Browsers may add members to the credential's `response` and extension results as WebAuthn grows; what
// is checked is listed.
const ClientExtensionResults = Type.Object({}, { additionalProperties: true });

/** What navigator.credentials.get() answers, in WebAuthn's JSON encoding (PublicKeyCredential.toJSON()). */
export const AuthenticationResponse = Type.Object({
  id: B64u(1400), rawId: B64u(1400), type: Type.Literal('public-key'),
  response: Type.Object({
    clientDataJSON: B64u(4096), authenticatorData: B64u(4096), signature: B64u(1024), userHandle: Type.Optional(B64u(128)),
  }, { additionalProperties: true }),
  authenticatorAttachment: Attachment,
  clientExtensionResults: ClientExtensionResults,
}, { additionalProperties: false, description: 'The passkey\'s assertion, as @simplewebauthn/browser\'s startAuthentication() or PublicKeyCredential.toJSON() gives it' });

/** What navigator.credentials.create() answers, in WebAuthn's JSON encoding. */
const RegistrationResponse = Type.Object({
  id: B64u(1400), rawId: B64u(1400), type: Type.Literal('public-key'),
  response: Type.Object({
    clientDataJSON: B64u(4096), attestationObject: B64u(16384),
    transports: Type.Optional(Type.Array(Type.String({ maxLength: 32 }), { maxItems: 10 })),
  }, { additionalProperties: true }),
  authenticatorAttachment: Attachment,
  clientExtensionResults: ClientExtensionResults,
}, { additionalProperties: false, description: 'The new credential, as @simplewebauthn/browser\'s startRegistration() or PublicKeyCredential.toJSON() gives it' });

/** navigator.credentials options in WebAuthn's JSON encoding, for @simplewebauthn/browser (or PublicKeyCredential.parse*OptionsFromJSON). */
export const WebAuthnOptions = (what: string) => Type.Object({ challenge: Type.String() }, { additionalProperties: true, description: what });

/** A code from the app, a passkey's assertion, or a recovery code: exactly one of the three. */
export const Proof = {
  code: Type.Optional(Type.String({ minLength: 1, maxLength: 16, description: 'The 6-digit code the authenticator app shows now' })),
  recoveryCode: Type.Optional(Type.String({ minLength: 1, maxLength: 32, description: 'One of the recovery codes (each works once)' })),
  passkey: Type.Optional(AuthenticationResponse),
};

export function proofOf(body: { code?: string | undefined; recoveryCode?: string | undefined; passkey?: Static<typeof AuthenticationResponse> | undefined }): ProofInput {
  const given = [body.code, body.recoveryCode, body.passkey].filter((p) => p !== undefined).length;
  if (given !== 1) {
    throw new ApiError(400, 'VALIDATION_FAILED', 'Send one of body.code (from the authenticator app), body.passkey (a passkey\'s assertion) or body.recoveryCode.',
      [{ field: 'body.code', message: 'exactly one of code, passkey and recoveryCode is required' }]);
  }
  if (body.code !== undefined) return { code: body.code };
  if (body.passkey !== undefined) return { passkey: body.passkey as ProofInput['passkey'] };
  return { recoveryCode: body.recoveryCode };
}

const RecoveryCodes = Type.Array(Type.String(), { minItems: 10, maxItems: 10, description: 'Ten single-use codes. Shown this once: AllIN keeps only their hashes.' });

export function secondFactorRoutes(app: FastifyInstance, d: { auth: AuthService; secondFactor: SecondFactorService; passkeys: PasskeyService; guards: AuthGuards }): void {
  const r = app.withTypeProvider<TypeBoxTypeProvider>();
  const { guards } = d;
  const tags = ['auth'];

  r.get('/api/auth/second-factor', {
    preHandler: guards.user,
    schema: {
      tags, summary: 'My second factor: the authenticator app, recovery codes left, and this session\'s step-up',
      response: {
        200: Type.Object({
          totp: Type.Union([Type.Object({ confirmedAt: Type.String({ format: 'date-time' }) }), Type.Null()]),
          enrolmentPending: Type.Boolean({ description: 'An authenticator app was started but not confirmed with a code' }),
          passkeys: Type.Integer({ description: 'How many passkeys you have (GET /api/auth/passkeys lists them)' }),
          recoveryCodesLeft: Type.Integer(),
          stepUpValidUntil: Type.Union([Type.String({ format: 'date-time' }), Type.Null()], { description: 'Until when this session may make sensitive changes without another code' }),
          sessionAmr: Type.Array(Type.String(), { description: 'How this session was signed in (pwd, otp, hwk or swk for a passkey, mfa, recovery)' }),
        }),
        ...errors(401, 403, 429),
      },
    },
  }, async (req, reply) => {
    const { userId, sessionId } = userOf(req);
    const s = await d.secondFactor.status(userId, sessionId);
    reply.header('cache-control', 'no-store');
    return {
      totp: s.totp ? { confirmedAt: s.totp.confirmedAt.toISOString() } : null, enrolmentPending: s.enrolmentPending, passkeys: s.passkeys, recoveryCodesLeft: s.recoveryCodesLeft,
      stepUpValidUntil: s.stepUpValidUntil?.toISOString() ?? null, sessionAmr: s.sessionAmr,
    };
  });

  r.post('/api/auth/second-factor/totp', {
    preHandler: guards.user,
    schema: {
      tags, summary: 'Start setting up an authenticator app: answers the secret as a QR code and an otpauth:// URI',
      description: 'Confirm your password (a wrong one counts as a failed sign-in). Scan the QR code (or type the secret) in the app, then send its first code to POST /api/auth/second-factor/totp/confirm. Asking again replaces an unconfirmed secret; with a confirmed app the answer is 409.',
      body: Type.Object({ password: Type.String({ minLength: 1, maxLength: 512 }) }, { additionalProperties: false }),
      response: {
        201: Type.Object({
          otpauthUri: Type.String({ description: 'otpauth://totp/… (Key URI Format): SHA1, 6 digits, 30 seconds' }),
          secret: Type.String({ description: 'The same secret in base32, for typing it into the app' }),
          qrCode: Type.String({ description: 'The URI as a QR code: a data:image/svg+xml;base64 URL, for an <img>' }),
        }),
        ...errors(400, 401, 403, 409, 429, 503),
      },
    },
  }, async (req, reply) => {
    const { userId, sessionId } = userOf(req);
    const e = await d.auth.startTotpEnrolment(userId, sessionId, req.body.password, requestContext(req));
    reply.status(201).header('cache-control', 'no-store');
    return { otpauthUri: e.otpauthUri, secret: e.secret, qrCode: `data:image/svg+xml;base64,${Buffer.from(e.qrCodeSvg).toString('base64')}` };
  });

  r.post('/api/auth/second-factor/totp/confirm', {
    preHandler: guards.user,
    schema: {
      tags, summary: 'Confirm the authenticator app with its first code; answers the recovery codes (shown once)',
      description: 'From now on signing in needs a code after the password. Your other sessions, signed in with a password alone, are ended; this one counts as having proven the factor. A wrong code counts as a failed sign-in.',
      body: Type.Object({ code: Type.String({ minLength: 1, maxLength: 16 }) }, { additionalProperties: false }),
      response: { 200: Type.Object({ recoveryCodes: RecoveryCodes }), ...errors(400, 401, 403, 409, 429) },
    },
  }, async (req, reply) => {
    const { userId, sessionId } = userOf(req);
    const r2 = await d.auth.confirmTotpEnrolment(userId, sessionId, req.body.code, requestContext(req));
    reply.header('cache-control', 'no-store');
    return r2;
  });

  r.delete('/api/auth/second-factor/totp', {
    preHandler: guards.user,
    schema: {
      tags, summary: 'Remove the authenticator app and its recovery codes',
      description: 'Needs a second factor proven by this session in the last 5 minutes (403 STEP_UP_REQUIRED: POST /api/auth/step-up first). A workspace that requires a second factor is closed to you until you set one up again.',
      response: { 204: Type.Null(), ...errors(401, 403, 429) },
    },
  }, async (req, reply) => {
    const { userId, sessionId } = userOf(req);
    await d.auth.removeSecondFactor(userId, sessionId, requestContext(req));
    reply.status(204);
    return null;
  });

  r.post('/api/auth/second-factor/recovery-codes', {
    preHandler: guards.user,
    schema: {
      tags, summary: 'Replace the recovery codes with ten new ones (the old ones stop working)',
      description: 'Needs a second factor proven by this session in the last 5 minutes (403 STEP_UP_REQUIRED).',
      response: { 200: Type.Object({ recoveryCodes: RecoveryCodes }), ...errors(401, 403, 409, 429) },
    },
  }, async (req, reply) => {
    const { userId, sessionId } = userOf(req);
    const recoveryCodes = await d.auth.regenerateRecoveryCodes(userId, sessionId, requestContext(req));
    reply.header('cache-control', 'no-store');
    return { recoveryCodes };
  });

  r.post('/api/auth/step-up', {
    preHandler: guards.user,
    schema: {
      tags, summary: 'Prove the second factor again, for the sensitive changes of the next 5 minutes',
      description: 'Changing the password, adding or removing a factor, replacing recovery codes, deleting the account and creating API keys ask for it. Send a code, a recovery code, or a passkey\'s assertion to the options of POST /api/auth/step-up/passkey-options. Wrong codes and refused passkeys count as failed sign-ins.',
      body: Type.Object(Proof, { additionalProperties: false }),
      response: { 200: Type.Object({ validUntil: Type.String({ format: 'date-time' }) }), ...errors(400, 401, 403, 409, 429) },
    },
  }, async (req) => {
    const { userId, sessionId } = userOf(req);
    const until = await d.auth.stepUp(userId, sessionId, proofOf(req.body), requestContext(req));
    return { validUntil: until.toISOString() };
  });

  r.post('/api/auth/step-up/passkey-options', {
    preHandler: guards.user,
    schema: {
      tags, summary: 'Options for confirming with a passkey: pass them to navigator.credentials.get(), then send the answer to POST /api/auth/step-up',
      description: 'The challenge is bound to this session, works once, and expires after 2 minutes.',
      response: { 200: Type.Object({ options: WebAuthnOptions('PublicKeyCredentialRequestOptionsJSON, allowing your passkeys') }), ...errors(401, 403, 409, 429) },
    },
  }, async (req, reply) => {
    const { userId, sessionId } = userOf(req);
    reply.header('cache-control', 'no-store');
    return { options: await d.passkeys.authenticationOptions({ kind: 'step-up', sessionId }, userId) };
  });

  const PasskeyItem = Type.Object({
    id: Type.String({ format: 'uuid' }),
    name: Type.String(),
    createdAt: Type.String({ format: 'date-time' }),
    lastUsedAt: Type.Union([Type.String({ format: 'date-time' }), Type.Null()]),
    synced: Type.Boolean({ description: 'Backup eligible: the passkey provider syncs it between devices (amr swk); otherwise bound to one authenticator (amr hwk)' }),
  });

  r.get('/api/auth/passkeys', {
    preHandler: guards.user,
    schema: {
      tags, summary: 'My passkeys, oldest first (an account has at most 20)',
      response: { 200: Type.Object({ passkeys: Type.Array(PasskeyItem) }), ...errors(401, 403, 429) },
    },
  }, async (req) => {
    const rows = await d.passkeys.list(userOf(req).userId);
    return {
      passkeys: rows.map((p) => ({
        id: p.id, name: p.name, createdAt: p.createdAt.toISOString(), lastUsedAt: p.lastUsedAt?.toISOString() ?? null, synced: p.deviceType === 'multiDevice',
      })),
    };
  });

  r.post('/api/auth/passkeys/registration-options', {
    preHandler: guards.user,
    schema: {
      tags, summary: 'Start adding a passkey: answers the options for navigator.credentials.create()',
      description: 'Confirm your password (a wrong one counts as a failed sign-in); with a second factor already, the session must have proven it in the last 5 minutes (403 STEP_UP_REQUIRED). ' +
        'The challenge is bound to this session, works once and expires after 2 minutes; send the authenticator\'s answer to POST /api/auth/passkeys.',
      body: Type.Object({ password: Type.String({ minLength: 1, maxLength: 512 }) }, { additionalProperties: false }),
      response: { 200: Type.Object({ options: WebAuthnOptions('PublicKeyCredentialCreationOptionsJSON') }), ...errors(400, 401, 403, 409, 429, 503) },
    },
  }, async (req, reply) => {
    const { userId, sessionId } = userOf(req);
    reply.header('cache-control', 'no-store');
    return { options: await d.auth.passkeyRegistrationOptions(userId, sessionId, req.body.password, requestContext(req)) };
  });

  r.post('/api/auth/passkeys', {
    preHandler: guards.user,
    schema: {
      tags, summary: 'Add a passkey: the authenticator\'s answer to the registration options',
      description: 'The first factor of an account (no authenticator app, no passkey yet) turns on two-step sign-in: your other sessions, signed in with a password alone, are ended, and ten recovery codes are answered, shown this once. Otherwise `recoveryCodes` is null.',
      body: Type.Object({
        name: Type.String({ minLength: 1, maxLength: 60, pattern: '\\S', description: 'What you call it, e.g. "Work laptop" or "Blue security key"' }),
        response: RegistrationResponse,
      }, { additionalProperties: false }),
      response: {
        201: Type.Object({ id: Type.String({ format: 'uuid' }), recoveryCodes: Type.Union([RecoveryCodes, Type.Null()]) }),
        ...errors(400, 401, 403, 409, 429),
      },
    },
  }, async (req, reply) => {
    const { userId, sessionId } = userOf(req);
    const added = await d.auth.addPasskey(userId, sessionId, req.body.response as Parameters<AuthService['addPasskey']>[2], req.body.name.trim(), requestContext(req));
    reply.status(201).header('cache-control', 'no-store');
    return added;
  });

  r.delete('/api/auth/passkeys/:passkeyId', {
    preHandler: guards.user,
    schema: {
      tags, summary: 'Remove one of my passkeys',
      description: 'Needs a second factor proven by this session in the last 5 minutes (403 STEP_UP_REQUIRED: POST /api/auth/step-up first). With the last factor gone, the recovery codes go too.',
      params: Type.Object({ passkeyId: Type.String({ format: 'uuid' }) }),
      response: { 204: Type.Null(), ...errors(400, 401, 403, 404, 429) },
    },
  }, async (req, reply) => {
    const { userId, sessionId } = userOf(req);
    await d.auth.removePasskey(userId, sessionId, req.params.passkeyId, requestContext(req));
    reply.status(204);
    return null;
  });
}
