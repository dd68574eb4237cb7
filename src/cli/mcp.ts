// `allin mcp`: the MCP server on standard input and output for a local agent, relayed to a running AllIN
// (src/modules/mcp/stdio.ts). It needs none of the server's configuration: only ALLIN_URL and ALLIN_API_KEY.
import { STDIO_USAGE, StdioConfigError, runStdio, stdioSettings } from '../modules/mcp/stdio.ts';

export async function mcpCommand(argv: string[], env: NodeJS.ProcessEnv): Promise<number> {
  if (argv.includes('--help') || argv.includes('-h')) {
    console.error(STDIO_USAGE);
    return 0;
  }
  if (argv.length > 0) {
    console.error(`allin mcp: unexpected argument "${argv[0]}"; it is configured by the environment.\n\n${STDIO_USAGE}`);
    return 64;
  }
  let settings;
  try {
    settings = stdioSettings(env);
  } catch (err) {
    if (err instanceof StdioConfigError) {
      console.error(`allin mcp: ${err.message}`);
      return 78; // EX_CONFIG
    }
    throw err;
  }
  await runStdio(settings, (line) => console.error(line));
  return 0;
}
