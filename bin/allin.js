#!/usr/bin/env node
// Runs AllIN from its TypeScript sources through tsx, so a fresh clone needs no build step.
// `npm run build` produces dist/ for operators who prefer `node dist/main.js`.
import { register } from 'tsx/esm/api';

register();
const { main } = await import('../src/main.ts');
await main(process.argv.slice(2));
