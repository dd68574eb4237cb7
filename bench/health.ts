// GET /health throughput: AllIN with metrics on and off against a bare node:http server answering the
// same body, all measured in the same run, interleaved, median of the rounds.
// Goals: AllIN at least 0.6 of the bare server; metrics cost at most 5%.
import { freemem } from 'node:os';
import { startServer, load, median, fmt, ALLIN_BIN, ROOT, HAVE_WRK, type ServerProcess } from './lib.ts';

export async function benchHealth(args: string[]): Promise<void> {
  const seconds = Number(args.find((a) => a.startsWith('--seconds='))?.split('=')[1] ?? 5);
  const rounds = Number(args.find((a) => a.startsWith('--rounds='))?.split('=')[1] ?? 5);
  const connections = 50;
  const allinEnv = (metrics: boolean) => ({ PORT: '0', LOG_FORMAT: 'json', LOG_LEVEL: 'info', METRICS_ENABLED: String(metrics) });
  console.log(`health bench: ${rounds} rounds × ${seconds} s per server, ${connections} connections, keep-alive, ` +
    `load from ${HAVE_WRK ? 'wrk' : 'autocannon (install wrk for a load generator lighter than the server)'}; ${fmt(freemem() / 2 ** 30, 1)} GiB free`);

  const servers: Record<string, ServerProcess> = {};
  try {
    servers.bare = await startServer([`${ROOT}bench/servers/bare-http.js`], {});
    // Two AllIN processes share the embedded database (or DATABASE_URL); each needs its own port.
    servers.metricsOn = await startServer([ALLIN_BIN, 'start'], allinEnv(true));
    servers.metricsOff = await startServer([ALLIN_BIN, 'start'], allinEnv(false));
    for (const s of Object.values(servers)) await load(`${s.url}/health`, { connections, seconds: 1 }); // warm-up

    const rps: Record<string, number[]> = { bare: [], metricsOn: [], metricsOff: [] };
    const p99: Record<string, number[]> = { bare: [], metricsOn: [], metricsOff: [] };
    for (let round = 1; round <= rounds; round++) {
      for (const name of Object.keys(rps)) {
        const r = await load(`${servers[name]!.url}/health`, { connections, seconds });
        if (r.errors || r.non2xx) console.log(`  ${name}: ${r.errors} errors, ${r.non2xx} non-2xx`);
        rps[name]!.push(r.rps);
        p99[name]!.push(r.p99);
      }
      console.log(`  round ${round}: ${Object.entries(rps).map(([n, v]) => `${n} ${fmt(v.at(-1)!)} req/s`).join(', ')}`);
    }

    const m = Object.fromEntries(Object.entries(rps).map(([n, v]) => [n, median(v)])) as Record<string, number>;
    const rows = [
      ['bare node:http', m.bare!, median(p99.bare!)],
      ['AllIN, metrics on', m.metricsOn!, median(p99.metricsOn!)],
      ['AllIN, metrics off', m.metricsOff!, median(p99.metricsOff!)],
    ] as const;
    console.log('\n  server                 req/s (median)   p99 ms');
    for (const [name, r, p] of rows) console.log(`  ${name.padEnd(22)} ${fmt(r).padStart(14)}   ${fmt(p, 1).padStart(6)}`);
    const ratio = m.metricsOn! / m.bare!;
    const cost = 1 - m.metricsOn! / m.metricsOff!;
    console.log(`\n  AllIN (metrics on) / bare:  ${fmt(ratio, 2)}   (goal ≥ 0.60)`);
    console.log(`  AllIN (metrics off) / bare: ${fmt(m.metricsOff! / m.bare!, 2)}`);
    console.log(`  metrics cost:               ${fmt(cost * 100, 1)} %   (goal ≤ 5 %)`);
  } finally {
    await Promise.all(Object.values(servers).map((s) => s.stop()));
  }
}
