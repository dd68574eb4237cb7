// Vite builds the web app (this folder) into web/dist, which AllIN serves at `/` (src/modules/web/routes.ts).
// JSX is compiled for Preact by esbuild (no plugin). The app imports the server's text-counting code
// (src/providers/text.ts, src/modules/posts/validate.ts), so its counters count as the server does.
// `npm run dev:web` serves it with hot reload and forwards the API to an AllIN on :7000.
import { fileURLToPath } from 'node:url';
import { defineConfig } from 'vite';

const here = fileURLToPath(new URL('.', import.meta.url));

export default defineConfig({
  root: here,
  base: '/',
  publicDir: 'public',
  esbuild: { jsx: 'automatic', jsxImportSource: 'preact' },
  build: {
    outDir: 'dist',
    emptyOutDir: true,
    target: 'es2022',
    assetsDir: 'assets',
    // No inline script anywhere: the page runs under script-src 'self'.
    modulePreload: { polyfill: false },
    assetsInlineLimit: 0,
    reportCompressedSize: false,
  },
  server: {
    fs: { allow: [fileURLToPath(new URL('..', import.meta.url))] },
    proxy: Object.fromEntries(['/api', '/docs', '/openapi.json', '/.well-known', '/media'].map((p) => [p, { target: 'http://localhost:7000' }])),
  },
});
