// The project's root folder (where package.json and drizzle/ are), found from this file whether it runs
// from src/ through tsx or from dist/src/ after `npm run build`.
import { existsSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

function findRoot(): string {
  let dir = dirname(fileURLToPath(import.meta.url));
  while (!existsSync(join(dir, 'package.json')) || !existsSync(join(dir, 'drizzle'))) {
    const up = dirname(dir);
    if (up === dir) throw new Error('cannot find the AllIN project folder (package.json and drizzle/)');
    dir = up;
  }
  return dir;
}

export const PROJECT_ROOT = findRoot();
