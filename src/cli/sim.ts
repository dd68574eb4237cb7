// `allin sim [--port N]`: the network simulator on its own, for separate serve/worker processes
// (point SIMULATOR_URL at it) and for trying AllIN against every network without accounts anywhere.
// The simulator is a development tool (tools/provider-sim), loaded through src/dev-tools.ts: a production
// install says so in one line and exits 1.
import { parseArgs } from 'node:util';
import { loadDevTool, SIMULATOR, type SimulatorModule } from '../dev-tools.ts';

export async function simCommand(args: string[]): Promise<number> {
  const { values } = parseArgs({ args, options: { port: { type: 'string' }, host: { type: 'string' } } });
  const tool = await loadDevTool<SimulatorModule>('sim', SIMULATOR);
  if (!tool) return 1;
  const sim = await tool.startSimulator({ port: Number(values.port ?? 7070), host: values.host ?? '127.0.0.1' });
  console.log(JSON.stringify({ msg: `network simulator listening at ${sim.url} (networks under /<name>/, control under /_sim/)`, url: sim.url }));
  await new Promise<void>((resolve) => {
    const stop = () => void sim.stop().then(resolve);
    process.once('SIGINT', stop);
    process.once('SIGTERM', stop);
  });
  return 0;
}
