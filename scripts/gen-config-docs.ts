// Rewrites .env.example and the README's configuration table from the config schema.
import { readFileSync, writeFileSync } from 'node:fs';
import { renderEnvExample, withConfigTable } from '../src/config-docs.ts';

writeFileSync('.env.example', renderEnvExample());
writeFileSync('README.md', withConfigTable(readFileSync('README.md', 'utf8')));
console.log('Wrote .env.example and the README configuration table.');
