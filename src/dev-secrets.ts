// In development AllIN needs no set-up: secrets that are not configured are generated once and kept in
// ALLIN_HOME/secrets.json (mode 0600), so a restart keeps sessions valid and encrypted tokens readable.
// Production never comes here: readConfig already refused to start without real secrets.
import { randomBytes } from 'node:crypto';
import { mkdirSync, openSync, readFileSync, writeSync, closeSync, chmodSync } from 'node:fs';
import { join } from 'node:path';
import type { Config } from './config.ts';
import type { DatabaseTarget } from './infra/db/connect.ts';

export interface DevSecrets {
  AUTH_SECRET: string;
  ENCRYPTION_KEYS: string;
  EMBEDDED_DATABASE_PASSWORD: string;
}

function generate(): DevSecrets {
  return {
    AUTH_SECRET: randomBytes(48).toString('base64url'),
    ENCRYPTION_KEYS: `dev1:${randomBytes(32).toString('base64')}`,
    EMBEDDED_DATABASE_PASSWORD: randomBytes(24).toString('base64url'),
  };
}

/** Reads the development secrets file, creating it (exclusively, so two processes agree) when missing. */
export function loadDevSecrets(home: string): DevSecrets {
  mkdirSync(home, { recursive: true, mode: 0o755 });
  const file = join(home, 'secrets.json');
  try {
    const fd = openSync(file, 'wx', 0o600);
    try {
      writeSync(fd, JSON.stringify(generate(), null, 2) + '\n');
    } finally {
      closeSync(fd);
    }
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== 'EEXIST') throw err;
  }
  chmodSync(file, 0o600);
  const stored = JSON.parse(readFileSync(file, 'utf8')) as Partial<DevSecrets>;
  // A file from an older version may lack a field: fill it in and keep the rest.
  const missing = Object.entries(generate()).filter(([k]) => !stored[k as keyof DevSecrets]);
  if (missing.length === 0) return stored as DevSecrets;
  const merged = { ...Object.fromEntries(missing), ...stored } as DevSecrets;
  const fd = openSync(file, 'w', 0o600);
  try {
    writeSync(fd, JSON.stringify(merged, null, 2) + '\n');
  } finally {
    closeSync(fd);
  }
  return merged;
}

/** Fills unset secrets from the development secrets file. Production configs are returned unchanged. */
export function withDevSecrets(config: Config): Config {
  if (config.NODE_ENV === 'production') return config;
  if (config.AUTH_SECRET && config.ENCRYPTION_KEYS) return config;
  const dev = loadDevSecrets(config.ALLIN_HOME);
  return {
    ...config,
    AUTH_SECRET: config.AUTH_SECRET ?? dev.AUTH_SECRET,
    ENCRYPTION_KEYS: config.ENCRYPTION_KEYS ?? dev.ENCRYPTION_KEYS,
  };
}

/** Where a one-shot command finds the database: DATABASE_URL, or the embedded server whose password is kept here. */
export function databaseTarget(config: Config): DatabaseTarget {
  return {
    url: config.DATABASE_URL,
    home: config.ALLIN_HOME,
    embeddedPassword: () => loadDevSecrets(config.ALLIN_HOME).EMBEDDED_DATABASE_PASSWORD,
    attempts: config.STARTUP_MAX_ATTEMPTS,
    maxDelayMs: config.STARTUP_RETRY_MAX_DELAY_MS,
  };
}
