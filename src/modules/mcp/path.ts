/** Where the MCP server is served; `allin mcp` relays to it. */
export const MCP_PATH = '/mcp';
