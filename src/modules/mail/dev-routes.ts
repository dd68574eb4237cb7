// Development only (not registered in production): read the outbox, so sign-up and password reset
// work without an SMTP server. `allin mail` shows the same from a terminal.
import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import { Type } from 'typebox';
import type { Db } from '../../infra/db/client.ts';
import { recentMail } from './outbox.ts';
import { errors } from '../../http/errors.ts';

export const devRoutes: FastifyPluginAsyncTypebox<{ db: Db }> = async (app, { db }) => {
  app.get('/api/dev/mail', {
    schema: {
      tags: ['development'], summary: 'Recent outgoing mail (development only; absent in production)',
      querystring: Type.Object({ to: Type.Optional(Type.String({ format: 'email', maxLength: 254 })), limit: Type.Integer({ minimum: 1, maximum: 100, default: 20 }) }),
      response: { 200: Type.Object({ mail: Type.Array(Type.Object({
        id: Type.String(), to: Type.String(), subject: Type.String(), text: Type.String(), createdAt: Type.String({ format: 'date-time' }),
        sentAt: Type.Union([Type.String({ format: 'date-time' }), Type.Null()]),
      })) }), ...errors(400) },
    },
  }, async (req) => {
    const rows = await recentMail(db, { limit: req.query.limit, ...(req.query.to ? { to: req.query.to } : {}) });
    return { mail: rows.map((m) => ({ id: m.id, to: m.to, subject: m.subject, text: m.text, createdAt: m.createdAt.toISOString(), sentAt: m.sentAt?.toISOString() ?? null })) };
  });
};
