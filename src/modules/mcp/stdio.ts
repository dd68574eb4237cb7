// `allin mcp`: AllIN's MCP server on standard input and output, for agents that start their tools as local
// processes (Claude Desktop, editors). It relays every JSON-RPC message, unchanged, to a running AllIN's
// POST /mcp with the API key from ALLIN_API_KEY, and each answer back. So the agent's machine holds only a
// key limited to one workspace and its scopes (not the database, nor the encryption keys), and what the
// tools do and refuse is decided by the server, exactly as over HTTP.
import { StdioServerTransport } from '@modelcontextprotocol/sdk/server/stdio.js';
import { StreamableHTTPClientTransport, StreamableHTTPError } from '@modelcontextprotocol/sdk/client/streamableHttp.js';
import type { JSONRPCMessage } from '@modelcontextprotocol/sdk/types.js';
import { MCP_PATH } from './path.ts';

export const STDIO_USAGE = `allin mcp: AllIN's MCP server on stdin/stdout, relayed to a running AllIN

Environment:
  ALLIN_API_KEY   a workspace API key (allin_…); its scopes decide which tools work (required)
  ALLIN_URL       the AllIN to talk to, e.g. https://social.example.com (default http://localhost:7000)
  ALLIN_MCP_ALLOW_HTTP=1   allow plain http to a host other than this machine (the key would travel unencrypted)

See docs/MCP.md.`;

export class StdioConfigError extends Error {}

const LOOPBACK = new Set(['localhost', '127.0.0.1', '[::1]']);

/** The /mcp endpoint and the key, from the environment; a clear message for each mistake. */
export function stdioSettings(env: NodeJS.ProcessEnv): { endpoint: URL; apiKey: string } {
  const apiKey = env.ALLIN_API_KEY?.trim();
  if (!apiKey) throw new StdioConfigError('ALLIN_API_KEY is not set: give a workspace API key (allin_…), created by an owner or admin under the workspace\'s API keys.');
  if (!apiKey.startsWith('allin_')) throw new StdioConfigError('ALLIN_API_KEY is not an AllIN API key (they start with allin_).');
  let base: URL;
  try {
    base = new URL(env.ALLIN_URL?.trim() || 'http://localhost:7000');
  } catch {
    throw new StdioConfigError(`ALLIN_URL is not a URL: "${env.ALLIN_URL}"; give the address AllIN is served at, e.g. https://social.example.com.`);
  }
  if (base.protocol !== 'https:' && base.protocol !== 'http:') throw new StdioConfigError(`ALLIN_URL must be http or https, not ${base.protocol}`);
  if (base.username || base.password) throw new StdioConfigError('ALLIN_URL must not carry credentials; the key goes in ALLIN_API_KEY.');
  if (base.protocol === 'http:' && !LOOPBACK.has(base.hostname) && env.ALLIN_MCP_ALLOW_HTTP !== '1') {
    throw new StdioConfigError(`ALLIN_URL is plain http to ${base.hostname}: the API key would travel unencrypted. Use https, or set ALLIN_MCP_ALLOW_HTTP=1 on a network you trust.`);
  }
  // Relative to the base's path, so an AllIN served under a prefix (https://example.com/allin/) works.
  const path = base.pathname.endsWith('/') ? base.pathname : `${base.pathname}/`;
  return { endpoint: new URL(`${path}${MCP_PATH.slice(1)}`, base), apiKey };
}

/** What the server said when it refused a request (401, 403, 429…): its own message, not the transport's wrapping. */
function refusalMessage(err: unknown): string {
  if (err instanceof StreamableHTTPError) {
    const body = /Error POSTing to endpoint: (.*)$/s.exec(err.message)?.[1];
    try {
      const parsed = JSON.parse(body ?? '') as { code?: string; message?: string };
      if (parsed.message) return `AllIN refused the request (${err.code} ${parsed.code ?? ''}): ${parsed.message}`;
    } catch { /* not our error body: say what the transport said */ }
    return `AllIN answered ${err.code}: ${err.message}`;
  }
  return `AllIN could not be reached: ${(err as Error).message}`;
}

const isRequest = (m: JSONRPCMessage): m is JSONRPCMessage & { id: string | number; method: string } => 'method' in m && 'id' in m;

/** Relays until the agent closes standard input. Diagnostics go to `warn` (standard error): standard output is the protocol's. */
export async function runStdio(settings: { endpoint: URL; apiKey: string }, warn: (line: string) => void): Promise<void> {
  const local = new StdioServerTransport(process.stdin, process.stdout);
  const remote = new StreamableHTTPClientTransport(settings.endpoint, { requestInit: { headers: { authorization: `Bearer ${settings.apiKey}` } } });
  const closed = new Promise<void>((resolve) => { local.onclose = resolve; });

  local.onmessage = (message) => {
    remote.send(message).catch(async (err: unknown) => {
      const text = refusalMessage(err);
      warn(`allin mcp: ${text}`);
      // A request must be answered, or the agent waits for ever; a notification has no answer to give.
      if (isRequest(message)) await local.send({ jsonrpc: '2.0', id: message.id, error: { code: -32000, message: text } });
    });
  };
  remote.onmessage = (message) => {
    // After initialize, the HTTP transport names the negotiated version on each request (MCP-Protocol-Version).
    const result = 'result' in message ? message.result as { protocolVersion?: unknown; serverInfo?: unknown } : undefined;
    if (result && typeof result.protocolVersion === 'string' && result.serverInfo) remote.setProtocolVersion(result.protocolVersion);
    void local.send(message);
  };
  remote.onerror = (err) => warn(`allin mcp: ${err.message}`);
  local.onerror = (err) => warn(`allin mcp: ${err.message}`);

  await remote.start();
  await local.start();
  // The SDK's stdio transport does not notice the end of its input; the agent closing it means goodbye.
  process.stdin.once('end', () => { void local.close(); });
  await closed;
  await remote.close();
}
