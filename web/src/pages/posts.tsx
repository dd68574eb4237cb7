// Posts: the list (drafts, waiting for approval, scheduled and published), and one post in detail:
// per-network status, every attempt, errors, links to what was published, retry, edit, delete.
import { useEffect, useState } from 'preact/hooks';
import { api, ApiError, blobUrl, getAll } from '../api.ts';
import { navigate, setQuery, useLocation } from '../router.ts';
import { dateTime, excerpt, relative, stateWord } from '../format.ts';
import { useApp, wsPath } from '../state.ts';
import type { Account, AccountList, Post, PostList, Target } from '../types.ts';
import { Badge, Button, ConfirmButton, Empty, ErrorNote, ExternalLink, Link, Loading, Page, toast, useAction, useLoad, usePages } from '../ui.tsx';
import { providerName } from './accounts.tsx';

const FILTERS: [string, string][] = [['', 'All'], ['draft', 'Drafts'], ['pending_approval', 'Waiting for approval'], ['scheduled', 'Scheduled and published']];

function whenOf(p: Post, zone: string): string {
  const live = p.targets.filter((t) => t.state !== 'cancelled');
  const published = live.map((t) => t.publishedAt).filter(Boolean).sort().at(-1);
  if (p.aggregateStatus === 'published' && published) return `Published ${dateTime(published, zone)}`;
  const at = p.schedule?.publishAt ?? live.map((t) => t.publishAt).filter(Boolean).sort()[0];
  if ((p.aggregateStatus === 'failed' || p.aggregateStatus === 'unknown') && at) return `Was due ${dateTime(at, zone)}`;
  if (p.status === 'scheduled' && at) return `${p.schedule?.mode === 'queue' ? 'Queued for' : 'Scheduled for'} ${dateTime(at, zone)}`;
  if (p.status === 'pending_approval') return `Submitted ${relative(p.review?.submittedAt)}${at ? `, for ${dateTime(at, zone)}` : ''}`;
  return `Edited ${relative(p.updatedAt)}`;
}

export function PostRow({ post, accounts }: { post: Post; accounts: Account[] }) {
  const { networks, zone } = useApp();
  const targets = [...new Map(post.targets.map((t) => [t.accountId, t])).values()];
  return (
    <li class="list-item post-row">
      <div class="grow">
        <Link href={`/posts/${post.id}`} class="post-link">{excerpt(post.text)}</Link>
        <div class="meta">
          <Badge state={post.aggregateStatus} /> {whenOf(post, zone)} · {targets.map((t) => {
            const a = accounts.find((x) => x.id === t.accountId);
            return `${providerName(networks, t.provider)}${a ? ` ${a.username}` : ''}`;
          }).join(', ')}
        </div>
        {post.status === 'draft' && post.review?.decision === 'rejected' && post.review.comment && (
          <p class="review-comment"><strong>Changes requested:</strong> {post.review.comment}</p>
        )}
      </div>
    </li>
  );
}

export function Posts() {
  const { workspace, can } = useApp();
  const loc = useLocation();
  const status = loc.search.get('status') ?? '';
  const list = usePages((cursor) => api.get<PostList>(wsPath(workspace, '/posts'), { query: { status, limit: 30, cursor } })
    .then((r) => ({ items: r.posts, nextCursor: r.nextCursor })), [workspace.id, status]);
  const { first, items: all } = list;
  const accounts = useLoad(() => getAll<AccountList>(wsPath(workspace, '/accounts'), 'accounts'), [workspace.id]);

  return (
    <Page title="Posts" actions={can('posts.write') ? <><Link href="/posts/bulk" class="button">Bulk upload</Link> <Link href="/compose" class="button button-primary">New post</Link></> : undefined}>
      <nav aria-label="Filter posts" class="filters">
        {FILTERS.map(([v, l]) => (
          <button key={v} type="button" class="chip" aria-pressed={status === v} onClick={() => setQuery({ status: v || undefined })}>{l}</button>
        ))}
      </nav>
      {first.loading && !first.data && <Loading />}
      {first.error ? <ErrorNote error={first.error} retry={first.reload} /> : null}
      {first.data && all.length === 0 && (
        <Empty>{status ? `No ${FILTERS.find(([v]) => v === status)?.[1].toLowerCase()} here.` : 'No posts yet.'}{can('posts.write') && <> <Link href="/compose">Write one</Link>.</>}</Empty>
      )}
      {all.length > 0 && (
        <ul class="list" aria-label="Posts">
          {all.map((p) => <PostRow key={p.id} post={p} accounts={accounts.data?.accounts ?? []} />)}
        </ul>
      )}
      {list.loadMore && <Button busy={list.loadingMore} onClick={list.loadMore}>Show older posts</Button>}
    </Page>
  );
}

function MediaStrip({ ids }: { ids: string[] }) {
  const { workspace } = useApp();
  const [urls, setUrls] = useState<Record<string, string>>({});
  // Fetched again only when the list itself changes, not each time the post is polled.
  const idList = ids.join(',');
  const mediaPath = wsPath(workspace, '/media');
  useEffect(() => {
    const ctl = new AbortController();
    const made: string[] = [];
    for (const id of idList ? idList.split(',') : []) {
      blobUrl(`${mediaPath}/${id}/content`, ctl.signal).then((u) => { made.push(u); setUrls((x) => ({ ...x, [id]: u })); }, () => {});
    }
    return () => { ctl.abort(); for (const u of made) URL.revokeObjectURL(u); };
  }, [idList, mediaPath]);
  if (ids.length === 0) return null;
  return (
    <ul class="media-list" aria-label="Media">
      {ids.map((id, i) => <li key={id} class="media-item">{urls[id] ? <img class="thumb" src={urls[id]} alt={`Medium ${i + 1} of the post`} /> : <div class="thumb thumb-empty" aria-hidden="true" />}</li>)}
    </ul>
  );
}

const EDITABLE = ['draft', 'pending_approval', 'scheduled', 'failed', 'cancelled'];

function TargetCard({ t, account, onRetry, canWrite }: { t: Target; account: Account | undefined; onRetry: () => void; canWrite: boolean }) {
  const { networks, zone } = useApp();
  const name = `${providerName(networks, t.provider)}${account ? ` · ${account.username}` : ''}`;
  return (
    <li class="card target" aria-label={name}>
      <div class="target-head">
        <h3>{name}{t.occurrence > 1 ? ` (repeat ${t.occurrence})` : ''}</h3>
        <Badge state={t.state} />
      </div>
      <dl class="facts">
        {t.publishedAt ? <><dt>Published</dt><dd>{dateTime(t.publishedAt, zone)}</dd></> : t.publishAt ? <><dt>{t.queued ? 'Queue slot' : 'Due'}</dt><dd>{dateTime(t.publishAt, zone)}</dd></> : null}
        {t.nextAttemptAt && t.state === 'scheduled' && t.attempts > 0 && <><dt>Next try</dt><dd>{dateTime(t.nextAttemptAt, zone)}</dd></>}
        <dt>Attempts</dt><dd>{t.attempts}</dd>
      </dl>
      {t.url && <p><ExternalLink href={t.url}>View the published post on {providerName(networks, t.provider)}</ExternalLink></p>}
      {t.parts.length > 1 && (
        <ol class="parts" aria-label="Thread parts">
          {t.parts.map((p, i) => <li key={p.remoteId}>{p.url ? <ExternalLink href={p.url}>{`Part ${i + 1}`}</ExternalLink> : `Part ${i + 1} (${p.remoteId})`}</li>)}
        </ol>
      )}
      {t.firstComment && <p>{t.firstComment.url ? <ExternalLink href={t.firstComment.url}>First comment</ExternalLink> : `First comment: ${t.firstComment.remoteId}`}</p>}
      {t.error && (
        <div class="error-note">
          <p><strong>{t.state === 'unknown' ? 'Outcome unknown' : 'Error'}:</strong> {t.error.message}{t.error.networkStatus ? ` (network answered ${t.error.networkStatus})` : ''}</p>
          {t.state === 'unknown' && <p>Look at the account on the network to see whether it went out. AllIN does not retry it by itself, so it cannot go out twice.</p>}
        </div>
      )}
      {canWrite && t.state === 'failed' && <Button small kind="primary" onClick={onRetry} label={`Retry ${name}`}>Retry</Button>}
      {t.attemptLog && t.attemptLog.length > 0 && (
        <details>
          <summary>Attempt log ({t.attemptLog.length})</summary>
          <table class="table">
            <thead><tr><th scope="col">When</th><th scope="col">Part</th><th scope="col">Outcome</th><th scope="col">Details</th></tr></thead>
            <tbody>
              {t.attemptLog.map((a, i) => (
                <tr key={i}>
                  <td>{dateTime(a.at, zone)}</td><td>{a.part + 1}</td><td>{stateWord(a.outcome)}</td>
                  <td>{[a.errorClass, a.networkStatus, a.message, a.remoteId].filter((x) => x !== null && x !== '').join(' · ') || '—'}</td>
                </tr>
              ))}
            </tbody>
          </table>
        </details>
      )}
    </li>
  );
}

interface Metrics { totals: { likes: number | null; reposts: number | null; replies: number | null; impressions: number | null }; targets: { targetId: string; collection: string }[] }

export function PostDetail({ postId }: { postId: string }) {
  const { workspace, can, zone, me, switchWorkspace } = useApp();
  const post = useLoad(() => api.get<Post>(wsPath(workspace, `/posts/${postId}`)), [postId, workspace.id]);
  // A link (from a mail) to a post of another of my workspaces: find it there and switch.
  const [elsewhere, setElsewhere] = useState<'looking' | 'none' | null>(null);
  useEffect(() => {
    if (!(post.error instanceof ApiError && post.error.status === 404)) return;
    const others = me.workspaces.filter((w) => w.id !== workspace.id);
    if (others.length === 0) return;
    let stopped = false;
    setElsewhere('looking');
    void (async () => {
      for (const w of others) {
        try {
          await api.get(`/api/workspaces/${w.id}/posts/${postId}`);
          if (!stopped) {
            toast.ok(`This post is in ${w.name}: switched to it.`);
            switchWorkspace(w.id);
          }
          return;
        } catch { /* not there */ }
      }
      if (!stopped) setElsewhere('none');
    })();
    return () => { stopped = true; };
  }, [post.error, postId, workspace.id, me.workspaces, switchWorkspace]);
  const accounts = useLoad(() => getAll<AccountList>(wsPath(workspace, '/accounts'), 'accounts'), [workspace.id]);
  const p = post.data;
  const published = p?.targets.some((t) => t.state === 'published') ?? false;
  const metrics = useLoad(() => (published ? api.get<Metrics>(wsPath(workspace, `/posts/${postId}/metrics`)) : Promise.resolve(undefined)), [postId, published]);
  const [run, busy] = useAction();

  // Follow a post that is about to go out or going out.
  const active = p?.targets.some((t) => t.state === 'publishing' || (t.state === 'scheduled' && t.publishAt && new Date(t.publishAt).getTime() - Date.now() < 15 * 60_000));
  const reloadPost = post.reload;
  useEffect(() => {
    if (!active) return;
    const timer = setInterval(() => reloadPost(), 3000);
    return () => clearInterval(timer);
  }, [active, reloadPost]);

  if (post.loading && !p) return <Page title="Post"><Loading /></Page>;
  if (!p && elsewhere === 'looking') return <Page title="Post"><Loading label="Looking for the post in your other workspaces…" /></Page>;
  if (!p) return <Page title="Post"><ErrorNote error={post.error} retry={post.reload} /></Page>;

  const editable = p.targets.every((t) => EDITABLE.includes(t.state));
  const retry = (targetIds?: string[]) => run(async () => {
    const r = await api.post<{ retried: number }>(wsPath(workspace, `/posts/${p.id}/retry`), targetIds ? { targetIds } : {});
    post.reload();
    return r;
  }, (r) => (r.retried ? `${r.retried} ${r.retried === 1 ? 'target goes' : 'targets go'} out again.` : 'Nothing to retry.'));
  const latest = [...p.targets].sort((a, b) => a.occurrence - b.occurrence);
  const failed = p.targets.filter((t) => t.state === 'failed');

  return (
    <Page title="Post" actions={
      <>
        {can('posts.write') && editable && <Link href={`/compose/${p.id}`} class="button button-secondary">Edit</Link>}
        {can('posts.write') && p.status !== 'draft' && editable && !p.targets.some((t) => t.state === 'published') && (
          <Button busy={busy} onClick={() => run(async () => { await api.post(wsPath(workspace, `/posts/${p.id}/unschedule`)); post.reload(); }, 'Back to draft.')}>Back to draft</Button>
        )}
        {can('posts.write') && failed.length > 1 && <Button kind="primary" busy={busy} onClick={() => retry()}>Retry all failed</Button>}
        {can('posts.write') && (
          <ConfirmButton label="Delete" question="Delete this post from AllIN? What is already published stays on the networks." confirm="Delete post"
            onConfirm={async () => { await api.del(wsPath(workspace, `/posts/${p.id}`)); toast.ok('Post deleted.'); navigate('/posts'); }} />
        )}
      </>
    }>
      <p class="status-line" role="status">Status: <Badge state={p.aggregateStatus} /> <span class="meta">{whenOf(p, zone)}</span></p>
      {p.review && (
        <div class={p.review.decision === 'rejected' ? 'notice' : 'card subtle'}>
          {p.review.submittedAt && <p>Submitted for approval {dateTime(p.review.submittedAt, zone)}.</p>}
          {p.review.decision && <p>{p.review.decision === 'approved' ? 'Approved' : 'Changes requested'}{p.review.reviewedAt ? ` ${dateTime(p.review.reviewedAt, zone)}` : ''}{p.review.comment ? <>: <q>{p.review.comment}</q></> : '.'}</p>}
        </div>
      )}
      <div class="card">
        <p class="post-text">{p.text || <em>(no text)</em>}</p>
        <MediaStrip ids={p.mediaIds} />
        {p.schedule?.timeZone && p.schedule.localTime && <p class="meta">Local time {p.schedule.localTime.replace('T', ' ')} in {p.schedule.timeZone}{p.schedule.recurrence ? ', repeating' : ''}</p>}
      </div>
      {metrics.data && (
        <section aria-labelledby="engagement" class="card">
          <h2 id="engagement">Engagement</h2>
          <dl class="figures">
            {(['likes', 'reposts', 'replies', 'impressions'] as const).map((k) => <div key={k}><dt>{k}</dt><dd>{metrics.data!.totals[k] ?? '—'}</dd></div>)}
          </dl>
          {metrics.data.targets.every((t) => t.collection === 'pending') && <p class="meta">Figures are first collected an hour after publishing.</p>}
        </section>
      )}
      <h2>Networks</h2>
      <ul class="targets">
        {latest.map((t) => (
          <TargetCard key={t.id} t={t} account={accounts.data?.accounts.find((a) => a.id === t.accountId)} canWrite={can('posts.write')} onRetry={() => retry([t.id])} />
        ))}
      </ul>
    </Page>
  );
}
