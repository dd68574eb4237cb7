// The inbox: the workspace's conversations (comments on its posts, replies, mentions) with filters (account,
// state, assignee, label, search), a page at a time by the API's cursor; one conversation with its post, the
// whole reply tree with the team's notes inline and who answered what and when; a reply box with saved replies
// (filled in by the server, as it sends them) and the writing assistant's suggested reply (assist.tsx), counted
// by the network's own rule; assign, label, done. It
// updates without reloading through the workspace's events stream (inbox-live.ts), and answers the keyboard:
// j/k move, r reply, e done, a assign, l label.
import { useCallback, useEffect, useMemo, useRef, useState } from 'preact/hooks';
import { countText } from '../../../src/providers/text.ts';
import type { ProviderLimits } from '../../../src/providers/types.ts';
import { api, getAll } from '../api.ts';
import { dateTime, excerpt, relative } from '../format.ts';
import { listenInbox, type InboxEvent } from '../inbox-live.ts';
import { setQuery, useLocation } from '../router.ts';
import { useApp, wsPath } from '../state.ts';
import type {
  AccountList, Conversation, ConversationList, ConversationView, InboxAction, InboxLabel, InboxMessage, InboxNote, InboxReply, LabelList, Member, Paged,
  RenderedReply, SavedReplyList, UnreadCount,
} from '../types.ts';
import { Button, ConfirmButton, Empty, ErrorNote, ExternalLink, Link, Loading, Page, Submit, useAction, useLoad, usePages } from '../ui.tsx';
import { providerName } from './accounts.tsx';
import { SuggestReply } from './assist.tsx';

const PAGE = 25;
const STATES: [string, string][] = [['', 'Any state'], ['open', 'Open'], ['assigned', 'Assigned'], ['done', 'Done']];
const STATE_LABEL: Record<string, string> = { open: 'Open', assigned: 'Assigned', done: 'Done' };
/** The server keeps a "replying" signal 20 s (PRESENCE_TTL_MS); typing says it again at most every third of that. */
const PRESENCE_EVERY_MS = 6_000;
const ACTION_DOING: Record<string, string> = { like: 'Liking', unlike: 'Taking the like back', hide: 'Hiding', unhide: 'Showing again', delete: 'Deleting' };
const ACTION_DONE: Record<string, string> = { like: 'Like', unlike: 'Unlike', hide: 'Hide', unhide: 'Unhide', delete: 'Delete' };
const REPLY_STATE: Record<string, string> = { pending_approval: 'Waiting for approval', rejected: 'Rejected', queued: 'Queued', sending: 'Sending', published: 'Published', failed: 'Failed', unknown: 'Unknown outcome' };

/** Calls `fn` once after a burst of calls has settled (a page of comments is many events). */
function useDebounced(fn: () => void, ms: number): () => void {
  const ref = useRef(fn);
  ref.current = fn;
  const timer = useRef<ReturnType<typeof setTimeout>>();
  useEffect(() => () => clearTimeout(timer.current), []);
  return useCallback(() => {
    clearTimeout(timer.current);
    timer.current = setTimeout(() => ref.current(), ms);
  }, [ms]);
}

/** Unread conversations of the workspace for the navigation (the caller's own count), kept live ("1000+" past the server's cap). */
export function useInboxUnread(workspaceId: string | null): string | null {
  const [count, setCount] = useState<string | null>(null);
  const load = useCallback(() => {
    if (!workspaceId) return;
    api.get<UnreadCount>(`/api/workspaces/${workspaceId}/inbox/unread`)
      .then((r) => setCount(`${r.count}${r.more ? '+' : ''}`), () => setCount(null));
  }, [workspaceId]);
  const later = useDebounced(load, 400);
  useEffect(() => {
    setCount(null);
    if (!workspaceId) return undefined;
    load();
    return listenInbox(workspaceId, (e) => {
      if (e.type === 'live' || e.type === 'reply' || e.type === 'action') return;
      if (e.type === 'message.created' && e.inbound === 0) return;
      if (e.type === 'conversation.changed' && !e.changes.includes('read') && !e.changes.includes('messages')) return;
      later();
    });
  }, [workspaceId, load, later]);
  return count;
}

interface Filters { accountId: string; state: string; assignee: string; labelId: string; intent: string; urgent: boolean; q: string }

/** The assistant's labels of an inbound message (docs/ASSISTANT.md, Classifying the inbox): words people read. */
const INTENT_LABEL: Record<string, string> = { question: 'Question', complaint: 'Complaint', praise: 'Praise', spam: 'Spam', other: 'Other' };
const SENTIMENT_LABEL: Record<string, string> = { positive: 'positive', neutral: 'neutral', negative: 'negative' };

/** The labels as badges, marked as the model's reading (never acted on by AllIN). */
function AiLabels({ intent, urgency, sentiment }: { intent: string; urgency: string; sentiment?: string }) {
  const title = 'Read by the workspace\'s AI model when the message arrived; a label for sorting, never acted on.';
  return (
    <span class="ai-labels" title={title}>
      <span class={`badge ai-intent ai-${intent}`}><span class="visually-hidden">AI label: </span>{INTENT_LABEL[intent] ?? intent}</span>
      {urgency === 'high' && <span class="badge ai-urgent">Urgent</span>}
      {sentiment && sentiment !== 'neutral' && <span class="meta"> {SENTIMENT_LABEL[sentiment] ?? sentiment}</span>}
    </span>
  );
}

/** A link the network gave, only when it is a web address (never a javascript: or data: one). */
const webUrl = (u: string | null | undefined): string | null => (u && /^https?:\/\//i.test(u) ? u : null);

const typing = (t: EventTarget | null) => t instanceof HTMLElement && (t.isContentEditable || ['INPUT', 'TEXTAREA', 'SELECT'].includes(t.tagName));

export function Inbox() {
  const { workspace, networks, can } = useApp();
  const loc = useLocation();
  const f: Filters = {
    accountId: loc.search.get('account') ?? '', state: loc.search.get('state') ?? '', assignee: loc.search.get('assignee') ?? '',
    labelId: loc.search.get('label') ?? '', intent: loc.search.get('intent') ?? '', urgent: loc.search.get('urgent') === '1', q: loc.search.get('q') ?? '',
  };
  const selected = loc.search.get('c');
  const [live, setLive] = useState(false);
  const [search, setSearch] = useState(f.q);
  useEffect(() => setSearch(f.q), [f.q]);

  const accounts = useLoad(() => getAll<AccountList>(wsPath(workspace, '/accounts'), 'accounts'), [workspace.id]);
  const members = useLoad(() => getAll<Paged<'members', Member>>(wsPath(workspace, '/members'), 'members'), [workspace.id]);
  const labels = useLoad(() => getAll<LabelList>(wsPath(workspace, '/inbox/labels'), 'labels'), [workspace.id]);
  const pages = usePages((cursor) => api.get<ConversationList>(wsPath(workspace, '/inbox/conversations'), {
    query: {
      limit: PAGE, cursor, accountId: f.accountId, state: f.state, assignee: f.assignee, labelId: f.labelId, q: f.q,
      intent: f.intent, ...(f.urgent ? { urgent: true } : {}),
    },
  }).then((r) => ({ items: r.conversations, nextCursor: r.nextCursor })), [workspace.id, f.accountId, f.state, f.assignee, f.labelId, f.intent, f.urgent, f.q]);
  const items = pages.items;
  const viewRef = useRef<{ reload(): void; conversationId: string | null }>({ reload: () => undefined, conversationId: null });

  const reloadList = useDebounced(() => pages.first.reload(), 250);
  useEffect(() => listenInbox(workspace.id, (e: InboxEvent) => {
    if (e.type === 'live') return setLive(e.on);
    reloadList();
    // The open conversation's own read state is this screen's doing: nothing to read again for it.
    const readOnly = e.type === 'conversation.changed' && e.changes.every((x) => x === 'read');
    if (e.type === 'resync' || (e.conversationId === viewRef.current.conversationId && !readOnly)) viewRef.current.reload();
  }), [workspace.id, reloadList]);

  const select = (id: string | null) => setQuery({ c: id ?? undefined });
  // The first conversation is opened when none is (a wide screen shows both).
  const firstId = items[0]?.id;
  useEffect(() => {
    if (!selected && firstId) setQuery({ c: firstId });
  }, [selected, firstId]);

  // j/k move; r, e, a, l act on the open conversation (its view registers them).
  useEffect(() => {
    const onKey = (e: KeyboardEvent) => {
      if (e.defaultPrevented || e.ctrlKey || e.metaKey || e.altKey || typing(e.target) || document.querySelector('dialog[open]')) return;
      if (e.key === 'j' || e.key === 'k') {
        const i = items.findIndex((c) => c.id === selected);
        const next = items[Math.max(0, Math.min(items.length - 1, i + (e.key === 'j' ? 1 : -1)))];
        if (next) {
          e.preventDefault();
          select(next.id);
          document.getElementById(`conversation-${next.id}`)?.focus();
        }
      }
    };
    document.addEventListener('keydown', onKey);
    return () => document.removeEventListener('keydown', onKey);
  }, [items, selected]);

  const nameOf = (id: string | null) => members.data?.members.find((m) => m.userId === id)?.name ?? (id ? 'a former member' : null);
  const accountOf = (id: string) => accounts.data?.accounts.find((a) => a.id === id);
  const canAct = can('inbox.write');

  return (
    <Page title="Inbox" actions={<span class={live ? 'live-dot live-on' : 'live-dot'} role="status">{live ? 'Live' : 'Connecting…'}</span>}>
      <form class="inbox-filters row wrap" role="search" aria-label="Filter conversations" onSubmit={(e) => { e.preventDefault(); setQuery({ q: search.trim() || undefined, c: undefined }); }}>
        <label>Account
          <select value={f.accountId} onChange={(e) => setQuery({ account: e.currentTarget.value || undefined, c: undefined })}>
            <option value="">All accounts</option>
            {accounts.data?.accounts.map((a) => <option key={a.id} value={a.id}>{a.displayName || a.username} ({providerName(networks, a.provider)})</option>)}
          </select>
        </label>
        <label>State
          <select value={f.state} onChange={(e) => setQuery({ state: e.currentTarget.value || undefined, c: undefined })}>
            {STATES.map(([v, l]) => <option key={v} value={v}>{l}</option>)}
          </select>
        </label>
        <label>Assignee
          <select value={f.assignee} onChange={(e) => setQuery({ assignee: e.currentTarget.value || undefined, c: undefined })}>
            <option value="">Anyone</option>
            <option value="me">Me</option>
            <option value="none">Unassigned</option>
            {members.data?.members.map((m) => <option key={m.userId} value={m.userId}>{m.name}</option>)}
          </select>
        </label>
        <label>Label
          <select value={f.labelId} onChange={(e) => setQuery({ label: e.currentTarget.value || undefined, c: undefined })}>
            <option value="">Any label</option>
            {labels.data?.labels.map((l) => <option key={l.id} value={l.id}>{l.name}</option>)}
          </select>
        </label>
        <label>AI label
          <select value={f.intent} onChange={(e) => setQuery({ intent: e.currentTarget.value || undefined, c: undefined })}>
            <option value="">Any</option>
            {Object.entries(INTENT_LABEL).map(([v, name]) => <option key={v} value={v}>{name}</option>)}
          </select>
        </label>
        <label class="check">
          <input type="checkbox" checked={f.urgent} onChange={(e) => setQuery({ urgent: e.currentTarget.checked ? '1' : undefined, c: undefined })} /> Urgent
        </label>
        <label class="grow">Search
          <input type="search" value={search} maxLength={200} placeholder='words, "a phrase", -not' onInput={(e) => setSearch(e.currentTarget.value)} />
        </label>
        <button type="submit" class="button">Search</button>
      </form>
      <div class="inbox">
        <div class="inbox-list">
          {pages.first.loading && !pages.first.data && <Loading />}
          {pages.first.error ? <ErrorNote error={pages.first.error} retry={pages.first.reload} /> : null}
          {pages.first.data && items.length === 0 && (
            <Empty>{f.accountId || f.state || f.assignee || f.labelId || f.intent || f.urgent || f.q ? 'No conversation matches these filters.' : 'No conversations yet. Comments on your accounts\' posts and mentions arrive here as they are collected.'}</Empty>
          )}
          {items.length > 0 && (
            <ul class="list conversations" aria-label="Conversations">
              {items.map((c) => (
                <ConversationItem key={c.id} c={c} current={c.id === selected} onOpen={() => select(c.id)}
                  account={accountOf(c.accountId)?.username ?? providerName(networks, c.provider)} assignee={nameOf(c.assigneeId)} />
              ))}
            </ul>
          )}
          {pages.loadMore && <Button busy={pages.loadingMore} onClick={pages.loadMore}>Show more</Button>}
          <p class="meta keys">Keys: <kbd>j</kbd>/<kbd>k</kbd> move{canAct ? <>, <kbd>r</kbd> reply, <kbd>e</kbd> done, <kbd>a</kbd> assign, <kbd>l</kbd> label</> : null}.</p>
        </div>
        <div class="inbox-view">
          {selected
            ? <ConversationPane key={selected} id={selected} handle={viewRef} members={members.data?.members ?? []} labels={labels.data?.labels ?? []}
              limitsOf={(c) => (accountOf(c.accountId)?.limits as ProviderLimits | null | undefined) ?? networks.find((n) => n.id === c.provider)?.limits ?? null}
              accountName={(c) => accountOf(c.accountId)?.username ?? ''} onChanged={reloadList} />
            : <Empty>Choose a conversation.</Empty>}
        </div>
      </div>
    </Page>
  );
}

function ConversationItem({ c, current, onOpen, account, assignee }: { c: Conversation; current: boolean; onOpen: () => void; account: string; assignee: string | null }) {
  const who = c.lastMessage?.authorName ?? c.lastMessage?.authorHandle ?? c.root.authorHandle ?? '';
  return (
    <li class={`conversation${current ? ' current' : ''}${c.unread ? ' unread' : ''}`}>
      <button type="button" id={`conversation-${c.id}`} class="conversation-open" aria-current={current ? 'true' : undefined} onClick={onOpen}>
        <span class="conversation-head">
          <strong>{who}</strong>
          {c.unread && <span class="unread-dot"><span class="visually-hidden">Unread</span></span>}
          <span class="meta">{relative(c.lastMessageAt)}</span>
        </span>
        <span class="conversation-text">{c.lastMessage?.deleted ? 'Deleted' : excerpt(c.lastMessage?.text ?? c.root.text ?? '', 140)}</span>
        <span class="meta">
          {c.kind === 'mention' ? 'Mention' : 'Comment'} · {account} · {STATE_LABEL[c.state]}{assignee ? ` · ${assignee}` : ''}{c.hasQuestion ? ' · ?' : ''}
          {c.labels.map((l) => <span key={l.id} class="badge">{l.name}</span>)}
          {c.classification && <AiLabels intent={c.classification.intent} urgency={c.classification.urgency} />}
        </span>
      </button>
    </li>
  );
}

interface TreeNode { m: InboxMessage; children: TreeNode[] }
type Entry = { kind: 'message'; node: TreeNode; at: string } | { kind: 'note'; note: InboxNote; at: string };

/** The reply tree by the network's ids; messages whose parent is the root post (or not collected) are its first level. */
function tree(messages: InboxMessage[], rootRemoteId: string): TreeNode[] {
  const nodes = new Map(messages.map((m) => [m.remoteId, { m, children: [] as TreeNode[] }]));
  const top: TreeNode[] = [];
  for (const n of nodes.values()) {
    const parent = n.m.parentRemoteId && n.m.parentRemoteId !== rootRemoteId ? nodes.get(n.m.parentRemoteId) : undefined;
    if (parent && parent !== n) parent.children.push(n);
    else top.push(n);
  }
  return top;
}

function ConversationPane({ id, handle, members, labels, limitsOf, accountName, onChanged }: {
  id: string; handle: { current: { reload(): void; conversationId: string | null } }; members: Member[]; labels: InboxLabel[];
  limitsOf: (c: ConversationView) => ProviderLimits | null; accountName: (c: ConversationView) => string; onChanged: () => void;
}) {
  const { workspace, me, can, zone, networks } = useApp();
  const path = wsPath(workspace, `/inbox/conversations/${id}`);
  const view = useLoad(() => api.get<ConversationView>(path), [path]);
  const saved = useLoad(() => getAll<SavedReplyList>(wsPath(workspace, '/inbox/saved-replies'), 'savedReplies'), [workspace.id]);
  handle.current = { reload: view.reload, conversationId: id };
  const c = view.data;
  const [run, busy] = useAction();
  const [replyTo, setReplyTo] = useState<string | null>(null);
  const [text, setText] = useState('');
  const [note, setNote] = useState('');
  const replyBox = useRef<HTMLTextAreaElement>(null);
  const assignBox = useRef<HTMLSelectElement>(null);
  const labelBox = useRef<HTMLSelectElement>(null);
  const canAct = can('inbox.write');

  // Read once opened, and again when something arrives while it is open.
  useEffect(() => {
    if (c?.unread) void api.post(`${path}/read`).catch(() => undefined);
  }, [c, path]);

  // What the reply box answers: the newest inbound message the network lets the account answer.
  const inbound = c?.messages.filter((m) => m.direction === 'inbound' && m.can.reply) ?? [];
  const target = c?.messages.find((m) => m.id === replyTo) ?? inbound.at(-1) ?? null;
  const limits = c ? limitsOf(c) : null;
  const length = limits ? countText(limits.textCounting, text) : [...text].length;
  const over = limits ? length > limits.maxTextLength : false;
  const nameOf = (uid: string | null) => members.find((m) => m.userId === uid)?.name ?? (uid ? 'a former member' : null);
  const byRemote = useMemo(() => new Map((c?.replies ?? []).filter((r) => r.remoteId).map((r) => [r.remoteId!, r])), [c]);
  const pendingUnder = (messageId: string) => (c?.replies ?? []).filter((r) => r.messageId === messageId && r.state !== 'published');

  const change = (body: Record<string, unknown>, ok: string) => run(async () => {
    await api.patch(path, body);
    view.reload();
    onChanged();
  }, ok);
  const changeRef = useRef(change);
  changeRef.current = change;

  // r, e, a, l on the open conversation.
  useEffect(() => {
    if (!canAct) return undefined;
    const onKey = (e: KeyboardEvent) => {
      if (e.defaultPrevented || e.ctrlKey || e.metaKey || e.altKey || typing(e.target) || document.querySelector('dialog[open]') || !c) return;
      const act: Record<string, () => void> = {
        r: () => replyBox.current?.focus(),
        e: () => void changeRef.current({ state: c.state === 'done' ? 'open' : 'done' }, c.state === 'done' ? 'Reopened.' : 'Marked done.'),
        a: () => assignBox.current?.focus(),
        l: () => labelBox.current?.focus(),
      };
      const fn = act[e.key];
      if (fn) {
        e.preventDefault();
        fn();
      }
    };
    document.addEventListener('keydown', onKey);
    return () => document.removeEventListener('keydown', onKey);
  }, [c, canAct]);

  // "Someone is replying": said while the member types (PUT …/replying, at most every PRESENCE_EVERY_MS, and at
  // once when the message answered changes), ended (DELETE) when the box is emptied, on sending and on leaving.
  const presence = useRef<{ at: number; messageId: string | null } | null>(null);
  const stopReplying = useCallback(() => {
    if (!presence.current) return;
    presence.current = null;
    void api.del(`${path}/replying`).catch(() => undefined);
  }, [path]);
  const sayReplying = (messageId: string | null, value: string) => {
    if (!value.trim()) return stopReplying();
    const p = presence.current;
    if (p && p.messageId === messageId && Date.now() - p.at < PRESENCE_EVERY_MS) return;
    presence.current = { at: Date.now(), messageId };
    void api.put(`${path}/replying`, messageId ? { messageId } : {}).catch(() => undefined);
  };
  useEffect(() => stopReplying, [stopReplying]);

  if (view.error && !c) return <ErrorNote error={view.error} retry={view.reload} />;
  if (!c) return <Loading />;

  const insertSaved = (savedReplyId: string) => run(async () => {
    const r = await api.post<RenderedReply>(`${path}/render-reply`, { savedReplyId, ...(target ? { messageId: target.id } : {}) });
    const box = replyBox.current;
    const at = box ? box.selectionStart : text.length;
    const end = box ? box.selectionEnd : text.length;
    setText(text.slice(0, at) + r.text + text.slice(end));
    box?.focus();
    return r;
  }, (r) => (r.missing.length ? `No value here for ${r.missing.join(', ')}: left empty.` : undefined));

  const send = (e: Event) => {
    e.preventDefault();
    if (!target || !text.trim() || over) return;
    void run(async () => {
      const r = await api.post<InboxReply>(`${path}/replies`, { messageId: target.id, text });
      stopReplying();
      setText('');
      setReplyTo(null);
      view.reload();
      return r;
    }, (r) => (r.state === 'pending_approval' ? 'Waiting for approval: an owner or admin approves it before it is sent.' : 'Reply queued: it is sent once, and shown here when the network has it.'));
  };

  const addNote = (e: Event) => {
    e.preventDefault();
    if (!note.trim()) return;
    void run(async () => {
      await api.post(`${path}/notes`, { text: note.trim() });
      setNote('');
      view.reload();
    });
  };

  const entries: Entry[] = [
    ...tree(c.messages, c.root.remoteId).map((node): Entry => ({ kind: 'message', node, at: node.m.createdAt })),
    ...c.notes.map((n): Entry => ({ kind: 'note', note: n, at: n.createdAt })),
  ].sort((x, y) => x.at.localeCompare(y.at));

  const renderReply = (r: InboxReply) => (
    <li key={r.id} class={`message pending reply-${r.state}`}>
      <div class="message-head"><strong>{nameOf(r.author.id) ?? r.author.name ?? 'Someone'}</strong> <span class="meta">via AllIN · {dateTime(r.createdAt, zone)}</span>
        <span class={`badge badge-${r.state === 'failed' ? 'failed' : r.state === 'unknown' ? 'unknown' : 'pending'}`}>{REPLY_STATE[r.state] ?? r.state}</span></div>
      <p class="message-text">{r.text}</p>
      {r.error && <p class="field-error">{r.error.message}</p>}
      {r.state === 'pending_approval' && can('inbox.approve') && (
        <div class="row">
          <Button small kind="primary" busy={busy} onClick={() => void run(async () => { await api.post(wsPath(workspace, `/inbox/replies/${r.id}/approve`)); view.reload(); }, 'Approved: the reply is sent once.')}>Approve</Button>
          <Button small kind="danger" busy={busy} onClick={() => {
            const reason = window.prompt('Why is this reply rejected? The member who wrote it sees this.')?.trim();
            if (reason) void run(async () => { await api.post(wsPath(workspace, `/inbox/replies/${r.id}/reject`), { reason }); view.reload(); }, 'Rejected: it is never sent.');
          }}>Reject</Button>
        </div>
      )}
    </li>
  );

  /** What the API accepts for the message (its `can`, by the rules it enforces: 409 otherwise). */
  const actionsFor = (m: InboxMessage): { toggles: InboxAction['action'][]; canDelete: boolean } => {
    const toggles = [m.liked ? 'unlike' : 'like', m.hidden ? 'unhide' : 'hide'] as InboxAction['action'][];
    return { toggles: toggles.filter((a) => m.can[a]), canDelete: m.can.delete };
  };
  const act = (m: InboxMessage, action: InboxAction['action']) => run(async () => {
    await api.post(wsPath(workspace, `/inbox/messages/${m.id}/${action}`));
    view.reload();
  }, `${ACTION_DOING[action]}: done once on the network, and shown here when it is.`);
  const renderActions = (m: InboxMessage) => {
    const mine = c.actions.filter((a) => a.messageId === m.id);
    const pending = mine.find((a) => a.state === 'queued' || a.state === 'sending');
    const last = mine.at(-1);
    const { toggles, canDelete } = actionsFor(m);
    if (!pending && toggles.length === 0 && !canDelete) return null;
    return (
      <span class="row wrap message-actions">
        {pending ? <span class="meta" role="status">{ACTION_DOING[pending.action]}…</span> : (
          <>
            {toggles.map((a) => <Button key={a} small kind="quiet" busy={busy} onClick={() => void act(m, a)}>{ACTION_DONE[a]}</Button>)}
            {canDelete && (
              <ConfirmButton small label="Delete" confirm="Delete on the network"
                question={`Delete this message on ${providerName(networks, c.provider)}? It is gone for everyone there, and cannot be undone.`}
                onConfirm={async () => { await api.post(wsPath(workspace, `/inbox/messages/${m.id}/delete`)); view.reload(); }} />
            )}
          </>
        )}
        {!pending && last && (last.state === 'failed' || last.state === 'unknown') && (
          <span class="field-error">{ACTION_DONE[last.action]} {last.state === 'failed' ? 'failed' : 'may not have been done'}: {last.error?.message ?? 'check the message on the network.'}</span>
        )}
      </span>
    );
  };

  const renderNode = (n: TreeNode) => {
    const m = n.m;
    const ours = m.direction === 'outbound';
    const answered = byRemote.get(m.remoteId);
    const who = ours ? `${m.author.name ?? m.author.handle ?? accountName(c)}` : m.author.name ?? m.author.handle ?? 'Someone';
    return (
      <li key={m.id} class={`message${ours ? ' outbound' : ''}${target?.id === m.id ? ' replying' : ''}`} data-message-id={m.id}>
        <div class="message-head">
          <strong>{who}</strong>{m.author.handle && m.author.name ? <span class="meta"> @{m.author.handle}</span> : null}
          <span class="meta"> · {webUrl(m.url) ? <ExternalLink href={webUrl(m.url)!}>{dateTime(m.createdAt, zone)}</ExternalLink> : dateTime(m.createdAt, zone)}</span>
          {m.classification && <> <AiLabels {...m.classification} /></>}
          {answered && <span class="meta"> · answered by {nameOf(answered.author.id) ?? answered.author.name ?? 'a member'} via AllIN{answered.publishedAt ? `, ${relative(answered.publishedAt)}` : ''}</span>}
          {m.edited && <span class="badge">edited</span>}{m.hidden && <span class="badge">hidden</span>}{m.liked && <span class="badge">liked</span>}
        </div>
        <p class="message-text">{m.deleted ? <em>Deleted on the network.</em> : m.text}</p>
        {canAct && !ours && m.can.reply && <button type="button" class="link-button" onClick={() => { setReplyTo(m.id); replyBox.current?.focus(); }}>Reply</button>}
        {canAct && !m.deleted && renderActions(m)}
        {(n.children.length > 0 || pendingUnder(m.id).length > 0) && (
          <ul class="thread">{n.children.map(renderNode)}{pendingUnder(m.id).map(renderReply)}</ul>
        )}
      </li>
    );
  };

  return (
    <article class="conversation-view" aria-labelledby="conversation-title">
      <header class="card subtle">
        <h2 id="conversation-title">{c.kind === 'mention' ? `Mention by @${c.messages[0]?.author.handle ?? c.root.authorHandle ?? 'someone'}` : 'Comments on your post'}</h2>
        {c.kind === 'post_thread' && (
          <blockquote class="root-post">
            {c.post?.text ?? c.root.text ?? <em>The post's text was not collected.</em>}
            <div class="meta">
              {webUrl(c.root.url) && <ExternalLink href={webUrl(c.root.url)!}>On the network</ExternalLink>}
              {c.post && <> · <Link href={`/posts/${c.post.postId}`}>In AllIN</Link></>}
              {c.root.createdAt && ` · ${dateTime(c.root.createdAt, zone)}`}
            </div>
          </blockquote>
        )}
        <p class="meta">
          {accountName(c)} · <span data-testid="conversation-state">{STATE_LABEL[c.state]}</span>
          {c.assigneeId ? ` · assigned to ${nameOf(c.assigneeId)}` : ' · unassigned'}
          {c.labels.map((l) => <span key={l.id} class="badge">{l.name}</span>)}
        </p>
        {canAct && (
          <div class="row wrap conversation-actions">
            <Button small busy={busy} kind={c.state === 'done' ? 'secondary' : 'primary'} onClick={() => void change({ state: c.state === 'done' ? 'open' : 'done' }, c.state === 'done' ? 'Reopened.' : 'Marked done.')}>
              {c.state === 'done' ? 'Reopen' : 'Done'}
            </Button>
            <label>Assignee
              <select ref={assignBox} value={c.assigneeId ?? ''} onChange={(e) => {
                const v = e.currentTarget.value;
                void change({ assigneeId: v || null }, v ? `Assigned to ${nameOf(v)}.` : 'Unassigned.');
              }}>
                <option value="">Unassigned</option>
                {members.filter((m) => m.role !== 'viewer').map((m) => <option key={m.userId} value={m.userId}>{m.userId === me.id ? `${m.name} (me)` : m.name}</option>)}
              </select>
            </label>
            <label>Add label
              <select ref={labelBox} value="" onChange={(e) => {
                const v = e.currentTarget.value;
                if (v) void change({ addLabelIds: [v] }, 'Label added.');
              }}>
                <option value="">Choose…</option>
                {labels.filter((l) => !c.labels.some((x) => x.id === l.id)).map((l) => <option key={l.id} value={l.id}>{l.name}</option>)}
              </select>
            </label>
            {c.labels.map((l) => (
              <Button key={l.id} small kind="quiet" label={`Remove label ${l.name}`} onClick={() => void change({ removeLabelIds: [l.id] }, 'Label removed.')}>{l.name} ×</Button>
            ))}
          </div>
        )}
      </header>
      <ul class="thread" aria-label="Messages and notes">
        {entries.map((e) => (e.kind === 'message' ? renderNode(e.node) : (
          <li key={e.note.id} class="message note">
            <div class="message-head"><strong>{e.note.authorName ?? nameOf(e.note.authorId) ?? 'Someone'}</strong> <span class="meta">note for the team · {dateTime(e.note.createdAt, zone)}</span></div>
            <p class="message-text">{e.note.text}</p>
          </li>
        )))}
        {c.replies.filter((r) => r.messageId === null && r.state !== 'published').map(renderReply)}
      </ul>
      {c.nextMessagesCursor && <p class="meta">Older messages beyond the first 100 are not shown here yet.</p>}
      {c.replying.length > 0 && (
        <p class="meta replying-now" role="status" data-testid="replying">
          {c.replying.map((r) => nameOf(r.userId) ?? r.name ?? 'Someone').join(', ')} {c.replying.length > 1 ? 'are' : 'is'} replying…
        </p>
      )}
      {canAct && (
        <>
          <form class="form reply-form" onSubmit={send} aria-label="Reply">
            <label for="reply-text">{target ? `Reply to ${target.author.name ?? target.author.handle ?? 'this message'}` : 'Reply'}</label>
            {target && <p class="meta">“{excerpt(target.text, 120)}”{replyTo && <> <button type="button" class="link-button" onClick={() => setReplyTo(null)}>answer the newest instead</button></>}</p>}
            <textarea id="reply-text" ref={replyBox} rows={4} value={text} disabled={!target}
              onInput={(e) => { const v = e.currentTarget.value; setText(v); sayReplying(target?.id ?? null, v); }}
              aria-describedby="reply-count" placeholder={target ? '' : 'Nothing here to answer.'} />
            <div class="row wrap">
              <span id="reply-count" class={over ? 'counter over' : 'counter'} aria-live="polite">
                {length}{limits ? ` / ${limits.maxTextLength}` : ''}{over ? ` (${length - limits!.maxTextLength} too many)` : ''}
              </span>
              <label>Saved reply
                <select value="" disabled={!target || !saved.data?.savedReplies.length} onChange={(e) => { const v = e.currentTarget.value; if (v) void insertSaved(v); }}>
                  <option value="">{saved.data?.savedReplies.length ? 'Insert…' : 'None saved'}</option>
                  {saved.data?.savedReplies.map((s) => <option key={s.id} value={s.id}>{s.name}</option>)}
                </select>
              </label>
              <Submit busy={busy} disabled={!target || !text.trim() || over}>Send reply</Submit>
            </div>
            {target && can('assistant.use') && (
              <SuggestReply conversationId={c.id} messageId={target.id} onUse={(t) => { setText(t); sayReplying(target.id, t); replyBox.current?.focus(); }} />
            )}
          </form>
          <form class="form note-form" onSubmit={addNote}>
            <label for="note-text">Note for the team</label>
            <textarea id="note-text" rows={2} maxLength={5000} value={note} onInput={(e) => setNote(e.currentTarget.value)} placeholder="Never sent to the network" />
            <Submit kind="secondary" busy={busy} disabled={!note.trim()}>Add note</Submit>
          </form>
        </>
      )}
    </article>
  );
}
