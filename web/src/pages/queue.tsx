// An account's queue: its queued posts in slot order. Reorder by dragging a post onto another, or with
// the Move up / Move down buttons (keyboard); the posts keep the same slot times, in the new order.
import { useEffect, useRef, useState } from 'preact/hooks';
import { api, getAll } from '../api.ts';
import { setQuery, useLocation } from '../router.ts';
import { dateTime, excerpt, WEEKDAYS } from '../format.ts';
import { useApp, wsPath } from '../state.ts';
import type { AccountList, QueueItem, QueuePage, Slots } from '../types.ts';
import { Button, Empty, ErrorNote, Field, Link, Loading, Page, useAction, useLoad } from '../ui.tsx';
import { providerName } from './accounts.tsx';

export function Queue() {
  const { workspace, networks, zone, can } = useApp();
  const loc = useLocation();
  const accounts = useLoad(() => getAll<AccountList>(wsPath(workspace, '/accounts'), 'accounts'), [workspace.id]);
  const list = (accounts.data?.accounts ?? []).filter((a) => a.status !== 'disconnected');
  const accountId = loc.search.get('account') ?? list[0]?.id ?? '';
  // The whole queue: reordering moves any target to any place.
  const queue = useLoad(() => (accountId ? getAll<QueuePage>(wsPath(workspace, `/accounts/${accountId}/queue`), 'targets') : Promise.resolve({ targets: [], nextCursor: null })), [workspace.id, accountId]);
  const slots = useLoad(() => (accountId ? api.get<Slots>(wsPath(workspace, `/accounts/${accountId}/slots`)) : Promise.resolve(undefined)), [workspace.id, accountId]);
  const [order, setOrder] = useState<QueueItem[]>([]);
  const [dragging, setDragging] = useState<string | null>(null);
  // Read by the drag events, which may come before the re-render that the state change causes.
  const dragged = useRef<string | null>(null);
  const [run, busy] = useAction();
  useEffect(() => setOrder(queue.data?.targets ?? []), [queue.data]);
  const mayReorder = can('posts.write') && (!workspace.settings?.requireApproval || can('posts.approve'));

  const save = (next: QueueItem[], what: string) => {
    setOrder(next);
    return run(async () => {
      const r = await api.put<QueuePage>(wsPath(workspace, `/accounts/${accountId}/queue`), { targetIds: next.map((t) => t.targetId) });
      queue.setData(r);
      return true;
    }, what).then((r) => { if (r === undefined) queue.reload(); });
  };
  const moveTo = (from: number, to: number) => {
    if (to < 0 || to >= order.length || from === to) return;
    const next = [...order];
    const [item] = next.splice(from, 1);
    next.splice(to, 0, item!);
    void save(next, `Moved to position ${to + 1} of ${order.length}.`);
  };

  return (
    <Page title="Queue">
      {accounts.loading && !accounts.data && <Loading />}
      {accounts.error ? <ErrorNote error={accounts.error} retry={accounts.reload} /> : null}
      {accounts.data && list.length === 0 && <Empty>Connect an account to give it a queue: <Link href="/accounts">Accounts</Link>.</Empty>}
      {list.length > 0 && (
        <>
          <Field label="Account">
            {(p) => (
              <select {...p} value={accountId} onChange={(e) => setQuery({ account: e.currentTarget.value })}>
                {list.map((a) => <option key={a.id} value={a.id}>{providerName(networks, a.provider)} · {a.username}</option>)}
              </select>
            )}
          </Field>
          {slots.data && (
            <p class="meta">
              {slots.data.slots.length === 0
                ? <>This account has no posting slots yet. <Link href={`/settings/slots?account=${accountId}`}>Set its time slots</Link> to use the queue.</>
                : <>Slots: {slots.data.slots.map((s) => `${WEEKDAYS[s.weekday - 1]!.slice(0, 3)} ${s.time}`).join(', ')} ({slots.data.timeZone}). <Link href={`/settings/slots?account=${accountId}`}>Change</Link></>}
            </p>
          )}
          {queue.loading && !queue.data && <Loading />}
          {queue.error ? <ErrorNote error={queue.error} retry={queue.reload} /> : null}
          {queue.data && order.length === 0 && <Empty>The queue is empty. In the composer, choose “Next free queue slot”.</Empty>}
          {order.length > 0 && (
            <>
              {mayReorder && <p class="hint" id="queue-hint">Drag a post onto another to change the order, or use Move up and Move down. The slot times stay; the posts swap places.</p>}
              <ol class="list queue" aria-label="Queued posts, in order" aria-busy={busy ? 'true' : undefined}>
                {order.map((t, i) => (
                  <li key={t.targetId} class={`list-item queue-item${dragging === t.targetId ? ' dragging' : ''}`} draggable={mayReorder}
                    aria-describedby={mayReorder ? 'queue-hint' : undefined}
                    onDragStart={(e) => { dragged.current = t.targetId; setDragging(t.targetId); e.dataTransfer?.setData('text/plain', t.targetId); if (e.dataTransfer) e.dataTransfer.effectAllowed = 'move'; }}
                    onDragEnd={() => { dragged.current = null; setDragging(null); }}
                    onDragOver={(e) => { if (dragged.current) e.preventDefault(); }}
                    onDrop={(e) => {
                      e.preventDefault();
                      const from = order.findIndex((x) => x.targetId === dragged.current);
                      dragged.current = null;
                      setDragging(null);
                      if (from >= 0) moveTo(from, i);
                    }}>
                    <span class="queue-pos" aria-hidden="true">{i + 1}</span>
                    <div class="grow">
                      <Link href={`/posts/${t.postId}`}>{excerpt(t.text, 100)}</Link>
                      <div class="meta">{dateTime(t.publishAt, zone)}</div>
                    </div>
                    {mayReorder && (
                      <div class="row">
                        <Button small kind="quiet" disabled={i === 0 || busy} label={`Move up: ${excerpt(t.text, 100)}`} onClick={() => moveTo(i, i - 1)}>Move up</Button>
                        <Button small kind="quiet" disabled={i === order.length - 1 || busy} label={`Move down: ${excerpt(t.text, 100)}`} onClick={() => moveTo(i, i + 1)}>Move down</Button>
                      </div>
                    )}
                  </li>
                ))}
              </ol>
            </>
          )}
        </>
      )}
    </Page>
  );
}
