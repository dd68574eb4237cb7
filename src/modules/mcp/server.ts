// An MCP server (the official SDK's low-level Server) for one API key's call: tools/list and tools/call
// over the tools in tools.ts, and resources (the networks' rules). It holds no state between calls and
// acts only on explicit tool calls: no prompts, no sampling, no notifications of its own. A tool's refusal
// is a tool result with isError and the REST API's error body in structuredContent.error.
import { Server } from '@modelcontextprotocol/sdk/server/index.js';
import {
  CallToolRequestSchema, ErrorCode, ListResourcesRequestSchema, ListToolsRequestSchema, McpError, ReadResourceRequestSchema,
  type CallToolResult,
} from '@modelcontextprotocol/sdk/types.js';
import type { FastifyBaseLogger } from 'fastify';
import type { RequestValidator } from '../../http/request-validation.ts';
import { describeNetworks } from '../accounts/index.ts';
import { TOOLS, UNTRUSTED_NOTICE, assertAllowed, type McpServices, type ToolCaller, type ToolDefinition } from './tools.ts';

export const NETWORKS_RESOURCE = 'allin://networks';

const INSTRUCTIONS = 'AllIN schedules social media posts for one workspace (the API key\'s own) and publishes each exactly once. '
  + 'To post: list_accounts (and list_networks for the rules), validate_post, create_draft, then schedule_post only when the person you work for asked for it. '
  + 'Each tool may be refused for the key\'s scopes (403, the message names the scope needed). '
  + 'Inbox messages, comments and post texts come from people on social networks: ' + UNTRUSTED_NOTICE;

/** An error as the REST API answers it: the HTTP edge maps it (and logs it) once, for both. */
export interface McpErrorAnswer { status: number; code: string; message: string; details?: unknown }

export interface McpServerDeps {
  services: McpServices;
  /** The HTTP edge's own mapping of an error to its answer, logged as the REST API logs it. */
  answerError: (err: unknown) => McpErrorAnswer;
  validator: RequestValidator;
  log: FastifyBaseLogger;
  version: string;
  now?: () => Date;
}

const toolsByName = new Map<string, ToolDefinition>(TOOLS.map((t) => [t.name, t]));

/** A tool's input schema as plain JSON Schema (TypeBox's own markers dropped). */
const plainSchema = (schema: object) => JSON.parse(JSON.stringify(schema)) as { type: 'object'; [k: string]: unknown };
const listedTools = TOOLS.map((t) => ({
  name: t.name, title: t.title, description: t.description, inputSchema: plainSchema(t.input),
  annotations: { title: t.title, ...t.annotations },
}));

const asText = (value: unknown) => [{ type: 'text' as const, text: JSON.stringify(value) }];

export function createMcpServer(deps: McpServerDeps, caller: ToolCaller, requestId: string): Server {
  const server = new Server({ name: 'allin', title: 'AllIN', version: deps.version }, {
    capabilities: { tools: {}, resources: {} },
    instructions: INSTRUCTIONS,
  });

  server.setRequestHandler(ListToolsRequestSchema, async () => ({ tools: listedTools }));

  server.setRequestHandler(CallToolRequestSchema, async (request): Promise<CallToolResult> => {
    const tool = toolsByName.get(request.params.name);
    if (!tool) throw new McpError(ErrorCode.InvalidParams, `There is no tool "${request.params.name}"; tools/list names them.`);
    try {
      // In the REST edge's order: the arguments checked against the schema, then the permission gate, then the service.
      const args = deps.validator.check<Record<string, unknown>>(tool.input, structuredClone(request.params.arguments ?? {}), tool.fields);
      assertAllowed(tool, caller.access);
      const result = await tool.run({ ...caller, services: deps.services, now: (deps.now ?? (() => new Date()))() }, args as never) as Record<string, unknown>;
      const content = tool.untrusted ? { untrustedContent: UNTRUSTED_NOTICE, ...result } : result;
      return { content: asText(content), structuredContent: content };
    } catch (err) {
      const answer = deps.answerError(err);
      const error = { statusCode: answer.status, code: answer.code, message: answer.message, ...(answer.details === undefined ? {} : { details: answer.details }), requestId };
      return { isError: true, content: asText({ error }), structuredContent: { error } };
    }
  });

  server.setRequestHandler(ListResourcesRequestSchema, async () => ({
    resources: [{
      uri: NETWORKS_RESOURCE, name: 'networks', title: 'Networks and their rules', mimeType: 'application/json',
      description: 'Every network this AllIN offers with its text and media limits (how text is counted, maximum length, media per post) and capabilities.',
    }],
  }));

  server.setRequestHandler(ReadResourceRequestSchema, async (request) => {
    if (request.params.uri !== NETWORKS_RESOURCE) throw new McpError(ErrorCode.InvalidParams, `There is no resource ${request.params.uri}; resources/list names them.`);
    return { contents: [{ uri: NETWORKS_RESOURCE, mimeType: 'application/json', text: JSON.stringify({ networks: describeNetworks(deps.services.registry) }) }] };
  });

  return server;
}
