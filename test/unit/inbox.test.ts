// The inbox's pure parts: language tags as stored, question marks, the list cursor, and saved replies'
// variables (checked when saved, filled in when rendered).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { asksQuestion, languageOf } from '../../src/modules/inbox/language.ts';
import { decodeCursor, encodeCursor } from '../../src/modules/inbox/cursor.ts';
import { checkText, fill, variablesIn } from '../../src/modules/inbox/saved-replies.ts';
import { Invalid } from '../../src/domain/errors.ts';

test('a network\'s language tag is stored as its primary subtag, lower case; anything else as none', () => {
  assert.equal(languageOf('en-US'), 'en');
  assert.equal(languageOf('pt_BR'), 'pt');
  assert.equal(languageOf('DE'), 'de');
  assert.equal(languageOf('fil'), 'fil');
  for (const bad of [undefined, null, '', 'english', '12', 'x']) assert.equal(languageOf(bad), null, String(bad));
});

test('a question mark of the scripts the networks carry makes a message a question', () => {
  for (const q of ['When?', '¿Dónde está?', 'なぜ？', 'متى؟']) assert.equal(asksQuestion(q), true, q);
  for (const s of ['Thanks!', 'a;b', '']) assert.equal(asksQuestion(s), false, s);
});

test('a cursor comes back as it went out; anything else is refused as INVALID_CURSOR, not a 500', () => {
  const key = ['2026-12-07T01:40:16.725123Z', '0f01ea25-3389-40f3-8462-559b69ac260f'];
  assert.deepEqual(decodeCursor(encodeCursor(key), ['time', 'uuid']), key);
  const bad = [
    'not base64 json', encodeCursor(['2026-12-07T01:40:16Z']), encodeCursor(['yesterday', key[1]!]), encodeCursor([key[0]!, 'x']),
    encodeCursor([key[0]!, 7]), Buffer.from('{"a":1}').toString('base64url'), encodeCursor(['x'.repeat(600)]),
  ];
  for (const c of bad) {
    assert.throws(() => decodeCursor(c, c === bad.at(-1) ? ['string'] : ['time', 'uuid']), (e: unknown) => e instanceof Invalid && e.code === 'INVALID_CURSOR', c);
  }
});

test('saved replies: known variables are kept, unknown ones refused by name, other braces left alone', () => {
  assert.equal(checkText('  Hi {author_name}, {member_name} here {with a space} {}  '), 'Hi {author_name}, {member_name} here {with a space} {}');
  assert.deepEqual(variablesIn('{author_name} {author_name} {account_handle}'), ['author_name', 'account_handle']);
  assert.throws(() => checkText('Hi {first_name} and {last_name}'), (e: unknown) => e instanceof Invalid && e.code === 'UNKNOWN_VARIABLE' && /\{first_name\}, \{last_name\}/.test(e.message));
  assert.throws(() => checkText('   '), (e: unknown) => e instanceof Invalid);
});

test('rendering fills each variable; one without a value is left empty and named', () => {
  assert.deepEqual(fill('Hi {author_name} ({author_handle}), {member_name}. {unknown}', { author_name: 'Ada', author_handle: null, member_name: 'Sam' }),
    { text: 'Hi Ada (), Sam. {unknown}', missing: ['author_handle'] });
  assert.deepEqual(fill('no variables', {}), { text: 'no variables', missing: [] });
});
