// /api/auth/second-factor/* and /api/auth/step-up: setting up an authenticator app, recovery codes, and
// proving the factor again before a sensitive change. The code step of sign-in is in routes.ts, beside
// /api/auth/login.
import type { FastifyInstance } from 'fastify';
import type { TypeBoxTypeProvider } from '@fastify/type-provider-typebox';
import { Type } from 'typebox';
import { ApiError } from '../../http/errors.ts';
import type { AuthGuards } from './authenticate.ts';
import { requestContext, userOf } from './authenticate.ts';
import type { AuthService } from './service.ts';
import type { Proof as ProofInput, SecondFactorService } from './second-factor.ts';

const Err = Type.Ref('Error');
const errors = (...codes: number[]) => Object.fromEntries(codes.map((c) => [c, Err]));

/** A code from the app, or a recovery code: exactly one of the two. */
export const Proof = {
  code: Type.Optional(Type.String({ minLength: 1, maxLength: 16, description: 'The 6-digit code the authenticator app shows now' })),
  recoveryCode: Type.Optional(Type.String({ minLength: 1, maxLength: 32, description: 'One of the recovery codes (each works once)' })),
};

export function proofOf(body: { code?: string | undefined; recoveryCode?: string | undefined }): ProofInput {
  if ((body.code === undefined) === (body.recoveryCode === undefined)) {
    throw new ApiError(400, 'VALIDATION_FAILED', 'Send either body.code (from the authenticator app) or body.recoveryCode, not both or neither.',
      [{ field: 'body.code', message: 'exactly one of code and recoveryCode is required' }]);
  }
  return body.code !== undefined ? { code: body.code } : { recoveryCode: body.recoveryCode };
}

const RecoveryCodes = Type.Array(Type.String(), { minItems: 10, maxItems: 10, description: 'Ten single-use codes. Shown this once: AllIN keeps only their hashes.' });

export function secondFactorRoutes(app: FastifyInstance, d: { auth: AuthService; secondFactor: SecondFactorService; guards: AuthGuards }): void {
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
          recoveryCodesLeft: Type.Integer(),
          stepUpValidUntil: Type.Union([Type.String({ format: 'date-time' }), Type.Null()], { description: 'Until when this session may make sensitive changes without another code' }),
          sessionAmr: Type.Array(Type.String(), { description: 'How this session was signed in (pwd, otp, recovery)' }),
        }),
        ...errors(401, 403, 429),
      },
    },
  }, async (req, reply) => {
    const { userId, sessionId } = userOf(req);
    const s = await d.secondFactor.status(userId, sessionId);
    reply.header('cache-control', 'no-store');
    return {
      totp: s.totp ? { confirmedAt: s.totp.confirmedAt.toISOString() } : null, enrolmentPending: s.enrolmentPending, recoveryCodesLeft: s.recoveryCodesLeft,
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
    const e = await d.auth.startTotpEnrolment(userOf(req).userId, req.body.password, requestContext(req));
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
      description: 'Changing the password, removing the authenticator app, replacing recovery codes, deleting the account and creating API keys ask for it. Wrong codes count as failed sign-ins.',
      body: Type.Object(Proof, { additionalProperties: false }),
      response: { 200: Type.Object({ validUntil: Type.String({ format: 'date-time' }) }), ...errors(400, 401, 403, 409, 429) },
    },
  }, async (req) => {
    const { userId, sessionId } = userOf(req);
    const until = await d.auth.stepUp(userId, sessionId, proofOf(req.body), requestContext(req));
    return { validUntil: until.toISOString() };
  });
}
