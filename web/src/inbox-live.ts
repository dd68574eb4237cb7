// The workspace's inbox as it changes, for every part of the app that shows it (the Inbox screen, the unread
// count in the navigation): one events stream per workspace however many listen (GET …/inbox/events), opened
// with the first listener and closed with the last. A stream that ends is opened again after a few seconds,
// one refused or cut (a 429 or 503 when a server has its most streams open) after a pause that doubles with
// failures in a row, up to a minute; events missed meanwhile are made up for by a `resync`, on which listeners
// read everything again.
import { ApiError, readEventStream } from './api.ts';

export type InboxEvent =
  | { type: 'message.created'; conversationId: string; accountId: string; messageIds: string[]; inbound: number }
  | { type: 'conversation.changed'; conversationId: string; changes: string[]; userId?: string }
  | { type: 'reply'; conversationId: string; replyId: string; state: string }
  | { type: 'action'; conversationId: string; actionId: string; action: string; messageId: string | null; state: string }
  | { type: 'resync' }
  /** The stream is (or is no longer) open: the screen says whether it is live. */
  | { type: 'live'; on: boolean };

type Listener = (e: InboxEvent) => void;

interface Hub { listeners: Set<Listener>; ctl: AbortController; on: boolean }
const hubs = new Map<string, Hub>();

const emit = (hub: Hub, e: InboxEvent) => { for (const l of [...hub.listeners]) l(e); };

function sleep(ms: number, signal: AbortSignal): Promise<void> {
  return new Promise((resolve) => {
    const t = setTimeout(resolve, ms);
    signal.addEventListener('abort', () => { clearTimeout(t); resolve(); }, { once: true });
  });
}

async function run(workspaceId: string, hub: Hub): Promise<void> {
  const { signal } = hub.ctl;
  let failures = 0;
  let opened = 0;
  while (!signal.aborted) {
    let waitMs = 3000;
    try {
      await readEventStream(`/api/workspaces/${workspaceId}/inbox/events`, (type, data) => {
        if (type === 'ready') {
          failures = 0;
          hub.on = true;
          emit(hub, { type: 'live', on: true });
          // Anything that happened while this tab was not listening is read again.
          if (opened++ > 0) emit(hub, { type: 'resync' });
          return;
        }
        if (type === 'resync') return emit(hub, { type: 'resync' });
        emit(hub, { ...(data as object), type } as InboxEvent);
      }, signal);
    } catch (err) {
      failures++;
      if (err instanceof ApiError && err.status === 401) return; // signed out: the app goes to sign-in
      if (err instanceof ApiError && err.status === 404) return; // no longer a member of this workspace
      waitMs = Math.min(60_000, 3000 * 2 ** Math.min(failures - 1, 5));
    }
    if (hub.on) {
      hub.on = false;
      emit(hub, { type: 'live', on: false });
    }
    await sleep(waitMs * (0.75 + Math.random() / 2), signal);
  }
}

/** Hears the workspace's inbox events; the returned function stops. */
export function listenInbox(workspaceId: string, fn: Listener): () => void {
  let hub = hubs.get(workspaceId);
  if (!hub) {
    const h: Hub = { listeners: new Set(), ctl: new AbortController(), on: false };
    hubs.set(workspaceId, h);
    hub = h;
    void run(workspaceId, h);
  }
  hub.listeners.add(fn);
  if (hub.on) fn({ type: 'live', on: true });
  const mine = hub;
  return () => {
    mine.listeners.delete(fn);
    if (mine.listeners.size === 0 && hubs.get(workspaceId) === mine) {
      hubs.delete(workspaceId);
      mine.ctl.abort();
    }
  };
}
