// Meta's webhooks callback, public (Meta calls it, no AllIN credential): PUBLIC_URL/api/hooks/meta/{network}.
// GET answers the verify-token handshake Meta makes when the callback is set up in the app's dashboard: hub.mode
// "subscribe" and the configured Verify Token → hub.challenge echoed; anything else is refused. POST takes an
// event notification only when X-Hub-Signature-256 is the HMAC-SHA256 of the raw body with the app's secret
// (checked in constant time by the adapter, before the body is parsed); the comments in it are stored by
// InboxPush as a polled page would be. https://developers.facebook.com/docs/graph-api/webhooks/getting-started
import { createHash, timingSafeEqual } from 'node:crypto';
import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import { Type } from 'typebox';
import { Forbidden, Invalid, NotFound } from '../../../domain/errors.ts';
import type { ProviderRegistry } from '../../../providers/registry.ts';
import type { InboxWebhook } from '../../../providers/types.ts';
import { errors } from '../../workspaces/index.ts';
import type { InboxService } from '../service.ts';

/** Meta sends small JSON batches; this is far above them and bounds what a forged request can make AllIN hash. */
const BODY_LIMIT = 1024 * 1024;

export interface MetaWebhookRouteDeps {
  inbox: InboxService;
  registry: ProviderRegistry;
  /** The Verify Token configured per network (FACEBOOK_WEBHOOK_VERIFY_TOKEN…); a network without one has no callback. */
  verifyTokens: Partial<Record<string, string | undefined>>;
}

const digest = (s: string) => createHash('sha256').update(s).digest();
/** Constant-time equality of two strings of any length (their digests are compared). */
const sameSecret = (a: string, b: string) => timingSafeEqual(digest(a), digest(b));

export const metaWebhookRoutes: FastifyPluginAsyncTypebox<MetaWebhookRouteDeps> = async (app, d) => {
  const tags = ['inbox'];
  const Params = Type.Object({ network: Type.String({ maxLength: 32, description: 'The Meta network whose webhooks these are (facebook)' }) });

  /** The network's verify token and webhook reader, or 404 when this AllIN does not take its webhooks. */
  const hookOf = (network: string): { token: string; webhook: InboxWebhook } => {
    const token = d.verifyTokens[network];
    const webhook = token && d.registry.isEnabled(network) ? d.registry.get(network).webhook : undefined;
    if (!token || !webhook) throw new NotFound('NOT_FOUND', `This AllIN takes no webhooks for "${network}" (set its verify token and app secret: docs/INBOX.md).`);
    return { token, webhook };
  };

  // The raw bytes are what Meta signed: JSON is parsed here only after the signature is checked.
  app.addContentTypeParser('application/json', { parseAs: 'buffer', bodyLimit: BODY_LIMIT }, (_req, body, done) => done(null, body));

  app.get('/api/hooks/meta/:network', {
    schema: {
      tags, summary: 'Meta webhooks: the verify-token handshake (answers hub.challenge when hub.verify_token is the configured one)',
      params: Params,
      querystring: Type.Object({
        'hub.mode': Type.String({ maxLength: 32 }),
        'hub.verify_token': Type.String({ maxLength: 512 }),
        'hub.challenge': Type.String({ maxLength: 128, pattern: '^[0-9A-Za-z_-]+$' }),
      }, { additionalProperties: true }),
      response: { 200: Type.String({ description: 'hub.challenge, as text' }), ...errors(400, 403, 404) },
    },
  }, async (req, reply) => {
    const { token } = hookOf(req.params.network);
    if (req.query['hub.mode'] !== 'subscribe' || !sameSecret(req.query['hub.verify_token'], token)) {
      throw new Forbidden('BAD_VERIFY_TOKEN', 'hub.verify_token is not the Verify Token configured for this callback, or hub.mode is not "subscribe".');
    }
    reply.header('cache-control', 'no-store');
    return reply.type('text/plain').send(req.query['hub.challenge']);
  });

  app.post('/api/hooks/meta/:network', {
    bodyLimit: BODY_LIMIT,
    schema: {
      tags, summary: 'Meta webhooks: an event notification, taken only with a valid X-Hub-Signature-256 (comments are stored as collected ones)',
      params: Params,
      headers: Type.Object({ 'x-hub-signature-256': Type.Optional(Type.String({ maxLength: 200 })) }, { additionalProperties: true }),
      response: {
        200: Type.Object({ accounts: Type.Integer({ description: 'Accounts the notification was stored for' }), created: Type.Integer({ description: 'Messages new to AllIN' }) }),
        ...errors(400, 403, 404, 413, 415),
      },
    },
  }, async (req) => {
    const { webhook } = hookOf(req.params.network);
    const raw = Buffer.isBuffer(req.body) ? req.body : Buffer.alloc(0);
    if (!webhook.verify(raw, req.headers['x-hub-signature-256'])) {
      throw new Forbidden('BAD_SIGNATURE', 'X-Hub-Signature-256 is missing or is not the HMAC-SHA256 of this body with the app secret; nothing was stored.');
    }
    let body: unknown;
    try {
      body = JSON.parse(raw.toString('utf8'));
    } catch {
      throw new Invalid('BAD_JSON', 'The notification is not JSON.');
    }
    return d.inbox.push.receive(req.params.network, webhook.parse(body));
  });
};
