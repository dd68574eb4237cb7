import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { randomBytes } from 'node:crypto';
import { readConfig, ConfigError, parseEncryptionKeys, isWeakSecret } from '../src/config.ts';
import { loadDevSecrets, withDevSecrets } from '../src/dev-secrets.ts';
import { renderEnvExample, withConfigTable } from '../src/config-docs.ts';
import { ROOT } from './support/process.ts';

const goodKey = () => `k1:${randomBytes(32).toString('base64')}`;
const problemsOf = (env: Record<string, string>) => {
  try {
    readConfig(env);
    return [];
  } catch (err) {
    assert.ok(err instanceof ConfigError);
    return err.problems;
  }
};

test('defaults: port 7000, development, everything optional', () => {
  const c = readConfig({});
  assert.equal(c.PORT, 7000);
  assert.equal(c.NODE_ENV, 'development');
  assert.equal(c.PUBLIC_URL, 'http://localhost:7000');
  assert.equal(c.DATABASE_URL, undefined);
  assert.equal(c.METRICS_ENABLED, true);
});

test('strings from the environment are converted to the declared types', () => {
  const c = readConfig({ PORT: '8080', METRICS_ENABLED: 'false', DATABASE_POOL_MAX: '25' });
  assert.equal(c.PORT, 8080);
  assert.equal(c.METRICS_ENABLED, false);
  assert.equal(c.DATABASE_POOL_MAX, 25);
});

test('every bad variable is named in one error', () => {
  const problems = problemsOf({ PORT: 'seventy', LOG_LEVEL: 'loud', DATABASE_URL: 'mysql://x@y/z', REDIS_URL: 'not a url', DATABASE_POOL_MAX: '0' });
  const named = (name: string) => problems.some((p) => p.startsWith(`${name}:`));
  for (const name of ['PORT', 'LOG_LEVEL', 'DATABASE_URL', 'REDIS_URL', 'DATABASE_POOL_MAX']) assert.ok(named(name), `${name} in ${problems.join(' | ')}`);
});

test('production requires the signing and encryption secrets', () => {
  const problems = problemsOf({ NODE_ENV: 'production' });
  assert.ok(problems.some((p) => p.startsWith('AUTH_SECRET:')));
  assert.ok(problems.some((p) => p.startsWith('ENCRYPTION_KEYS:')));
});

test('production refuses short and known-weak secrets, and never echoes them', () => {
  const problems = problemsOf({ NODE_ENV: 'production', AUTH_SECRET: 'changeme', ENCRYPTION_KEYS: goodKey() });
  assert.ok(problems.some((p) => p.startsWith('AUTH_SECRET: must be at least 32')));
  const weak = problemsOf({ NODE_ENV: 'production', AUTH_SECRET: 'a'.repeat(40), ENCRYPTION_KEYS: goodKey() });
  assert.ok(weak.some((p) => p.includes('AUTH_SECRET') && p.includes('low-entropy')));
  const example = problemsOf({ NODE_ENV: 'production', AUTH_SECRET: 'replace-with-a-long-random-value-please', ENCRYPTION_KEYS: goodKey() });
  assert.ok(example.some((p) => p.includes('AUTH_SECRET')));
  for (const p of [...problems, ...weak]) assert.ok(!p.includes('changeme') && !p.includes('aaaaaaaa'), p);
  assert.deepEqual(problemsOf({ NODE_ENV: 'production', AUTH_SECRET: randomBytes(48).toString('base64'), ENCRYPTION_KEYS: goodKey() }), []);
});

test('weak-secret detection', () => {
  assert.equal(isWeakSecret('password'), true);
  assert.equal(isWeakSecret('0000000000000000000000000000000000'), true);
  assert.equal(isWeakSecret(randomBytes(32).toString('base64')), false);
});

test('encryption keys: id:base64 of 32 bytes, ids unique, first is current', () => {
  const k1 = goodKey();
  const k2 = `old:${randomBytes(32).toString('base64')}`;
  const ok = parseEncryptionKeys(`${k1}, ${k2}`);
  assert.deepEqual(ok.problems, []);
  assert.deepEqual(ok.keys.map((k) => k.id), ['k1', 'old']);
  assert.ok(parseEncryptionKeys('k1:c2hvcnQ=').problems[0]?.includes('32 bytes'));
  assert.ok(parseEncryptionKeys('nokey').problems[0]?.includes('id:base64key'));
  assert.ok(parseEncryptionKeys(`${k1},${k1}`).problems.some((p) => p.includes('appears twice')));
});

test('development secrets are generated once, kept with mode 0600, and reused', () => {
  const home = mkdtempSync(join(tmpdir(), 'allin-secrets-'));
  const first = loadDevSecrets(home);
  const again = loadDevSecrets(home);
  assert.deepEqual(again, first);
  assert.equal(statSync(join(home, 'secrets.json')).mode & 0o777, 0o600);
  assert.ok(first.AUTH_SECRET.length >= 32);
  assert.deepEqual(parseEncryptionKeys(first.ENCRYPTION_KEYS).problems, []);
  const cfg = withDevSecrets(readConfig({ ALLIN_HOME: home }));
  assert.equal(cfg.AUTH_SECRET, first.AUTH_SECRET);
  // Production never reads or writes the file.
  const prod = withDevSecrets(readConfig({ NODE_ENV: 'production', ALLIN_HOME: home, AUTH_SECRET: randomBytes(48).toString('base64'), ENCRYPTION_KEYS: goodKey() }));
  assert.notEqual(prod.AUTH_SECRET, first.AUTH_SECRET);
});

test('.env.example and the README configuration table match the schema', () => {
  assert.equal(readFileSync(join(ROOT, '.env.example'), 'utf8'), renderEnvExample(), 'run `npm run docs:config`');
  const readme = readFileSync(join(ROOT, 'README.md'), 'utf8');
  assert.equal(readme, withConfigTable(readme), 'run `npm run docs:config`');
});
