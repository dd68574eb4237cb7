// What the inbox tests start from: a Sandbox account with the simulator's made-up crowd quiet (so the inbox
// holds only what the test said), a post of it published, comments said on the network and collected at
// once, and the network's own view of what the account answered.
import { eq, sql } from 'drizzle-orm';
import { inboxCollectionCursors } from '../../src/modules/inbox/schema.ts';
import type { TestApp } from './app.ts';
import { ok } from './fixtures.ts';
import { connectSandbox, eventually, simKnobs, simSay } from './social.ts';

/** Settings of an app whose inbox is collected only when a test says so (collectNow). */
export const COLLECT_BY_HAND = { INBOX_POLL_INTERVAL_SECONDS: '3600', INBOX_SCHEDULE_INTERVAL_MS: '3600000' } as const;
/** The same, with sending's retries, leases and sweeps short enough for tests of its failures. */
export const QUICK_SENDING = {
  ...COLLECT_BY_HAND, PUBLISH_BACKOFF_BASE_MS: '200', PUBLISH_BACKOFF_MAX_MS: '1000',
  PUBLISH_MAX_ATTEMPTS: '4', SOCIAL_API_TIMEOUT_MS: '1500', PUBLISH_LEASE_SECONDS: '5', PUBLISH_SWEEP_INTERVAL_MS: '500',
} as const;

/** An item of the Sandbox network's inbox as the simulator shows it (tools/provider-sim/inbox.ts). */
export interface SimInboxItem {
  id: string; parentId: string | null; text: string; key?: string;
  deleted: boolean; hidden: boolean; liked: boolean; author: { id: string };
}

/** Stops the Sandbox crowd: no comment, edit or deletion that the test did not make. */
export async function quietCrowd(t: TestApp): Promise<void> {
  await simKnobs(t.running.simulatorUrl!, 'sandbox', { inboxRatePerMinute: 0 });
}

/** Everything on the simulated Sandbox network's inbox. */
export async function simInbox(t: TestApp): Promise<SimInboxItem[]> {
  return ((await (await fetch(`${t.running.simulatorUrl}/_sim/sandbox/inbox`)).json()) as { items: SimInboxItem[] }).items;
}

/** What `simUser` said on the network under `parentId`. */
export async function answersUnder(t: TestApp, parentId: string, simUser: string): Promise<SimInboxItem[]> {
  return (await simInbox(t)).filter((i) => i.parentId === parentId && i.author.id === simUser);
}

/** Collects the account's inbox now, as its next poll would. */
export async function collectNow(t: TestApp, accountId: string): Promise<void> {
  const { db, inbox } = t.running.services;
  await db.update(inboxCollectionCursors).set({ nextPollAt: sql`now()` }).where(eq(inboxCollectionCursors.accountId, accountId));
  await eventually(async () => (await inbox.collector.run(accountId, 'inbox')) === 'collected', 10_000, 'a collection run');
}

/** A post published at once on `accountId`; its ids here and on the network. */
export async function publishNow(t: TestApp, workspace: string, token: string, accountId: string, text: string): Promise<{ postId: string; targetId: string; remoteId: string }> {
  const r = await ok(t, 'POST', `/api/workspaces/${workspace}/posts`, token, { text, targets: [{ accountId }], schedule: { now: true } }, 201);
  const target = await eventually(async () => {
    const p = await t.call('GET', `/api/workspaces/${workspace}/posts/${r.id}`, { token });
    return p.body.targets?.[0]?.state === 'published' ? p.body.targets[0] : undefined;
  }, 30_000, 'the post to be published');
  return { postId: r.id as string, targetId: target.id as string, remoteId: target.remoteId as string };
}

/** The conversation and message that hold the network's message `remoteId`, read with `token`. */
export async function findMessage<M extends { id: string; remoteId: string }>(t: TestApp, workspace: string, token: string, remoteId: string): Promise<{ conversationId: string; message: M }> {
  const base = `/api/workspaces/${workspace}/inbox`;
  const list = await ok(t, 'GET', `${base}/conversations?limit=100`, token);
  for (const c of list.conversations) {
    const view = await ok(t, 'GET', `${base}/conversations/${c.id}`, token);
    const m = view.messages.find((x: M) => x.remoteId === remoteId);
    if (m) return { conversationId: c.id, message: m };
  }
  throw new Error(`message ${remoteId} is not in the inbox`);
}

export interface SandboxInbox {
  id: string;
  simUser: string;
  workspace: string;
  /** The account's post that comments go under. */
  post: { postId: string; targetId: string; remoteId: string };
  collect(): Promise<void>;
  /** A fan's comment under the post (or a mention of the account), collected; where it landed. */
  said<M extends { id: string; remoteId: string }>(text: string, kind?: 'comment' | 'mention'): Promise<{ conversationId: string; message: M }>;
  /** The same, shaped as most reply tests use it. */
  comment(text: string): Promise<{ conversationId: string; messageId: string; remoteId: string }>;
  /** What the account answered under `parentId` on the network. */
  answersUnder(parentId: string): Promise<SimInboxItem[]>;
}

/**
 * Quiets the crowd, connects the simulator's `simUser` to `workspace` as `by` (who then reads the inbox),
 * opens its collection cursor and publishes `postText` on it.
 */
export async function sandboxInbox(t: TestApp, workspace: string, by: { token: string }, opts: { simUser?: string; postText: string }): Promise<SandboxInbox> {
  const simUser = opts.simUser ?? 'shop';
  await quietCrowd(t);
  const id = await connectSandbox(t, by.token, workspace, simUser);
  await t.running.services.inbox.scheduler.ensureCursors();
  const post = await publishNow(t, workspace, by.token, id, opts.postText);
  const box: SandboxInbox = {
    id, simUser, workspace, post,
    collect: () => collectNow(t, id),
    async said<M extends { id: string; remoteId: string }>(text: string, kind: 'comment' | 'mention' = 'comment') {
      const s = await simSay(t.running.simulatorUrl!, {
        user: simUser, kind, ...(kind === 'comment' ? { postId: post.remoteId } : {}), text, author: { id: 'fan', username: 'fan', name: 'A Fan' },
      });
      await collectNow(t, id);
      return findMessage<M>(t, workspace, by.token, s.id);
    },
    async comment(text: string) {
      const { conversationId, message } = await box.said(text);
      return { conversationId, messageId: message.id, remoteId: message.remoteId };
    },
    answersUnder: (parentId: string) => answersUnder(t, parentId, simUser),
  };
  return box;
}

/** Waits for a reply (or an action, with its path) to reach one of `states`; returns it. */
export async function settledReply(t: TestApp, path: string, token: string, states = ['published', 'failed', 'unknown']) {
  return eventually(async () => {
    const r = await ok(t, 'GET', path, token);
    return states.includes(r.state) ? r : undefined;
  }, 30_000, `${path} to be ${states.join(' or ')}`);
}
