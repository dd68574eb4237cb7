// POST /api/workspaces/:workspaceId/link-card: the card Bluesky will show for a text (its first link's),
// so the composer can preview it. The text travels in the body, not the URL: links can carry tokens.
import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import { Type } from 'typebox';
import type { AuthGuards } from '../auth/index.ts';
import type { WorkspaceAccessFactory } from '../workspaces/index.ts';
import { WorkspaceParams, errors } from '../workspaces/index.ts';
import { detectFacets } from '../../providers/bluesky.ts';
import type { LinkCardSource } from '../../providers/types.ts';

export interface LinkCardRouteDeps {
  cards: LinkCardSource;
  guards: AuthGuards;
  workspaceAccess: WorkspaceAccessFactory;
}

const CardSchema = Type.Object({
  uri: Type.String({ description: 'The link, as written in the text' }),
  title: Type.String(),
  description: Type.String(),
  image: Type.Union([Type.String({ description: 'The thumbnail that will be uploaded, as a data: URL' }), Type.Null()]),
});

export const linkCardRoutes: FastifyPluginAsyncTypebox<LinkCardRouteDeps> = async (app, d) => {
  app.post('/link-card', {
    preHandler: [d.guards.any, d.workspaceAccess('posts.write')],
    schema: {
      tags: ['posts'], summary: 'The link card of a text\'s first link, as Bluesky will show it',
      description: 'Reads the page of the first link (Open Graph, Twitter card or <title> tags) through the private-address guard; card is null when there is no link or the page says nothing. Cached for 10 minutes.',
      params: WorkspaceParams,
      body: Type.Object({ text: Type.String({ maxLength: 10_000, description: 'The post\'s text (a Bluesky post holds at most 3,000 bytes)' }) }, { additionalProperties: false }),
      response: { 200: Type.Object({ card: Type.Union([CardSchema, Type.Null()]) }), ...errors(400, 401, 403, 404) },
    },
  }, async (req) => {
    const link = detectFacets(req.body.text).find((f) => f.kind === 'link');
    const card = link ? await d.cards.card(link.value) : null;
    if (!card) return { card: null };
    const image = card.thumb ? `data:${card.thumb.mimeType};base64,${card.thumb.bytes.toString('base64')}` : null;
    return { card: { uri: card.uri, title: card.title, description: card.description, image } };
  });
};
