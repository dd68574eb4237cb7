#!/usr/bin/env node
// Runs AllIN from its TypeScript sources through tsx (a dependency), so a fresh clone needs no build step.
// With ALLIN_RUN=dist it runs the output of `npm run build` instead: plain JavaScript on plain Node, with
// no loader (tsx is then never imported). The container image runs that way.
import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';

const mode = process.env.ALLIN_RUN || 'src';
let main;
if (mode === 'dist') {
  const entry = new URL('../dist/src/main.js', import.meta.url);
  if (!existsSync(entry)) {
    console.error(`allin: ALLIN_RUN=dist, but there is no ${fileURLToPath(entry)}: run \`npm run build\` first.`);
    process.exit(1);
  }
  ({ main } = await import(entry.href));
} else if (mode === 'src') {
  const { register } = await import('tsx/esm/api');
  register();
  ({ main } = await import('../src/main.ts'));
} else {
  console.error(`allin: ALLIN_RUN must be "src" (the default: TypeScript sources through tsx) or "dist" (the output of \`npm run build\`), not "${mode}".`);
  process.exit(64);
}
await main(process.argv.slice(2));
