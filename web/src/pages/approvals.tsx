// The approvals inbox: posts submitted for approval. Owners and admins approve (the post is scheduled
// as submitted) or reject with a comment (it goes back to its author as a draft, with the comment).
import { useState } from 'preact/hooks';
import { api, getAll } from '../api.ts';
import { dateTime, excerpt, relative } from '../format.ts';
import { useApp, wsPath } from '../state.ts';
import type { ApprovalList, Member, Paged, Post } from '../types.ts';
import { Button, Dialog, Empty, ErrorNote, Field, Link, Loading, Page, Submit, toast, useLoad, usePages } from '../ui.tsx';
import { providerName } from './accounts.tsx';

type Decision = { post: Post; kind: 'approve' | 'reject' };

export function Approvals() {
  const { workspace, networks, zone, can } = useApp();
  const pages = usePages((cursor) => api.get<ApprovalList>(wsPath(workspace, '/approvals'), { query: { limit: 50, cursor } })
    .then((r) => ({ items: r.posts, nextCursor: r.nextCursor })), [workspace.id]);
  const list = pages.first;
  const members = useLoad(() => getAll<Paged<'members', Member>>(wsPath(workspace, '/members'), 'members'), [workspace.id]);
  const [deciding, setDeciding] = useState<Decision | null>(null);
  const [comment, setComment] = useState('');
  const [busy, setBusy] = useState(false);
  const approver = can('posts.approve');
  const who = (id: string | null) => members.data?.members.find((m) => m.userId === id)?.name ?? 'someone';

  const decide = async (e: Event) => {
    e.preventDefault();
    if (!deciding) return;
    setBusy(true);
    try {
      const { post, kind } = deciding;
      // An approval names the version shown here: if the post was edited since, the server refuses (409)
      // and the list is reloaded so the approver reads the new text before approving it.
      await api.post(wsPath(workspace, `/posts/${post.id}/${kind}`), kind === 'reject' ? { comment: comment.trim() } : { version: post.version, ...(comment.trim() ? { comment: comment.trim() } : {}) });
      toast.ok(kind === 'approve' ? 'Approved: the post is scheduled.' : 'Rejected: the post is back with its author as a draft.');
      setDeciding(null);
      setComment('');
      list.reload();
    } catch (err) {
      toast.error(err);
      // The approval named what the dialog showed; reload it rather than approve the same old version again.
      if (deciding.kind === 'approve') setDeciding(null);
      list.reload();
    } finally {
      setBusy(false);
    }
  };

  const posts = pages.items;
  return (
    <Page title="Approvals">
      {!workspace.settings?.requireApproval && <p class="meta">This workspace does not require approval; posts submitted earlier still show here.</p>}
      {!approver && <p class="meta">Owners and admins approve posts; you can see what is waiting.</p>}
      {list.loading && !list.data && <Loading />}
      {list.error ? <ErrorNote error={list.error} retry={list.reload} /> : null}
      {list.data && posts.length === 0 && <Empty>Nothing is waiting for approval.</Empty>}
      {posts.length > 0 && (
        <ul class="list" aria-label="Posts waiting for approval">
          {posts.map((p) => {
            const at = p.schedule?.publishAt;
            return (
              <li key={p.id} class="list-item approval">
                <div class="grow">
                  <Link href={`/posts/${p.id}`} class="post-link">{excerpt(p.text, 200)}</Link>
                  <div class="meta">
                    Submitted by {who(p.review?.submittedBy ?? p.createdBy)} {relative(p.review?.submittedAt)}
                    {' · '}{p.schedule?.mode === 'now' ? 'to publish at once' : p.schedule?.mode === 'queue' ? 'for the queue' : at ? `for ${dateTime(at, zone)}` : ''}
                    {' · '}{[...new Set(p.targets.map((t) => providerName(networks, t.provider)))].join(', ')}
                  </div>
                </div>
                {approver && (
                  <div class="row">
                    <Button small kind="primary" onClick={() => { setComment(''); setDeciding({ post: p, kind: 'approve' }); }} label={`Approve “${excerpt(p.text, 40)}”`}>Approve</Button>
                    <Button small kind="danger" onClick={() => { setComment(''); setDeciding({ post: p, kind: 'reject' }); }} label={`Reject “${excerpt(p.text, 40)}”`}>Reject</Button>
                  </div>
                )}
              </li>
            );
          })}
        </ul>
      )}
      {pages.loadMore && <Button busy={pages.loadingMore} onClick={pages.loadMore}>Show more</Button>}
      <Dialog open={!!deciding} title={deciding?.kind === 'approve' ? 'Approve post' : 'Reject post'} onClose={() => setDeciding(null)}>
        {deciding && (
          <form class="form" onSubmit={decide}>
            <p class="meta">“{excerpt(deciding.post.text, 160)}”</p>
            <Field label={deciding.kind === 'reject' ? 'What should change?' : 'Comment (optional)'} hint={deciding.kind === 'reject' ? 'The author sees this with the draft.' : undefined}>
              {(p) => <textarea {...p} rows={4} required={deciding.kind === 'reject'} maxLength={2000} value={comment} onInput={(e) => setComment(e.currentTarget.value)} />}
            </Field>
            <div class="row">
              <Submit busy={busy} kind={deciding.kind === 'reject' ? 'danger' : 'primary'} disabled={deciding.kind === 'reject' && !comment.trim()}>
                {deciding.kind === 'approve' ? 'Approve and schedule' : 'Reject'}
              </Submit>
              <Button onClick={() => setDeciding(null)}>Cancel</Button>
            </div>
          </form>
        )}
      </Dialog>
    </Page>
  );
}
