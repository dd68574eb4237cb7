// The `allin` command. `allin` alone (and `npm start`) runs everything in one process; the other
// sub-commands run one role or one tool.
import { config as loadDotenv } from 'dotenv';
import { readConfig, ConfigError, type Config } from './config.ts';
import { withDevSecrets, databaseTarget } from './dev-secrets.ts';
import { createLogger, safeUrl, type Logger } from './infra/logger.ts';
import { startRuntime, StartupRefused, type Running } from './runtime.ts';
import { DependencyError } from './infra/retry.ts';
import { isDatabaseUnavailable } from './infra/db/errors.ts';
import type { Role } from './app.ts';
import { VERSION } from './version.ts';

const USAGE = `allin ${VERSION}: social media scheduling, published exactly once

Usage: allin [command] [options]

Commands:
  start            API and job runner in one process (the default; npm start). Without DATABASE_URL it
                   runs an embedded PostgreSQL; without REDIS_URL it keeps shared state in memory.
  serve            HTTP API only; needs DATABASE_URL and REDIS_URL (run as many as you like)
  worker           job runner only; needs DATABASE_URL and REDIS_URL (serves /health and /metrics on WORKER_PORT)
  migrate          apply pending database migrations and exit
  users create     create a verified user: --email EMAIL --password PASSWORD [--name NAME] [--json]
  seed             fill an empty database with an agency-sized dataset, reproducibly: [--scale N] [--seed N]
                   [--force] … (allin seed --help)
  mail             show recent outgoing mail (the outbox): [--to EMAIL] [--limit N] [--json]
  keys rotate      re-encrypt every stored secret (tokens, webhook and Mastodon app secrets) under the first key of ENCRYPTION_KEYS
  sim [--port N]   run the network simulator (every network AllIN speaks, locally; default port 7070);
                   a development tool: needs \`npm install\` without --omit=dev
  bench [names]    run benchmarks (see bench/README.md), e.g. allin bench health; a development tool too
  mcp              AllIN's MCP server for a local AI agent, on stdin/stdout, relayed to a running AllIN:
                   ALLIN_URL and ALLIN_API_KEY (allin mcp --help, docs/MCP.md)
  loadtest [scenario] --url BASE   load-test a running AllIN: baseline, scaled, stress, journey, open, agency;
                   reports, --json, --html FILE, --compare previous.json (allin loadtest --help)
  help             this text

Configuration comes from the environment and a .env file; see .env.example and the README.`;

export async function main(argv: string[]): Promise<void> {
  const [command = 'start', ...rest] = argv;
  if (command === 'help' || command === '--help' || command === '-h') {
    console.log(USAGE);
    return;
  }
  if (command === '--version' || command === 'version') {
    console.log(VERSION);
    return;
  }
  loadDotenv({ quiet: true });
  if (command === 'loadtest') { // a client: it needs none of the server's configuration
    const { loadtestCommand } = await import('./loadtest/cli.ts');
    process.exitCode = await loadtestCommand(rest);
    return;
  }
  if (command === 'mcp') { // a client too: standard output is the protocol's, so nothing else may print there
    const { mcpCommand } = await import('./cli/mcp.ts');
    process.exitCode = await mcpCommand(rest, process.env);
    return;
  }
  // Development tools (src/dev-tools.ts loads them; a production install says it has none): they need
  // none of the server's configuration either, so a production environment gets that answer, not a
  // complaint about missing secrets.
  if (command === 'sim') {
    const { simCommand } = await import('./cli/sim.ts');
    process.exitCode = await simCommand(rest);
    return;
  }
  if (command === 'bench') {
    const { loadBench } = await import('./dev-tools.ts');
    const bench = await loadBench('bench');
    process.exitCode = bench ? await bench.runBench(rest) : 1;
    return;
  }

  let config: Config;
  try {
    config = withDevSecrets(readConfig(process.env));
  } catch (err) {
    if (err instanceof ConfigError) {
      console.error(`allin: ${err.message}\nSee .env.example and the README's configuration table.`);
      process.exit(78); // EX_CONFIG
    }
    throw err;
  }
  const log = createLogger({ level: config.LOG_LEVEL, format: config.LOG_FORMAT });

  switch (command) {
    case 'start':
    case 'serve':
    case 'worker':
      return runServer(command, config, log);
    case 'migrate':
      return runMigrate(config, log);
    case 'users': {
      const { usersCommand } = await import('./cli/users.ts');
      process.exitCode = await usersCommand(rest, config, log);
      return;
    }
    case 'keys': {
      const { keysCommand } = await import('./cli/keys.ts');
      process.exitCode = await keysCommand(rest, config, log);
      return;
    }
    case 'seed': {
      const { seedCommand } = await import('./cli/seed.ts');
      process.exitCode = await seedCommand(rest, config, log);
      return;
    }
    case 'mail': {
      const { mailCommand } = await import('./cli/mail.ts');
      process.exitCode = await mailCommand(rest, config, log);
      return;
    }
    default:
      console.error(`allin: unknown command "${command}"\n\n${USAGE}`);
      process.exit(64); // EX_USAGE
  }
}

async function runServer(role: Role, config: Config, log: Logger): Promise<void> {
  const abort = new AbortController();
  let running: Running | undefined;
  let signals = 0;

  const onSignal = (signal: NodeJS.Signals) => {
    signals++;
    if (signals > 1) {
      log.warn({ signal }, 'second signal: exiting now');
      running?.forceStopDatabase();
      process.exit(130);
    }
    abort.abort();
    if (!running) return; // start-up sees the abort, cleans up and exits
    running.stop(signal).then(() => process.exit(0), (err: unknown) => {
      log.error({ err }, 'shutdown failed');
      process.exit(1);
    });
  };
  process.on('SIGTERM', onSignal);
  process.on('SIGINT', onSignal);

  try {
    running = await startRuntime(role, config, log, { signal: abort.signal });
  } catch (err) {
    if (err instanceof StartupRefused) log.fatal(err.message);
    else if (err instanceof DependencyError) log.fatal({ dependency: err.dependency, attempts: err.attempts }, err.message);
    else log.fatal({ err }, 'start-up failed');
    process.exit(abort.signal.aborted ? 0 : 1);
  }
  if (abort.signal.aborted) {
    await running.stop('signal during start-up');
    process.exit(0);
  }
  const r = running;
  // The job runner (graphile-worker 0.17) records a job's outcome without awaiting it; while PostgreSQL is
  // unreachable that query fails with nobody to catch it. The job stays locked by this worker, and the
  // publishing sweeper adds its target's job again once the database is back (PublishingService.sweep);
  // the runner itself carries on and picks up work
  // when the database returns. Shutting the process down for it would turn a database outage into a
  // worker outage. Any other unhandled rejection is a defect and ends the process, as Node would.
  process.on('unhandledRejection', (reason) => {
    if (isDatabaseUnavailable(reason)) {
      log.warn({ err: reason }, 'a database call failed while the database is unreachable; carrying on');
      return;
    }
    throw reason;
  });
  process.on('uncaughtException', (err) => {
    log.fatal({ err }, 'uncaught exception; shutting down');
    // stop() waits on the database and the job runner; when the fault is the database itself it may never
    // finish, and a process that neither works nor exits is never restarted by its supervisor.
    setTimeout(() => process.exit(1), config.SHUTDOWN_TIMEOUT_MS + 1_000).unref();
    void r.stop('uncaught exception').finally(() => process.exit(1));
  });
  log.info({
    role, url: r.url, database: r.embedded ? `embedded (port ${r.embedded.port})` : safeUrl(config.DATABASE_URL!),
    stores: r.store.kind,
  }, r.url ? `AllIN is ready at ${r.url} (API docs at ${r.url}/docs)` : 'AllIN worker is ready');
}

async function runMigrate(config: Config, log: Logger): Promise<void> {
  const { withDatabase } = await import('./infra/db/connect.ts');
  const { applyMigrations } = await import('./infra/db/migrate.ts');
  const result = await withDatabase(databaseTarget(config), log, (pool) => applyMigrations(pool, log));
  console.log(result.applied === 0
    ? `Database is up to date (${result.total} migrations).`
    : `Applied ${result.applied} of ${result.total} migrations.`);
}
