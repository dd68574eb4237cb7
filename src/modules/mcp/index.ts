// The mcp module's public surface: AllIN as a Model Context Protocol server (docs/MCP.md), over Streamable
// HTTP at /mcp (`allin mcp`, the stdio relay, is src/cli/mcp.ts over ./stdio.ts).
export { mcpRoutes } from './routes.ts';
export { MCP_PATH } from './path.ts';
export type { McpRouteDeps } from './routes.ts';
