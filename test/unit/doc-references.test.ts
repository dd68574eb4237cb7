// What the code and the docs cite must be readable by anyone who has only this repository: a file it
// names (README.md, docs/NETWORKS.md, …) must be in the repository, and the network facts the adapters
// rely on are in docs/NETWORKS.md, each with the network's own public page and how sure it is.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, readdirSync, readFileSync, statSync } from 'node:fs';
import { dirname, join, relative, resolve, sep } from 'node:path';
import { fileURLToPath } from 'node:url';

const ROOT = fileURLToPath(new URL('../..', import.meta.url));
const SCANNED = ['src', 'tools', 'test', 'bench', 'docs', 'scripts', 'web/src', 'deploy', 'README.md'];
const SKIP_DIRS = new Set(['node_modules', 'results', 'test-results', 'dist']);
const TEXT = /\.(ts|tsx|js|mjs|md|lua|sh|ya?ml)$/;

function files(path: string): string[] {
  const abs = join(ROOT, path);
  let st;
  try {
    st = statSync(abs);
  } catch {
    return [];
  }
  if (st.isFile()) return TEXT.test(path) ? [path] : [];
  return readdirSync(abs).filter((n) => !SKIP_DIRS.has(n)).flatMap((n) => files(join(path, n)));
}

const all = SCANNED.flatMap(files).map((f) => f.split(sep).join('/'));
const markdown = all.filter((f) => f.endsWith('.md'));

test('every .md file a source or document names is in the repository', () => {
  const wrong: string[] = [];
  for (const f of all) {
    // Links to the web may end in .md (a page's markdown form); only local names are checked.
    const text = readFileSync(join(ROOT, f), 'utf8').replace(/https?:\/\/\S+/g, ' ');
    for (const m of text.matchAll(/[\w./-]*\w\.md\b/g)) {
      const name = m[0].replace(/^(\.\.?\/)+/, '');
      if (!markdown.some((md) => md === name || md.endsWith(`/${name}`))) wrong.push(`${f}: ${m[0]}`);
    }
  }
  assert.deepEqual(wrong, [], 'names of files that are not in the repository');
});

test('no comment points at notes kept outside the repository or at an issue number', () => {
  const wrong: string[] = [];
  for (const f of all.filter((x) => !x.endsWith('.md') && x !== relative(ROOT, fileURLToPath(import.meta.url)).split(sep).join('/'))) {
    const lines = readFileSync(join(ROOT, f), 'utf8').split('\n');
    lines.forEach((line, i) => {
      if (/design notes|design folder|network notes|\bissue #?\d+\b/i.test(line)) wrong.push(`${f}:${i + 1}: ${line.trim()}`);
      // A relative path to a shared/ folder is fine when it lands in this repository (src/shared/), not
      // when it climbs out of it (the notes other projects keep beside a checkout).
      for (const m of line.matchAll(/(?:\.\.\/)+shared\/[\w./-]*/g)) {
        const target = resolve(ROOT, dirname(f), m[0]);
        if (!target.startsWith(ROOT) || !existsSync(target)) wrong.push(`${f}:${i + 1}: ${line.trim()}`);
      }
    });
  }
  assert.deepEqual(wrong, []);
});

test('docs/NETWORKS.md gives each network\'s facts with a public page and a status', () => {
  const doc = readFileSync(join(ROOT, 'docs', 'NETWORKS.md'), 'utf8');
  const start = doc.indexOf('\n## Network facts');
  assert.ok(start >= 0, 'docs/NETWORKS.md has no "Network facts" part');
  const part = doc.slice(start);
  const sections = new Map<string, string>();
  for (const s of part.split(/\n(?=### )/).slice(1)) sections.set(s.slice(4, s.indexOf('\n')).trim(), s);
  for (const name of ['X', 'LinkedIn', 'Facebook Pages', 'Instagram', 'Threads', 'Mastodon', 'Bluesky', 'Telegram', 'Discord', 'Slack', 'Reddit', 'YouTube', 'Pinterest', 'TikTok', 'Tumblr', 'Lemmy', 'Nostr', 'How text is counted']) {
    const s = sections.get(name);
    assert.ok(s, `no "### ${name}" in the Network facts part`);
    const rows = s.split('\n').filter((l) => l.startsWith('| ') && !/^\|[-| ]+\|$/.test(l)).slice(1); // without the header
    assert.ok(rows.length >= 5 || (name === 'How text is counted' && rows.length === 9), `${name}: only ${rows.length} facts`);
    for (const row of rows) {
      // A fact has the network's page, or says no page was found and is UNCONFIRMED.
      assert.ok(/https:\/\//.test(row) || /UNCONFIRMED/.test(row), `${name}: a fact without a source: ${row.slice(0, 120)}`);
      assert.ok(/\| (docs|clients|\*\*UNCONFIRMED\*\*|[^|]*\b(docs|clients|UNCONFIRMED)\b[^|]*) \|$/.test(row), `${name}: a fact without a status: ${row.slice(0, 120)}`);
    }
  }
});
