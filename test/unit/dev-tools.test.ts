// The seam through which production code reaches the development tools (src/dev-tools.ts): it finds them
// in a development checkout, says in one line what is missing elsewhere, and its interfaces describe the
// real modules.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import {
  loadDevTool, loadSimulator, missingDevDependencies, devToolPath, SIMULATOR, BENCH, type BenchModule, type SimulatorModule,
} from '../../src/dev-tools.ts';

// Checked by the type check of `npm run lint`: the seam's own description of each tool matches the tool.
// (src/ may not import them, even for types; a test may.)
const simulatorFits: typeof import('../../tools/provider-sim/server.ts') extends SimulatorModule ? true : never = true;
const benchFits: typeof import('../../bench/run.ts') extends BenchModule ? true : never = true;

test('in a development checkout the simulator loads from its sources and serves', async () => {
  assert.ok(simulatorFits && benchFits);
  assert.equal(devToolPath(SIMULATOR), join(process.cwd(), 'tools', 'provider-sim', 'server.ts'));
  const sim = await loadSimulator();
  assert.ok(sim, 'tools/provider-sim is there in a checkout');
  const running = await sim.startSimulator({ port: 0, host: '127.0.0.1' });
  try {
    assert.match(running.url, /^http:\/\/127\.0\.0\.1:\d+$/);
  } finally {
    await running.stop();
  }
});

test('an installation without the development dependencies gets one line naming what is missing', async (t) => {
  const root = mkdtempSync(join(tmpdir(), 'allin-devtools-'));
  t.after(() => rmSync(root, { recursive: true, force: true }));
  writeFileSync(join(root, 'package.json'), JSON.stringify({ devDependencies: { typescript: '5', autocannon: '9', '@types/node': '20' } }));
  mkdirSync(join(root, 'node_modules', 'typescript'), { recursive: true });
  writeFileSync(join(root, 'node_modules', 'typescript', 'package.json'), '{}');
  assert.deepEqual(missingDevDependencies(root), ['autocannon', '@types/node']);

  const said: unknown[][] = [];
  t.mock.method(console, 'error', (...args: unknown[]) => { said.push(args); });
  const tool = await loadDevTool<BenchModule>('bench', BENCH, root);
  assert.equal(tool, undefined);
  assert.equal(said.length, 1);
  const line = String(said[0]![0]);
  assert.doesNotMatch(line, /\n/);
  assert.match(line, /^allin bench needs a development install \(`npm install`, without --omit=dev/);
  assert.match(line, /autocannon, @types\/node/);
});
