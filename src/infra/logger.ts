// pino, Fastify's own logger. Secrets are redacted by path before a line is written: authorization
// headers, cookies, and any field that carries a password or token, wherever it is nested.
import pino, { type Logger } from 'pino';

// Paths, not deep wildcards: pino applies redaction to the bindings of every child logger, and Fastify
// makes one per request, so each path here costs on every request. Fastify's own request serializer
// never logs headers; these cover what our code logs.
export const REDACT_PATHS = [
  'req.headers.authorization',
  'req.headers.cookie',
  'req.headers["x-api-key"]',
  'res.headers["set-cookie"]',
  'headers.authorization',
  'headers.cookie',
  ...['password', 'newPassword', 'currentPassword', 'token', 'accessToken', 'refreshToken', 'secret', 'apiKey',
    'AUTH_SECRET', 'ENCRYPTION_KEYS', 'METRICS_TOKEN', 'DATABASE_URL', 'REDIS_URL', 'connectionString']
    .flatMap((k) => [k, `*.${k}`]),
];

export type { Logger };

export interface LoggerOptions {
  level: pino.LevelWithSilent;
  /** `auto`: readable on a terminal, JSON otherwise. */
  format: 'auto' | 'json' | 'pretty';
}

export function createLogger(opts: LoggerOptions, destination?: pino.DestinationStream): Logger {
  const pretty = opts.format === 'pretty' || (opts.format === 'auto' && process.stdout.isTTY === true);
  const options: pino.LoggerOptions = {
    level: opts.level,
    redact: { paths: REDACT_PATHS, censor: '[redacted]' },
    base: { pid: process.pid },
  };
  if (destination) return pino(options, destination);
  if (pretty) {
    return pino({ ...options, transport: { target: 'pino-pretty', options: { translateTime: 'HH:MM:ss.l', ignore: 'pid,hostname' } } });
  }
  return pino(options);
}

/** Strips credentials from a connection URL so it can be logged. */
export function safeUrl(url: string): string {
  try {
    const u = new URL(url);
    if (u.password) u.password = '***';
    return u.toString();
  } catch {
    return '[unparseable url]';
  }
}
