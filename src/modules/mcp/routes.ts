// POST /mcp: the Model Context Protocol's Streamable HTTP transport (https://modelcontextprotocol.io/specification/2025-06-18/basic/transports),
// stateless: each request is authenticated by a workspace API key (Authorization: Bearer allin_…, the
// REST API's own guard and rate limit), gets a fresh server bound to that key, and is answered with plain
// JSON. Nothing is kept between requests, so any API process answers any request. GET (a server-initiated
// event stream) and DELETE (ending a session) have nothing to do without sessions: 405, as the spec allows.
import type { FastifyPluginAsync, FastifyReply, FastifyRequest } from 'fastify';
import { Forbidden } from '../../domain/errors.ts';
import { describeError, logError } from '../../http/errors.ts';
import { RequestValidator } from '../../http/request-validation.ts';
import type { AuthGuards } from '../auth/index.ts';
import { auditActor, keyAccess, type MembershipLookup, type SecondFactorLookup } from '../workspaces/index.ts';
import type { McpServices } from './tools.ts';
import { MCP_PATH } from './path.ts';

export interface McpRouteDeps {
  services: McpServices;
  workspaces: MembershipLookup;
  secondFactor: SecondFactorLookup;
  guards: AuthGuards;
  version: string;
}

/** The request headers the transport reads; the Authorization header stays out of it. */
const FORWARDED = ['accept', 'content-type', 'mcp-protocol-version', 'mcp-session-id', 'last-event-id'];

export const mcpRoutes: FastifyPluginAsync<McpRouteDeps> = async (app, d) => {
  const validator = new RequestValidator();
  // The SDK (with zod and its own Ajv) is loaded by the first MCP request, not by every process that imports
  // the app (workers, one-shot commands) nor during start-up.
  let sdk: Promise<[typeof import('@modelcontextprotocol/sdk/server/webStandardStreamableHttp.js'), typeof import('./server.ts')]> | undefined;
  const loadSdk = () => (sdk ??= Promise.all([import('@modelcontextprotocol/sdk/server/webStandardStreamableHttp.js'), import('./server.ts')]));

  const answer = async (req: FastifyRequest, reply: FastifyReply) => {
    const caller = req.caller;
    if (caller?.kind !== 'apiKey') {
      throw new Forbidden('API_KEY_REQUIRED', 'The MCP endpoint takes a workspace API key (Authorization: Bearer allin_…), not a person\'s sign-in: '
        + 'an owner or admin creates one under the workspace\'s API keys, with the scopes the agent needs.');
    }
    const [{ WebStandardStreamableHTTPServerTransport }, { createMcpServer }] = await loadSdk();
    const access = await keyAccess(caller, d);
    const answerError = (err: unknown) => {
      const answer = describeError(err as Parameters<typeof describeError>[0]);
      logError(req.log, err, answer);
      return answer;
    };
    const server = createMcpServer({ services: d.services, answerError, validator, log: req.log, version: d.version }, {
      workspaceId: caller.workspaceId, access, userId: caller.createdBy, actor: auditActor(req),
    }, req.id);
    const transport = new WebStandardStreamableHTTPServerTransport({ sessionIdGenerator: undefined, enableJsonResponse: true });
    transport.onerror = (err) => req.log.debug({ err: err.message }, 'mcp: request refused by the transport');
    await server.connect(transport);
    try {
      const headers = new Headers();
      for (const name of FORWARDED) {
        const v = req.headers[name];
        if (typeof v === 'string') headers.set(name, v);
      }
      // The host part is never read (no DNS-rebinding check is needed: a browser cannot attach the key by itself).
      const res = await transport.handleRequest(new Request(new URL(req.url, 'http://mcp.invalid'), { method: 'POST', headers }), { parsedBody: req.body });
      reply.status(res.status);
      res.headers.forEach((value, name) => { reply.header(name, value); });
      const body = await res.text();
      return reply.send(body.length > 0 ? body : null);
    } finally {
      await server.close();
    }
  };

  const notHere = async (_req: FastifyRequest, reply: FastifyReply) => reply.status(405).header('allow', 'POST').send({
    jsonrpc: '2.0', id: null, error: { code: -32000, message: 'This MCP server is stateless: send every message with POST; there is no event stream or session to open or end.' },
  });

  // Hidden from /openapi.json: it speaks JSON-RPC (docs/MCP.md), not the REST API's resources.
  const schema = { hide: true };
  app.post(MCP_PATH, { preHandler: d.guards.any, schema }, answer);
  app.get(MCP_PATH, { preHandler: d.guards.any, schema }, notHere);
  app.delete(MCP_PATH, { preHandler: d.guards.any, schema }, notHere);
};
