// The browser tests' shared set-up: an all-in-one AllIN on a port chosen here (so PUBLIC_URL, its cookies and
// the OAuth callback's redirect are where the browser reaches it) and Debian's Chromium driven by
// playwright-core, with a throwaway profile folder. Each page fails loudly on a page error, waits with
// Playwright's own waiting (no wall-clock thresholds) and is closed with the rest by `stop()`.
import { mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import { createServer, type AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { chromium, type Browser, type BrowserContext, type BrowserContextOptions, type Page } from 'playwright-core';
import { buildWeb } from '../../scripts/build-web.ts';
import type { Role } from '../../src/app.ts';
import { startTestApp, type TestApp } from './app.ts';
import { ROOT } from './process.ts';

export const CHROMIUM = process.env.CHROMIUM_PATH ?? '/usr/bin/chromium';
export const SHOTS = join(ROOT, 'test-results', 'screenshots');
export const WAIT = 30_000;

export async function freePort(): Promise<number> {
  const s = createServer();
  await new Promise<void>((res) => s.listen(0, '127.0.0.1', res));
  const { port } = s.address() as AddressInfo;
  await new Promise<void>((res) => s.close(() => res()));
  return port;
}

export interface BrowserApp {
  app: TestApp;
  /** Where the browser reaches the app (http://127.0.0.1:PORT, or http://localhost:PORT). */
  url: string;
  browser: Browser;
  /** A page in a context of its own (en-GB, UTC, 1280×900 unless given). */
  newPage(options?: BrowserContextOptions): Promise<Page>;
  stop(): Promise<void>;
}

export interface BrowserAppOptions {
  /** Settings of the app beyond PORT, HOST and PUBLIC_URL. */
  env?: Record<string, string | undefined>;
  /** `localhost` where WebAuthn needs a host name (it refuses an IP address as the relying party's id). */
  host?: '127.0.0.1' | 'localhost';
  /** 'start' runs the job runner (and the in-process simulator) beside the API. */
  role?: Role;
}

export async function startBrowserApp(options: BrowserAppOptions = {}): Promise<BrowserApp> {
  // The app is built when web/dist is missing or older than its sources.
  await buildWeb({ quiet: true });
  mkdirSync(SHOTS, { recursive: true });
  const port = await freePort();
  const url = `http://${options.host ?? '127.0.0.1'}:${port}`;
  const app = await startTestApp({ PORT: String(port), HOST: '127.0.0.1', PUBLIC_URL: url, ...options.env }, options.role ?? 'serve');
  // Playwright gives each launch a new empty profile (--user-data-dir) itself; this folder holds the
  // browser's other state (crash dumps, cache), removed at the end.
  const profileDir = mkdtempSync(join(tmpdir(), 'allin-chromium-'));
  let browser: Browser;
  try {
    browser = await chromium.launch({
      executablePath: CHROMIUM,
      headless: true,
      timeout: 60_000,
      args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run', '--disable-background-networking',
        '--disable-component-update', '--disable-sync', `--disk-cache-dir=${join(profileDir, 'cache')}`, `--crash-dumps-dir=${join(profileDir, 'crashes')}`],
      env: { ...process.env, HOME: profileDir, XDG_CONFIG_HOME: join(profileDir, 'config'), XDG_CACHE_HOME: join(profileDir, 'cache') },
    });
  } catch (err) {
    await app.stop();
    rmSync(profileDir, { recursive: true, force: true });
    throw err;
  }
  const contexts: BrowserContext[] = [];
  return {
    app, url, browser,
    async newPage(contextOptions = {}) {
      const ctx = await browser.newContext({ viewport: { width: 1280, height: 900 }, locale: 'en-GB', timezoneId: 'UTC', baseURL: url, ...contextOptions });
      contexts.push(ctx);
      const page = await ctx.newPage();
      page.setDefaultTimeout(WAIT);
      page.setDefaultNavigationTimeout(WAIT);
      // A page error is a bug: say it at once rather than wait for a selector that never comes.
      page.on('pageerror', (err) => { console.error(`page error: ${err.message}`); });
      return page;
    },
    async stop() {
      for (const c of contexts) await c.close().catch(() => {});
      await browser.close().catch(() => {});
      await app.stop();
      rmSync(profileDir, { recursive: true, force: true });
    },
  };
}

export const heading = (page: Page, name: string | RegExp) => page.getByRole('heading', { level: 1, name });

export async function shot(page: Page, name: string): Promise<void> {
  await page.screenshot({ path: join(SHOTS, `${name}.png`), fullPage: true });
}

/** Signs in on the sign-in page with a password (the button's name is exact: "Sign in with a passkey" exists). */
export async function signIn(page: Page, email: string, password: string): Promise<void> {
  await page.goto('/sign-in');
  await heading(page, 'Sign in').waitFor();
  await page.getByLabel('Email').fill(email);
  await page.getByLabel('Password', { exact: true }).fill(password);
  await page.getByRole('button', { name: 'Sign in', exact: true }).click();
}
