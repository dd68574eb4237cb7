// Templates and hashtag groups through the API on a real database: fields asked for and filled in, per-network
// texts, media from the library (a file a template uses cannot be deleted, and says by what), names unique per
// owner whatever their case and listed by name a page at a time, personal items seen only by their member,
// API keys limited to the workspace's items, viewers reading only, another workspace seeing nothing.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { startTestApp, type TestApp } from './support/app.ts';
import { greyPng, member, newWorkspace, ok, person, type Person } from './support/fixtures.ts';

let t: TestApp;
let owner: Person;
let ws: string;

before(async () => {
  t = await startTestApp();
  owner = await person(t);
  ws = await newWorkspace(t, owner);
});
after(async () => { await t?.stop(); });

async function upload(token: string): Promise<string> {
  const form = new FormData();
  form.append('file', new Blob([greyPng(4, 4)]), 'pic.png');
  const res = await fetch(`${t.url}/api/workspaces/${ws}/media`, { method: 'POST', body: form, headers: { authorization: `Bearer ${token}` } });
  assert.equal(res.status, 201);
  return ((await res.json()) as { id: string }).id;
}

test('a template: fields found in its texts, filled in when rendered, a missing or malformed one refused by name; per-network texts; media it uses kept', async () => {
  const pic = await upload(owner.token);
  const tpl = await ok(t, 'POST', `/api/workspaces/${ws}/templates`, owner.token, {
    name: 'Product launch', text: 'Meet {{product}}: {{ tagline }} {price}', variants: { x: '{{product}} is here', linkedin: 'We are proud to launch {{product}}.' }, mediaIds: [pic.toUpperCase()],
  }, 201);
  assert.deepEqual(tpl.fields, ['product', 'tagline']);
  assert.equal(tpl.personal, false);
  assert.deepEqual(tpl.mediaIds, [pic]);

  const missing = await t.call('POST', `/api/workspaces/${ws}/templates/${tpl.id}/render`, { token: owner.token, body: { values: { product: 'Sourdough' } } });
  assert.equal(missing.status, 400);
  assert.equal(missing.body.code, 'MISSING_FIELDS');
  assert.match(missing.body.message, /\{\{tagline\}\}/);
  const rendered = await ok(t, 'POST', `/api/workspaces/${ws}/templates/${tpl.id}/render`, owner.token, { values: { product: 'Sourdough', tagline: 'baked at dawn' } });
  assert.deepEqual(rendered, {
    text: 'Meet Sourdough: baked at dawn {price}', variants: { x: 'Sourdough is here', linkedin: 'We are proud to launch Sourdough.' }, mediaIds: [pic],
  });
  const twoLines = await t.call('POST', `/api/workspaces/${ws}/templates/${tpl.id}/render`, { token: owner.token, body: { values: { product: 'a\nb', tagline: 'x' } } });
  assert.equal(twoLines.status, 400);

  const bad = await t.call('POST', `/api/workspaces/${ws}/templates`, { token: owner.token, body: { name: 'Bad', text: 'Hello {{First Name}}' } });
  assert.equal(bad.status, 400);
  assert.equal(bad.body.code, 'BAD_FIELD');
  const network = await t.call('POST', `/api/workspaces/${ws}/templates`, { token: owner.token, body: { name: 'Bad', text: 'x', variants: { myspace: 'x' } } });
  assert.equal(network.status, 400);
  const unknownMedia = await t.call('POST', `/api/workspaces/${ws}/templates`, { token: owner.token, body: { name: 'Bad', text: 'x', mediaIds: ['4d1f7a52-0000-4000-8000-000000000000'] } });
  assert.equal(unknownMedia.status, 400);
  assert.equal(unknownMedia.body.code, 'UNKNOWN_MEDIA');
  const taken = await t.call('POST', `/api/workspaces/${ws}/templates`, { token: owner.token, body: { name: 'PRODUCT LAUNCH', text: 'x' } });
  assert.equal(taken.status, 409);
  assert.equal(taken.body.code, 'NAME_TAKEN');
  assert.equal(taken.body.details[0].field, 'body.name', 'shown next to the name');

  // The file is the template's: deleting it is refused with the template named; once the template lets go, it goes.
  const refused = await t.call('DELETE', `/api/workspaces/${ws}/media/${pic}`, { token: owner.token });
  assert.equal(refused.status, 409);
  assert.equal(refused.body.code, 'MEDIA_IN_USE');
  assert.match(refused.body.message, /template "Product launch"/);
  assert.deepEqual(refused.body.details.templates, [{ id: tpl.id }]);
  const uses = await ok(t, 'GET', `/api/workspaces/${ws}/media/${pic}/uses`, owner.token);
  assert.deepEqual(uses.uses.map((u: { kind: string; url: string }) => [u.kind, u.url]), [['template', `/api/workspaces/${ws}/templates/${tpl.id}`]]);
  const changed = await ok(t, 'PATCH', `/api/workspaces/${ws}/templates/${tpl.id}`, owner.token, { mediaIds: [], text: 'Meet {{product}}' });
  assert.deepEqual(changed.fields, ['product']);
  assert.equal(changed.variants.x, '{{product}} is here', 'what is left out stays');
  await ok(t, 'DELETE', `/api/workspaces/${ws}/media/${pic}`, owner.token);
  await ok(t, 'DELETE', `/api/workspaces/${ws}/templates/${tpl.id}`, owner.token, undefined, 204);
  assert.equal((await t.call('GET', `/api/workspaces/${ws}/templates/${tpl.id}`, { token: owner.token })).status, 404);
});

test('personal items are their member\'s; the list pages by name; viewers read; API keys see the workspace\'s only; another workspace sees nothing', async () => {
  const editor = await member(t, ws, owner, 'editor');
  const viewer = await member(t, ws, owner, 'viewer');
  for (const name of ['banana', 'Apple', 'cherry']) await ok(t, 'POST', `/api/workspaces/${ws}/templates`, owner.token, { name: `Paging ${name}`, text: name }, 201);
  const mine = await ok(t, 'POST', `/api/workspaces/${ws}/templates`, editor.token, { name: 'Paging apple', text: 'my own', personal: true }, 201);
  assert.equal(mine.personal, true, 'a personal name may repeat a shared one');

  const names = async (token: string) => {
    const seen: string[] = [];
    let cursor: string | undefined;
    do {
      const page = await ok(t, 'GET', `/api/workspaces/${ws}/templates?limit=2${cursor ? `&cursor=${cursor}` : ''}`, token);
      seen.push(...page.items.map((i: { name: string; personal: boolean }) => `${i.name}${i.personal ? ' (mine)' : ''}`));
      cursor = page.nextCursor ?? undefined;
    } while (cursor);
    return seen.filter((n) => n.startsWith('Paging'));
  };
  const editorSees = await names(editor.token);
  // The two apples have one name without case: their order between them is by id.
  assert.deepEqual([...editorSees.slice(0, 2).sort(), ...editorSees.slice(2)], ['Paging Apple', 'Paging apple (mine)', 'Paging banana', 'Paging cherry']);
  assert.deepEqual(await names(owner.token), ['Paging Apple', 'Paging banana', 'Paging cherry']);
  // q: part of the name, ignoring case, paged like the whole list; % and _ are plain characters.
  const found = async (q: string, limit = 1) => {
    const seen: string[] = [];
    let cursor: string | undefined;
    do {
      const page = await ok(t, 'GET', `/api/workspaces/${ws}/templates?limit=${limit}&q=${encodeURIComponent(q)}${cursor ? `&cursor=${cursor}` : ''}`, editor.token);
      seen.push(...page.items.map((i: { name: string }) => i.name));
      cursor = page.nextCursor ?? undefined;
    } while (cursor);
    return seen;
  };
  assert.deepEqual((await found('APPLE')).sort(), ['Paging Apple', 'Paging apple']);
  assert.deepEqual(await found('ng ch'), ['Paging cherry']);
  assert.deepEqual(await found('%'), []);
  assert.equal((await t.call('GET', `/api/workspaces/${ws}/templates/${mine.id}`, { token: owner.token })).status, 404, 'another member\'s personal template is not found');
  assert.equal((await t.call('DELETE', `/api/workspaces/${ws}/templates/${mine.id}`, { token: owner.token })).status, 404);

  assert.deepEqual(await names(viewer.token), ['Paging Apple', 'Paging banana', 'Paging cherry']);
  const viewerWrites = await t.call('POST', `/api/workspaces/${ws}/templates`, { token: viewer.token, body: { name: 'Nope', text: 'x' } });
  assert.equal(viewerWrites.status, 403);

  const key = (await ok(t, 'POST', `/api/workspaces/${ws}/api-keys`, owner.token, { name: 'scheduler', scopes: ['write'] }, 201)).key as string;
  assert.deepEqual(await names(key), ['Paging Apple', 'Paging banana', 'Paging cherry']);
  const keyPersonal = await t.call('POST', `/api/workspaces/${ws}/templates`, { token: key, body: { name: 'Key own', text: 'x', personal: true } });
  assert.equal(keyPersonal.status, 400);
  assert.equal(keyPersonal.body.code, 'PERSONAL_NEEDS_MEMBER');

  const stranger = await person(t);
  const theirs = await newWorkspace(t, stranger, 'Elsewhere');
  assert.equal((await t.call('GET', `/api/workspaces/${ws}/templates`, { token: stranger.token })).status, 404);
  assert.equal((await t.call('GET', `/api/workspaces/${theirs}/templates/${mine.id}`, { token: stranger.token })).status, 404);
  assert.equal((await t.call('POST', `/api/workspaces/${theirs}/templates/${mine.id}/render`, { token: stranger.token, body: { values: {} } })).status, 404);
  assert.equal((await ok(t, 'GET', `/api/workspaces/${theirs}/templates`, stranger.token)).items.length, 0);
});

test('hashtag groups: hashtags cleaned (one #, duplicates whatever their case dropped), a non-hashtag refused by position, personal and shared, renamed, deleted', async () => {
  const editor = await member(t, ws, owner, 'editor');
  const g = await ok(t, 'POST', `/api/workspaces/${ws}/hashtag-groups`, owner.token, { name: 'Bakery', hashtags: ['#Sourdough', 'sourdough', ' bread ', '#Brød', 'baking_day'] }, 201);
  assert.deepEqual(g.hashtags, ['#Sourdough', '#bread', '#Brød', '#baking_day']);
  const bad = await t.call('POST', `/api/workspaces/${ws}/hashtag-groups`, { token: owner.token, body: { name: 'Bad', hashtags: ['#ok', '#not ok'] } });
  assert.equal(bad.status, 400);
  assert.equal(bad.body.code, 'BAD_HASHTAG');
  assert.equal(bad.body.details[0].field, 'body.hashtags[1]');
  const mine = await ok(t, 'POST', `/api/workspaces/${ws}/hashtag-groups`, editor.token, { name: 'bakery', hashtags: ['mine'], personal: true }, 201);
  const list = async (token: string) => (await ok(t, 'GET', `/api/workspaces/${ws}/hashtag-groups`, token)).items.map((i: { id: string }) => i.id);
  // Same name without case: ordered by id after it.
  assert.deepEqual(await list(editor.token), [g.id, mine.id].sort());
  assert.deepEqual(await list(owner.token), [g.id]);
  assert.deepEqual((await ok(t, 'GET', `/api/workspaces/${ws}/hashtag-groups?q=AKER`, editor.token)).items.map((i: { id: string }) => i.id), [g.id, mine.id].sort());
  assert.deepEqual((await ok(t, 'GET', `/api/workspaces/${ws}/hashtag-groups?q=rye`, editor.token)).items, []);
  const renamed = await ok(t, 'PATCH', `/api/workspaces/${ws}/hashtag-groups/${g.id}`, editor.token, { name: 'Bread', hashtags: ['#Rye'] });
  assert.equal(renamed.name, 'Bread');
  assert.deepEqual(renamed.hashtags, ['#Rye']);
  assert.equal((await t.call('PATCH', `/api/workspaces/${ws}/hashtag-groups/${mine.id}`, { token: owner.token, body: { name: 'x' } })).status, 404);
  await ok(t, 'DELETE', `/api/workspaces/${ws}/hashtag-groups/${mine.id}`, editor.token, undefined, 204);
  assert.deepEqual(await list(editor.token), [g.id]);
});
