// Feeds to posts (docs/FEEDS.md): the workspace's RSS, Atom and JSON Feed sources, each with its rule (drafts,
// or each account's queue), its state in words (last fetched, the last error, the next attempt), and what its
// items became, with links to the posts. Adding, fetching now, pausing and deleting take posts.write; the
// buttons are not shown to roles without it.
import { useState } from 'preact/hooks';
import { api, getAll } from '../api.ts';
import { dateTime, relative } from '../format.ts';
import { useApp, wsPath } from '../state.ts';
import type { Account, AccountList, Feed, FeedFetch, FeedItem, NewFeed, Paged } from '../types.ts';
import { Badge, Button, ConfirmButton, Empty, ErrorNote, ExternalLink, Field, fieldErrors, Link, Loading, Page, Submit, toast, useAction, useLoad, usePages } from '../ui.tsx';
import { providerName } from './accounts.tsx';

const DEFAULT_TEMPLATE = '{title}\n\n{url}';
const VARIABLES = '{title}, {url}, {summary}, {author}, {feed}';

export function Feeds() {
  const { workspace, can } = useApp();
  const accounts = useLoad(() => getAll<AccountList>(wsPath(workspace, '/accounts'), 'accounts'), [workspace.id]);
  const feeds = usePages((cursor) => api.get<Paged<'items', Feed>>(wsPath(workspace, '/feeds'), { query: { limit: 50, cursor } }), [workspace.id]);
  const write = can('posts.write');
  const all = accounts.data?.accounts ?? [];
  return (
    <Page title="Feeds">
      <p>AllIN reads these RSS, Atom and JSON feeds (a blog, a newsroom, a channel) and turns each <em>new</em> item into a draft, or into a post in
        each chosen account's queue. What a feed holds when it is added is remembered, not posted.</p>
      {feeds.first.error ? <ErrorNote error={feeds.first.error} retry={feeds.first.reload} /> : null}
      {feeds.first.loading && !feeds.first.data && <Loading />}
      {feeds.first.data && feeds.items.length === 0 && <Empty>No feed yet.{write ? ' Add one below.' : ''}</Empty>}
      {feeds.items.length > 0 && (
        <ul class="list" aria-label="Feeds">
          {feeds.items.map((f) => <FeedRow key={f.id} feed={f} accounts={all} write={write} onChanged={feeds.first.reload} />)}
        </ul>
      )}
      {feeds.loadMore && <Button busy={feeds.loadingMore} onClick={feeds.loadMore}>Show more feeds</Button>}
      {write && accounts.error ? <ErrorNote error={accounts.error} retry={accounts.reload} /> : null}
      {write && accounts.data && <AddFeed accounts={all.filter((a) => a.status !== 'disconnected')} onAdded={feeds.first.reload} />}
    </Page>
  );
}

function modeWords(f: Feed, accounts: Account[], networks: ReturnType<typeof useApp>['networks']): string {
  const names = f.accountIds.map((id) => {
    const a = accounts.find((x) => x.id === id);
    return a ? `${providerName(networks, a.provider)} ${a.username}` : 'a removed account';
  }).join(', ');
  return f.mode === 'draft' ? `New items become drafts for ${names}` : `New items go into the queue of ${names}`;
}

function FeedRow({ feed: f, accounts, write, onChanged }: { feed: Feed; accounts: Account[]; write: boolean; onChanged: () => void }) {
  const { workspace, networks, zone } = useApp();
  const [showItems, setShowItems] = useState(false);
  const [run, busy] = useAction();
  const path = wsPath(workspace, `/feeds/${f.id}`);
  const name = f.title ?? f.url;
  return (
    <li class="list-item feed" aria-label={name}>
      <div class="grow">
        <div><strong class="break">{name}</strong> <Badge state={f.status} /></div>
        {f.title && <div class="meta break">{f.url}</div>}
        <div class="meta">{modeWords(f, accounts, networks)}; every {f.intervalMinutes} minutes.</div>
        <dl class="feed-state">
          <dt>Last fetched</dt><dd>{f.lastFetchedAt ? `${dateTime(f.lastFetchedAt, zone)} (${relative(f.lastFetchedAt)})` : 'Not yet'}</dd>
          {f.lastError && f.lastSuccessAt && <><dt>Last read well</dt><dd>{dateTime(f.lastSuccessAt, zone)}</dd></>}
          <dt>Next attempt</dt><dd>{f.paused ? 'None while paused' : `${dateTime(f.nextFetchAt, zone)} (${relative(f.nextFetchAt)})`}</dd>
        </dl>
        {f.lastError && (
          <p class="field-error">Could not be read: {f.lastError}.{f.errorCount > 1 ? ` ${f.errorCount} failures in a row; AllIN waits longer after each.` : ''}</p>
        )}
      </div>
      <div class="row wrap">
        <Button small onClick={() => setShowItems(!showItems)}>{showItems ? 'Hide items' : 'Items and posts'}</Button>
        {write && (
          <>
            <Button small busy={busy} disabled={f.paused} onClick={() => run(async () => {
              const r = await api.post<FeedFetch>(`${path}/fetch`);
              onChanged();
              // A feed that cannot be read is an answer, not a refusal: said as an error all the same.
              if (r.feed.lastError) throw new Error(`The feed could not be read: ${r.feed.lastError}.`);
              return r;
            }, (r) => (r.made.length === 0 ? 'Fetched: nothing new.' : `Fetched: ${r.made.length} new item${r.made.length === 1 ? '' : 's'} made into posts.`))}>Fetch now</Button>
            <Button small busy={busy} onClick={() => run(async () => { await api.patch(path, { paused: !f.paused }); onChanged(); }, f.paused ? 'Feed resumed.' : 'Feed paused.')}>{f.paused ? 'Resume' : 'Pause'}</Button>
            <ConfirmButton small label="Delete" question={`Delete the feed ${name}? The posts it made stay; its memory of items goes, so adding it again starts afresh.`} confirm="Delete feed"
              onConfirm={async () => { await api.del(path); onChanged(); toast.ok('Feed deleted.'); }} />
          </>
        )}
      </div>
      {showItems && <FeedItems feedId={f.id} name={name} />}
    </li>
  );
}

function FeedItems({ feedId, name }: { feedId: string; name: string }) {
  const { workspace, zone } = useApp();
  const pages = usePages((cursor) => api.get<Paged<'items', FeedItem>>(wsPath(workspace, `/feeds/${feedId}/items`), { query: { limit: 50, cursor } }), [workspace.id, feedId]);
  const { first, items } = pages;
  return (
    <div class="feed-items">
      {first.error ? <ErrorNote error={first.error} retry={first.reload} /> : null}
      {first.loading && !first.data && <Loading />}
      {first.data && items.length === 0 && <Empty>The feed has shown no item yet.</Empty>}
      {items.length > 0 && (
        <div class="table-scroll">
          <table class="table table-compact" aria-label={`Items of ${name}`}>
            <thead><tr><th scope="col">Item</th><th scope="col">Published</th><th scope="col">What it became</th><th scope="col">Post</th></tr></thead>
            <tbody>
              {items.map((i) => (
                <tr key={i.id}>
                  <td class="break">{i.link ? <ExternalLink href={i.link}>{i.title ?? i.link}</ExternalLink> : (i.title ?? i.key)}</td>
                  <td>{i.publishedAt ? dateTime(i.publishedAt, zone) : '—'}</td>
                  <td><Badge state={i.state} />{i.reason && <div class="meta">{i.reason}</div>}</td>
                  <td>{i.postId ? <Link href={`/posts/${i.postId}`}>Open the post</Link> : i.state === 'seen' ? '—' : 'Deleted'}</td>
                </tr>
              ))}
            </tbody>
          </table>
        </div>
      )}
      {pages.loadMore && <Button small busy={pages.loadingMore} onClick={pages.loadMore}>Show older items</Button>}
    </div>
  );
}

function AddFeed({ accounts, onAdded }: { accounts: Account[]; onAdded: () => void }) {
  const { workspace, networks } = useApp();
  const [url, setUrl] = useState('');
  const [mode, setMode] = useState<NewFeed['mode']>('draft');
  const [chosen, setChosen] = useState<string[]>([]);
  const [template, setTemplate] = useState(DEFAULT_TEMPLATE);
  const [minutes, setMinutes] = useState('60');
  const [error, setError] = useState<unknown>(null);
  const [busy, setBusy] = useState(false);
  const errs = fieldErrors(error);
  const known = ['body.url', 'body.mode', 'body.accountIds', 'body.template', 'body.intervalMinutes'];
  const elsewhere = error && !Object.keys(errs).some((f) => known.includes(f) || f.startsWith('body.accountIds'));
  if (accounts.length === 0) {
    return <Empty>A feed's posts go to accounts: connect one first (<Link href="/accounts">Accounts</Link>).</Empty>;
  }
  const submit = async (e: Event) => {
    e.preventDefault();
    setBusy(true);
    setError(null);
    try {
      // The server checks everything (and reads the feed once): its refusals are shown next to their field.
      const body: NewFeed = { url: url.trim(), mode, accountIds: chosen, template, intervalMinutes: Number(minutes) };
      const feed = await api.post<Feed>(wsPath(workspace, '/feeds'), body);
      toast.ok(`Feed added: ${feed.title ?? feed.url}. Its items from now on become ${mode === 'draft' ? 'drafts' : 'queued posts'}.`);
      setUrl('');
      setChosen([]);
      setTemplate(DEFAULT_TEMPLATE);
      onAdded();
    } catch (err) {
      setError(err);
    } finally {
      setBusy(false);
    }
  };
  const accountsError = errs['body.accountIds'] ?? Object.entries(errs).find(([f]) => f.startsWith('body.accountIds'))?.[1];
  return (
    <form class="form card" onSubmit={submit} noValidate aria-label="Add a feed">
      <h2>Add a feed</h2>
      {elsewhere ? <ErrorNote error={error} /> : null}
      <Field label="Feed address" hint="The feed's own URL (RSS, Atom or JSON Feed), like https://example.com/feed.xml. It is read once now." error={errs['body.url']}>
        {(p) => <input {...p} type="url" value={url} onInput={(e) => setUrl(e.currentTarget.value)} />}
      </Field>
      <fieldset>
        <legend>New items become</legend>
        <div class="check">
          <input id="feed-mode-draft" type="radio" name="feed-mode" checked={mode === 'draft'} onChange={() => setMode('draft')} />
          <label for="feed-mode-draft">Drafts to review</label>
        </div>
        <div class="check">
          <input id="feed-mode-queue" type="radio" name="feed-mode" checked={mode === 'queue'} onChange={() => setMode('queue')} />
          <label for="feed-mode-queue">Posts in each account's queue (next free time slot; submitted for approval when the workspace requires it)</label>
        </div>
      </fieldset>
      <fieldset aria-describedby={accountsError ? 'feed-accounts-error' : undefined}>
        <legend>Accounts</legend>
        {accounts.map((a) => (
          <div class="check" key={a.id}>
            <input id={`feed-acc-${a.id}`} type="checkbox" checked={chosen.includes(a.id)}
              onChange={(e) => { const on = e.currentTarget.checked; setChosen((x) => (on ? [...x, a.id] : x.filter((y) => y !== a.id))); }} />
            <label for={`feed-acc-${a.id}`}>{providerName(networks, a.provider)} {a.username}</label>
          </div>
        ))}
        {accountsError && <p class="field-error" id="feed-accounts-error">{accountsError}</p>}
      </fieldset>
      <Field label="Template" hint={`The post's text; ${VARIABLES} are replaced by the item's.`} error={errs['body.template']}>
        {(p) => <textarea {...p} rows={3} value={template} onInput={(e) => setTemplate(e.currentTarget.value)} />}
      </Field>
      <Field label="Fetch every (minutes)" hint="15 to 1,440." error={errs['body.intervalMinutes']}>
        {(p) => <input {...p} type="number" inputMode="numeric" min={15} max={1440} value={minutes} onInput={(e) => setMinutes(e.currentTarget.value)} />}
      </Field>
      <Submit busy={busy}>Add feed</Submit>
    </form>
  );
}
