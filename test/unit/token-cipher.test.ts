import { test } from 'node:test';
import assert from 'node:assert/strict';
import { randomBytes, randomUUID } from 'node:crypto';
import { TokenCipher, DecryptError } from '../../src/infra/crypto/token-cipher.ts';

const key = (id: string) => ({ id, key: randomBytes(32) });

test('round trip; a random nonce each time; the key id travels with it', () => {
  const c = new TokenCipher([key('k1')]);
  const row = randomUUID();
  const a = c.encrypt('secret-token', row);
  const b = c.encrypt('secret-token', row);
  assert.notEqual(a, b);
  assert.match(a, /^v1\.k1\./);
  assert.ok(!a.includes('secret-token'));
  assert.equal(c.decrypt(a, row), 'secret-token');
});

test('a ciphertext copied to another row does not decrypt', () => {
  const c = new TokenCipher([key('k1')]);
  const stolen = c.encrypt('victim-token', randomUUID());
  assert.throws(() => c.decrypt(stolen, randomUUID()), DecryptError);
});

test('tampering is detected', () => {
  const c = new TokenCipher([key('k1')]);
  const row = randomUUID();
  const ct = c.encrypt('t', row);
  const raw = Buffer.from(ct.split('.')[2]!, 'base64url');
  raw[raw.length - 1]! ^= 1;
  assert.throws(() => c.decrypt(`v1.k1.${raw.toString('base64url')}`, row), DecryptError);
  assert.throws(() => c.decrypt('garbage', row), DecryptError);
});

test('rotation: old keys still decrypt; new writes use the current key; an unknown key id is named', () => {
  const old = key('old');
  const row = randomUUID();
  const before = new TokenCipher([old]).encrypt('t', row);
  const after = new TokenCipher([key('new'), old]);
  assert.equal(after.decrypt(before, row), 't');
  assert.equal(after.isStale(before), true);
  const fresh = after.encrypt('t', row);
  assert.equal(after.isStale(fresh), false);
  assert.throws(() => new TokenCipher([key('other')]).decrypt(before, row), /key "old"/);
});
