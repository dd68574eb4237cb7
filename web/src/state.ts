// What every signed-in screen needs: the user, the current workspace (with its settings and the user's
// role in it), the networks this AllIN offers, and what the role allows. The permission table is the
// server's own (src/modules/workspaces/permissions.ts), so the app hides exactly what the API refuses.
import { createContext } from 'preact';
import { useContext } from 'preact/hooks';
import { PERMISSIONS, type Permission } from '../../src/modules/workspaces/permissions.ts';
import type { Me, Network, Role, Workspace } from './types.ts';

export interface AppState {
  me: Me;
  workspace: Workspace;
  networks: Network[];
  zone: string;
  switchWorkspace(id: string): void;
  reloadMe(): Promise<void>;
  reloadWorkspace(): Promise<void>;
  can(p: Permission): boolean;
}

export const AppContext = createContext<AppState | null>(null);

export function useApp(): AppState {
  const s = useContext(AppContext);
  if (!s) throw new Error('useApp outside a workspace');
  return s;
}

export function roleCan(role: Role | null | undefined, p: Permission): boolean {
  return !!role && (PERMISSIONS[p] as readonly string[]).includes(role);
}

const WS_KEY = 'allin.workspace';
export const rememberedWorkspace = (): string | null => {
  try { return localStorage.getItem(WS_KEY); } catch { return null; }
};
export const rememberWorkspace = (id: string): void => {
  try { localStorage.setItem(WS_KEY, id); } catch { /* private mode */ }
};

const NEXT_KEY = 'allin.next';
/** Where to go after signing in (kept in sessionStorage so tokens in links never travel in a URL). */
export const rememberNext = (path: string): void => {
  try { sessionStorage.setItem(NEXT_KEY, path); } catch { /* ignore */ }
};
export const takeNext = (): string | null => {
  try {
    const v = sessionStorage.getItem(NEXT_KEY);
    sessionStorage.removeItem(NEXT_KEY);
    return v;
  } catch {
    return null;
  }
};

/** The workspace's API path. */
export const wsPath = (ws: { id: string }, rest = ''): string => `/api/workspaces/${ws.id}${rest}`;
