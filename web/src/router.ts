// A small history router: real paths (mails link to /verify-email, /posts/{id}, the OAuth callback
// lands on /accounts?connected=…), so no hash routing. AllIN answers the app's page at each of these
// paths (src/modules/web/routes.ts, APP_PATHS), and a test keeps the two lists in step.
import { useEffect, useState } from 'preact/hooks';

export interface Loc {
  path: string;
  search: URLSearchParams;
  hash: string;
}

const listeners = new Set<() => void>();
const read = (): Loc => ({ path: location.pathname, search: new URLSearchParams(location.search), hash: location.hash });

window.addEventListener('popstate', () => {
  for (const l of listeners) l();
});

/** Goes to an app path (with its query and hash). */
export function navigate(to: string, opts: { replace?: boolean } = {}): void {
  if (to === location.pathname + location.search + location.hash) return;
  if (opts.replace) history.replaceState(null, '', to);
  else history.pushState(null, '', to);
  for (const l of listeners) l();
}

/** Changes only the query string (filters, calendar views), without a history entry per change. */
export function setQuery(params: Record<string, string | undefined>, opts: { replace?: boolean } = { replace: true }): void {
  const q = new URLSearchParams(location.search);
  for (const [k, v] of Object.entries(params)) {
    if (v === undefined || v === '') q.delete(k);
    else q.set(k, v);
  }
  const s = q.toString();
  navigate(`${location.pathname}${s ? `?${s}` : ''}`, opts);
}

export function useLocation(): Loc {
  const [loc, setLoc] = useState(read);
  useEffect(() => {
    const l = () => setLoc(read());
    listeners.add(l);
    return () => void listeners.delete(l);
  }, []);
  return loc;
}

/** The app's routes: `:name` matches one path segment. */
export const ROUTES = {
  home: '/',
  signIn: '/sign-in',
  signUp: '/sign-up',
  verifyEmail: '/verify-email',
  forgotPassword: '/forgot-password',
  resetPassword: '/reset-password',
  invitation: '/invitations',
  devMail: '/dev-mail',
  ssoVerifyDomain: '/sso/verify-domain',
  workspaces: '/workspaces',
  accounts: '/accounts',
  compose: '/compose',
  edit: '/compose/:postId',
  posts: '/posts',
  bulk: '/posts/bulk',
  post: '/posts/:postId',
  calendar: '/calendar',
  queue: '/queue',
  feeds: '/feeds',
  library: '/library',
  libraryTab: '/library/:tab',
  approvals: '/approvals',
  inbox: '/inbox',
  members: '/members',
  settings: '/settings',
  settingsTab: '/settings/:tab',
  webhook: '/settings/webhooks/:webhookId',
  security: '/security',
  analytics: '/analytics',
} as const;

export function match(pattern: string, path: string): Record<string, string> | null {
  const p = pattern.split('/').filter(Boolean);
  const s = path.replace(/\/+$/, '').split('/').filter(Boolean);
  if (p.length !== s.length) return null;
  const params: Record<string, string> = {};
  for (let i = 0; i < p.length; i++) {
    const seg = p[i]!;
    if (seg.startsWith(':')) params[seg.slice(1)] = decodeURIComponent(s[i]!);
    else if (seg !== s[i]) return null;
  }
  return params;
}

/** Activates an in-app link without reloading the page (modified clicks keep the browser's behaviour). */
export function onLinkClick(e: MouseEvent): void {
  const a = (e.currentTarget as HTMLAnchorElement | null);
  if (!a || e.defaultPrevented || e.button !== 0 || e.metaKey || e.ctrlKey || e.shiftKey || e.altKey || a.target === '_blank') return;
  const url = new URL(a.href, location.href);
  if (url.origin !== location.origin) return;
  e.preventDefault();
  navigate(url.pathname + url.search + url.hash);
}
