// Tracked links over HTTP. `GET /l/{code}` is public: it answers a stored short link with a 302 to its
// stored destination and anything else with a 404 page (it never sends anyone to an address taken from
// the request, so it cannot be used as an open redirect). Under the workspace: the link rules (read with
// workspace.read, changed with workspace.rename), the links and their clicks (analytics.read).
import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import { Type } from 'typebox';
import type { AuthGuards } from '../auth/index.ts';
import type { WorkspaceAccessFactory } from '../workspaces/index.ts';
import { Uuid, WorkspaceParams, auditActor, errors } from '../workspaces/index.ts';
import { MAX_RANGE_DAYS, metricsRange } from '../analytics/index.ts';
import { NextCursor, pageQuery } from '../../http/paging.ts';
import { CAMPAIGN_MODES } from './schema.ts';
import { CODE_PATTERN } from './rules.ts';
import { MAX_UTM_VALUE, type LinkService } from './service.ts';
import type { LinkRedirects } from './redirect.ts';

export interface LinkRouteDeps {
  links: LinkService;
  guards: AuthGuards;
  workspaceAccess: WorkspaceAccessFactory;
  now?: () => Date;
}

const tags = ['links'];
const CODE_RE = new RegExp(CODE_PATTERN);
const NOT_FOUND_PAGE = '<!doctype html><html lang="en"><head><meta charset="utf-8"><title>Link not found</title>' +
  '<meta name="viewport" content="width=device-width, initial-scale=1"></head><body><h1>Link not found</h1>' +
  '<p>This short link does not exist. Check that it was copied whole.</p></body></html>';

/** `GET /l/{code}`, at the root of the public address. */
export const linkRedirectRoutes: FastifyPluginAsyncTypebox<{ redirects: LinkRedirects }> = async (app, d) => {
  app.get('/l/:code', {
    schema: {
      tags, summary: 'Follow a short link: 302 to its destination (the click is counted), or a 404 page',
      params: Type.Object({ code: Type.String({ maxLength: 64, description: `The link's code (${CODE_PATTERN})` }) }),
      response: {
        302: Type.Null({ description: 'Location: the destination stored with the link (its URL with the workspace\'s UTM parameters)' }),
        404: Type.String({ description: 'An HTML page: no such link' }),
      },
    },
  }, async (req, reply) => {
    const { code } = req.params;
    // HEAD (some link checkers) is answered like GET but not counted.
    const destination = CODE_RE.test(code) ? await d.redirects.follow(code, req.headers['user-agent'], req.method === 'GET') : null;
    reply.header('cache-control', 'private, no-store').header('x-content-type-options', 'nosniff');
    if (destination === null) {
      return reply.status(404).type('text/html; charset=utf-8').header('content-security-policy', "default-src 'none'").send(NOT_FOUND_PAGE);
    }
    return reply.redirect(destination, 302);
  });
};

const Rules = Type.Object({
  shorten: Type.Boolean({ description: 'Whether URLs in posts are published as short links /l/{code} on this server (clicks are counted per network)' }),
  utmSources: Type.Record(Type.String({ pattern: '^[a-z0-9_-]{1,40}$' }), Type.String({ maxLength: MAX_UTM_VALUE }), {
    description: 'utm_source per network id where it should not be the network id itself (e.g. {"x": "twitter"})',
  }),
  utmMedium: Type.String({ maxLength: MAX_UTM_VALUE, description: 'utm_medium (default social)' }),
  campaignMode: Type.Enum([...CAMPAIGN_MODES], { description: 'label: the post\'s first label by name, else utmCampaign; fixed: utmCampaign; none: no utm_campaign' }),
  utmCampaign: Type.Union([Type.String({ maxLength: MAX_UTM_VALUE }), Type.Null()], { description: 'The fixed campaign, or the one for posts without a label' }),
  utmContent: Type.Union([Type.String({ maxLength: MAX_UTM_VALUE }), Type.Null()], { description: 'utm_content template: {network} and {post} (the post id) are filled in; null: none' }),
});

const LinkSchema = Type.Object({
  id: Type.String(), code: Type.String(), shortUrl: Type.String({ description: 'What the networks got' }),
  url: Type.String({ description: 'The URL as written in the post' }),
  destination: Type.String({ description: 'Where the short link sends: the URL with the UTM parameters of the rules when it was made' }),
  network: Type.String(), postId: Type.Union([Type.String(), Type.Null()], { description: 'null once the post is deleted (the link keeps working)' }),
  createdAt: Type.String({ format: 'date-time' }),
  clicks: Type.Integer({ description: 'Clicks by people, in all' }), botClicks: Type.Integer({ description: 'Fetches by bots and link-preview crawlers, in all' }),
});
const DayClicks = Type.Object({ date: Type.String({ description: 'UTC day' }), clicks: Type.Integer(), botClicks: Type.Integer() });
const RangeQuery = Type.Object({
  from: Type.Optional(Type.String({ format: 'date', description: 'First UTC day, YYYY-MM-DD (default: 29 days before to)' })),
  to: Type.Optional(Type.String({ format: 'date', description: `Last UTC day, included (default: today); at most ${MAX_RANGE_DAYS} days in all` })),
}, { additionalProperties: false });

/** Under /api/workspaces/:workspaceId. */
export const linkRoutes: FastifyPluginAsyncTypebox<LinkRouteDeps> = async (app, d) => {
  const now = d.now ?? (() => new Date());
  const read = [d.guards.any, d.workspaceAccess('analytics.read')];
  const days = (q: { from?: string | undefined; to?: string | undefined }) => metricsRange({ ...q, timeZone: 'UTC' }, now()).days;

  app.get('/links/settings', {
    preHandler: [d.guards.any, d.workspaceAccess('workspace.read')],
    schema: { tags, summary: 'The workspace\'s link rules: shortening and UTM parameters', params: WorkspaceParams, response: { 200: Rules, ...errors(400, 401, 403, 404) } },
  }, async (req) => d.links.rules(req.params.workspaceId));

  app.put('/links/settings', {
    preHandler: [d.guards.any, d.workspaceAccess('workspace.rename')],
    schema: {
      tags, summary: 'Change the workspace\'s link rules (fields left out keep their value)',
      description: 'Applies to posts published from now on; links already made keep their destination. A UTM parameter written in a URL is never replaced.',
      params: WorkspaceParams, body: Type.Partial(Rules, { additionalProperties: false }),
      response: { 200: Rules, ...errors(400, 401, 403, 404) },
    },
  }, async (req) => d.links.setRules(req.params.workspaceId, req.body, auditActor(req)));

  app.get('/links', {
    preHandler: read,
    schema: {
      tags, summary: 'The workspace\'s short links, newest first, with their clicks',
      params: WorkspaceParams,
      querystring: Type.Object({ ...pageQuery('links', 200, 50), postId: Type.Optional(Uuid('Only this post\'s links')) }, { additionalProperties: false }),
      response: { 200: Type.Object({ items: Type.Array(LinkSchema), nextCursor: NextCursor }), ...errors(400, 401, 403, 404) },
    },
  }, async (req) => d.links.list(req.params.workspaceId, req.query, req.query.postId?.toLowerCase()));

  app.get('/links/:linkId/clicks', {
    preHandler: read,
    schema: {
      tags, summary: 'A link\'s clicks per UTC day in a range, people and bots apart',
      params: Type.Object({ workspaceId: Uuid('Workspace id'), linkId: Uuid('Link id') }),
      querystring: RangeQuery,
      response: { 200: Type.Object({ link: LinkSchema, days: Type.Array(DayClicks) }), ...errors(400, 401, 403, 404) },
    },
  }, async (req) => d.links.clicksOf(req.params.workspaceId, req.params.linkId.toLowerCase(), days(req.query)));

  app.get('/analytics/links', {
    preHandler: read,
    schema: {
      tags: ['analytics', ...tags], summary: 'Clicks on the workspace\'s short links in a range of UTC days: in all, per network, per day',
      description: 'Counted by the redirect and written every few seconds; bots (link-preview fetchers, crawlers) are counted apart.',
      params: WorkspaceParams, querystring: RangeQuery,
      response: {
        200: Type.Object({
          from: Type.String(), to: Type.String(),
          totals: Type.Object({ clicks: Type.Integer(), botClicks: Type.Integer() }),
          networks: Type.Array(Type.Object({ network: Type.String(), clicks: Type.Integer(), botClicks: Type.Integer() })),
          days: Type.Array(DayClicks),
        }),
        ...errors(400, 401, 403, 404),
      },
    },
  }, async (req) => {
    const range = days(req.query);
    return { from: range[0]!, to: range.at(-1)!, ...(await d.links.overview(req.params.workspaceId, range)) };
  });
};
