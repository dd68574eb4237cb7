// `allin sim [--port N]`: the network simulator on its own, for separate serve/worker processes
// (point SIMULATOR_URL at it) and for trying AllIN against every network without accounts anywhere.
import { parseArgs } from 'node:util';

export async function simCommand(args: string[]): Promise<number> {
  const { values } = parseArgs({ args, options: { port: { type: 'string' }, host: { type: 'string' } } });
  const { startSimulator } = await import('../../tools/provider-sim/server.ts');
  const sim = await startSimulator({ port: Number(values.port ?? 7070), host: values.host ?? '127.0.0.1' });
  console.log(JSON.stringify({ msg: `network simulator listening at ${sim.url} (networks under /<name>/, control under /_sim/)`, url: sim.url }));
  await new Promise<void>((resolve) => {
    const stop = () => void sim.stop().then(resolve);
    process.once('SIGINT', stop);
    process.once('SIGTERM', stop);
  });
  return 0;
}
