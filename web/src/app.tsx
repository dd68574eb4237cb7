// The app's shell: restores the session from the refresh cookie, sends signed-out visitors to sign-in
// (and back where they were going afterwards), and lays out the signed-in screens with the workspace
// switcher and the main navigation. Focus moves to each new screen's heading.
import type { ComponentChildren, ComponentType } from 'preact';
import { useCallback, useEffect, useMemo, useRef, useState } from 'preact/hooks';
import { api, onSessionEnded, refreshSession, signOut } from './api.ts';
import { match, navigate, ROUTES, useLocation, type Loc } from './router.ts';
import { AppContext, rememberNext, rememberWorkspace, rememberedWorkspace, roleCan, takeNext, type AppState } from './state.ts';
import type { Me, Network, NetworkList, Workspace } from './types.ts';
import { browserZone } from './format.ts';
import { ErrorNote, Link, Loading, messageOf, Toasts, toast } from './ui.tsx';
import { AcceptInvitation, DevMail, ForgotPassword, ResetPassword, SignIn, SignUp, VerifyEmail, VerifySsoDomain } from './pages/auth.tsx';
import { FirstWorkspace, Workspaces } from './pages/workspaces.tsx';
import { Accounts } from './pages/accounts.tsx';
import { Composer } from './pages/composer.tsx';
import { PostDetail, Posts } from './pages/posts.tsx';
import { BulkUpload } from './pages/bulk.tsx';
import { Calendar } from './pages/calendar.tsx';
import { Queue } from './pages/queue.tsx';
import { Feeds } from './pages/feeds.tsx';
import { Library } from './pages/library.tsx';
import { Approvals } from './pages/approvals.tsx';
import { Inbox, useInboxUnread } from './pages/inbox.tsx';
import { Members } from './pages/members.tsx';
import { Settings } from './pages/settings.tsx';
import { Security } from './pages/security.tsx';

type Auth = { status: 'loading' } | { status: 'out'; notice?: string } | { status: 'in'; me: Me };

/** Screens anyone can open, signed in or not. */
const PUBLIC = [ROUTES.signIn, ROUTES.signUp, ROUTES.verifyEmail, ROUTES.forgotPassword, ROUTES.resetPassword, ROUTES.devMail, ROUTES.ssoVerifyDomain];
const SIGNED_OUT_ONLY = [ROUTES.signIn, ROUTES.signUp];
const HOME = ROUTES.posts;

const here = (loc: Loc) => loc.path + (loc.search.toString() ? `?${loc.search.toString()}` : '') + loc.hash;

export function App() {
  const loc = useLocation();
  const [auth, setAuth] = useState<Auth>({ status: 'loading' });

  const loadMe = useCallback(async () => {
    const me = await api.get<Me>('/api/auth/me');
    setAuth({ status: 'in', me });
  }, []);

  useEffect(() => {
    const off = onSessionEnded((notice) => setAuth({ status: 'out', notice }));
    refreshSession()
      .then((ok) => (ok ? loadMe() : setAuth({ status: 'out' })))
      .catch((err: unknown) => setAuth({ status: 'out', notice: messageOf(err) }));
    return off;
  }, [loadMe]);

  // Redirects between the signed-out and signed-in worlds.
  useEffect(() => {
    if (auth.status === 'out' && !PUBLIC.includes(loc.path as never)) {
      if (loc.path !== '/') rememberNext(here(loc));
      navigate(ROUTES.signIn, { replace: true });
    }
    if (auth.status === 'in' && (SIGNED_OUT_ONLY.includes(loc.path as never) || loc.path === '/')) {
      navigate(takeNext() ?? HOME, { replace: true });
    }
  }, [auth.status, loc]);

  // Focus the new screen's heading after a navigation (not on the first paint), so screen readers
  // announce it and keyboard users continue from the top of the content.
  const first = useRef(true);
  useEffect(() => {
    if (first.current) {
      first.current = false;
      return;
    }
    requestAnimationFrame(() => document.getElementById('page-title')?.focus());
  }, [loc.path]);

  let content: ComponentChildren;
  if (auth.status === 'loading') {
    content = <main id="main" tabIndex={-1} class="center"><Loading label="Opening AllIN…" /></main>;
  } else if (PUBLIC.includes(loc.path as never) && !(auth.status === 'in' && SIGNED_OUT_ONLY.includes(loc.path as never))) {
    content = <PublicShell><PublicRoute loc={loc} notice={auth.status === 'out' ? auth.notice : undefined} onSignedIn={loadMe} signedIn={auth.status === 'in'} /></PublicShell>;
  } else if (auth.status === 'in') {
    content = <SignedIn me={auth.me} loc={loc} reloadMe={loadMe} onSignedOut={() => setAuth({ status: 'out', notice: 'You are signed out.' })} />;
  } else {
    content = <main id="main" tabIndex={-1} class="center"><Loading label="Going to sign-in…" /></main>;
  }
  return (
    <>
      <a class="skip-link" href="#main">Skip to content</a>
      {content}
      <Toasts />
    </>
  );
}

function PublicShell({ children }: { children: ComponentChildren }) {
  return (
    <div class="public">
      <header class="public-brand"><span class="brand-mark" aria-hidden="true">A</span> AllIN</header>
      <main id="main" tabIndex={-1} class="public-main">{children}</main>
    </div>
  );
}

function PublicRoute({ loc, notice, onSignedIn, signedIn }: { loc: Loc; notice: string | undefined; onSignedIn: () => Promise<void>; signedIn: boolean }) {
  switch (loc.path) {
    case ROUTES.signIn: return <SignIn notice={notice} onSignedIn={onSignedIn} />;
    case ROUTES.signUp: return <SignUp />;
    case ROUTES.verifyEmail: return <VerifyEmail signedIn={signedIn} />;
    case ROUTES.forgotPassword: return <ForgotPassword />;
    case ROUTES.resetPassword: return <ResetPassword />;
    case ROUTES.devMail: return <DevMail />;
    case ROUTES.ssoVerifyDomain: return <VerifySsoDomain />;
    default: return null;
  }
}

function pickWorkspace(me: Me): string | null {
  const remembered = rememberedWorkspace();
  if (remembered && me.workspaces.some((w) => w.id === remembered)) return remembered;
  return me.workspaces[0]?.id ?? null;
}

function SignedIn({ me, loc, reloadMe, onSignedOut }: { me: Me; loc: Loc; reloadMe: () => Promise<void>; onSignedOut: () => void }) {
  const [wsId, setWsId] = useState<string | null>(() => pickWorkspace(me));
  const [workspace, setWorkspace] = useState<Workspace | null>(null);
  const [wsError, setWsError] = useState<unknown>(null);
  const [networks, setNetworks] = useState<Network[]>([]);
  const [menuOpen, setMenuOpen] = useState(false);

  // The remembered workspace may have gone (left, deleted): fall back to another.
  useEffect(() => {
    if (!wsId || !me.workspaces.some((w) => w.id === wsId)) setWsId(pickWorkspace(me));
  }, [me, wsId]);

  const loadWorkspace = useCallback(async () => {
    if (!wsId) return;
    try {
      setWsError(null);
      setWorkspace(await api.get<Workspace>(`/api/workspaces/${wsId}`));
    } catch (err) {
      setWsError(err);
    }
  }, [wsId]);
  useEffect(() => { void loadWorkspace(); }, [loadWorkspace]);
  useEffect(() => {
    api.get<NetworkList>('/api/networks').then((r) => setNetworks(r.networks), (err: unknown) => toast.error(err));
  }, []);
  useEffect(() => setMenuOpen(false), [loc.path]);

  const state = useMemo<AppState | null>(() => (workspace && workspace.id === wsId ? {
    me, workspace, networks,
    // The user's own zone when they chose one, else the workspace's.
    zone: me.timeZone ?? workspace.settings?.timeZone ?? browserZone(),
    switchWorkspace(id: string) {
      rememberWorkspace(id);
      setWorkspace(null);
      setWsId(id);
    },
    reloadMe,
    reloadWorkspace: loadWorkspace,
    can: (p) => roleCan(workspace.role, p),
  } : null), [me, workspace, wsId, networks, reloadMe, loadWorkspace]);

  const doSignOut = async () => {
    try {
      await signOut();
    } catch { /* signed out either way */ }
    onSignedOut();
    navigate(ROUTES.signIn);
  };

  // Screens that need no workspace.
  const noWorkspaceScreen = loc.path === ROUTES.invitation ? <AcceptInvitation onAccepted={async (id) => { rememberWorkspace(id); await reloadMe(); setWsId(id); }} />
    : loc.path === ROUTES.security ? <Security me={me} reloadMe={reloadMe} />
      : loc.path === ROUTES.workspaces ? <Workspaces me={me} current={wsId} onChanged={reloadMe} onSwitch={(id) => { rememberWorkspace(id); setWsId(id); navigate(HOME); }} />
        : null;

  let body: ComponentChildren;
  if (noWorkspaceScreen) body = noWorkspaceScreen;
  else if (!wsId) body = <FirstWorkspace onCreated={async (id) => { rememberWorkspace(id); await reloadMe(); setWsId(id); }} />;
  else if (wsError) body = <ErrorNote error={wsError} retry={loadWorkspace} />;
  else if (!state) body = <Loading label="Opening the workspace…" />;
  else body = <WorkspaceRoute loc={loc} />;

  // Unread conversations, kept live by the inbox's events stream while a workspace is open.
  const unread = useInboxUnread(state ? state.workspace.id : null);
  const nav: [string, string, boolean][] = [
    [ROUTES.compose, 'Compose', !!state?.can('posts.write')],
    [ROUTES.inbox, 'Inbox', true],
    [ROUTES.posts, 'Posts', true],
    [ROUTES.calendar, 'Calendar', true],
    [ROUTES.queue, 'Queue', true],
    [ROUTES.feeds, 'Feeds', true],
    [ROUTES.library, 'Library', true],
    [ROUTES.analytics, 'Analytics', !!state?.can('analytics.read')],
    [ROUTES.approvals, 'Approvals', true],
    [ROUTES.accounts, 'Accounts', true],
    [ROUTES.members, 'Members', true],
    [ROUTES.settings, 'Settings', true],
  ];
  const active = (href: string) => loc.path === href || (href !== '/' && loc.path.startsWith(`${href}/`)) || (href === ROUTES.compose && loc.path.startsWith('/compose'));

  return (
    <AppContext.Provider value={state}>
      <div class="shell">
        <header class="topbar">
          <Link href={HOME} class="brand"><span class="brand-mark" aria-hidden="true">A</span><span>AllIN</span></Link>
          {me.workspaces.length > 0 && (
            <div class="switcher">
              <label for="workspace-switcher" class="visually-hidden">Workspace</label>
              <select id="workspace-switcher" value={wsId ?? ''} onChange={(e) => {
                const id = (e.currentTarget as HTMLSelectElement).value;
                rememberWorkspace(id);
                setWorkspace(null);
                setWsId(id);
              }}>
                {me.workspaces.map((w) => <option key={w.id} value={w.id}>{w.name}</option>)}
              </select>
              <Link href={ROUTES.workspaces} class="topbar-link">All workspaces</Link>
            </div>
          )}
          <div class="topbar-user">
            <Link href={ROUTES.security} class="topbar-link" aria-label={`Security and sessions of ${me.name}`}>{me.name}</Link>
            <button type="button" class="button button-quiet button-small" onClick={doSignOut}>Sign out</button>
          </div>
          <button type="button" class="button button-quiet menu-toggle" aria-expanded={menuOpen} aria-controls="main-nav" onClick={() => setMenuOpen(!menuOpen)}>Menu</button>
        </header>
        <div class="layout">
          <nav id="main-nav" class={menuOpen ? 'sidebar open' : 'sidebar'} aria-label="Main">
            <ul>
              {nav.filter(([, , show]) => show).map(([href, label]) => (
                <li key={href}><Link href={href} aria-current={active(href) ? 'page' : undefined}>{label}
                  {href === ROUTES.inbox && unread && unread !== '0' && <span class="nav-count" data-testid="inbox-unread"><span class="visually-hidden">, </span>{unread}<span class="visually-hidden"> unread</span></span>}
                </Link></li>
              ))}
            </ul>
          </nav>
          <main id="main" tabIndex={-1} class="content">{body}</main>
        </div>
      </div>
    </AppContext.Provider>
  );
}

function WorkspaceRoute({ loc }: { loc: Loc }) {
  const p = loc.path;
  let m: Record<string, string> | null;
  if (p === ROUTES.compose) return <Composer key="new" />;
  if ((m = match(ROUTES.edit, p))) return <Composer key={m.postId} postId={m.postId!} />;
  if (p === ROUTES.posts) return <Posts />;
  if (p === ROUTES.bulk) return <BulkUpload />;
  if ((m = match(ROUTES.post, p))) return <PostDetail key={m.postId} postId={m.postId!} />;
  if (p === ROUTES.calendar) return <Calendar />;
  if (p === ROUTES.queue) return <Queue />;
  if (p === ROUTES.feeds) return <Feeds />;
  if (p === ROUTES.library) return <Library tab="media" />;
  if ((m = match(ROUTES.libraryTab, p))) return <Library key={m.tab} tab={m.tab!} />;
  if (p === ROUTES.approvals) return <Approvals />;
  if (p === ROUTES.inbox) return <Inbox />;
  if (p === ROUTES.accounts) return <Accounts />;
  if (p === ROUTES.members) return <Members />;
  if (p === ROUTES.analytics) return <AnalyticsPage />;
  if (p === ROUTES.settings) return <Settings tab="workspace" />;
  if ((m = match(ROUTES.webhook, p))) return <Settings tab="webhooks" webhookId={m.webhookId!} />;
  if ((m = match(ROUTES.settingsTab, p))) return <Settings tab={m.tab!} />;
  return <NotFound />;
}

/** Analytics, with its charts, is loaded when first opened: the other screens do not carry its weight. */
let analyticsModule: Promise<ComponentType> | null = null;
function AnalyticsPage() {
  const [Screen, setScreen] = useState<ComponentType | null>(null);
  const [error, setError] = useState<unknown>(null);
  const load = useCallback(() => {
    setError(null);
    analyticsModule ??= import('./pages/analytics.tsx').then((m) => m.Analytics);
    analyticsModule.then((c) => setScreen(() => c), (err: unknown) => { analyticsModule = null; setError(err); });
  }, []);
  useEffect(load, [load]);
  if (error) return <ErrorNote error={error} retry={load} />;
  return Screen ? <Screen /> : <Loading label="Opening Analytics…" />;
}

function NotFound() {
  useEffect(() => { document.title = 'Not found · AllIN'; }, []);
  return (
    <section class="page" aria-labelledby="page-title">
      <h1 id="page-title" tabIndex={-1}>Nothing here</h1>
      <p>This page does not exist. <Link href={HOME}>Go to your posts</Link>.</p>
    </section>
  );
}
