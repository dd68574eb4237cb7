#!/usr/bin/env node
// Runs AllIN from its TypeScript sources through tsx, so a fresh clone needs no build step.
// With ALLIN_RUN=dist it runs the output of `npm run build` instead (plain Node, no loader).
import { register } from 'tsx/esm/api';

let main;
if (process.env.ALLIN_RUN === 'dist') {
  ({ main } = await import('../dist/src/main.js'));
} else {
  register();
  ({ main } = await import('../src/main.ts'));
}
await main(process.argv.slice(2));
