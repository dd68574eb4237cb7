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

test('row keys are kept per key and row: the same answers as a fresh derivation, and a row still opens only its own', () => {
  const k = key('k1');
  const [a, b] = [randomUUID(), randomUUID()];
  const writer = new TokenCipher([k]);
  const reader = new TokenCipher([k]);
  const ct = writer.encrypt('token-a', a);
  for (let i = 0; i < 3; i++) assert.equal(reader.decrypt(ct, a), 'token-a');
  assert.throws(() => reader.decrypt(ct, b), DecryptError);
  // A kept key of one master key is not used for a ciphertext of another with the same row.
  const other = new TokenCipher([key('k2'), k]);
  assert.equal(other.decrypt(ct, a), 'token-a');
  assert.equal(other.decrypt(other.encrypt('token-a2', a), a), 'token-a2');
  assert.throws(() => new TokenCipher([key('k1')]).decrypt(ct, a), DecryptError, 'another key under the same id does not open it');
});
