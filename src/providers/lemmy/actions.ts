// Acting on a collected Lemmy comment from the inbox (https://join-lemmy.org/api/classes/LemmyHttp.html):
//   like / unlike  an upvote, and taking it back: POST /api/v3/comment/like { comment_id, score: 1 | 0 }
//                  (#likeComment); a vote is the person's one vote on the comment, so sending it again changes
//                  nothing
//   delete         the account's own comment: POST /api/v3/comment/delete { comment_id, deleted: true }
//                  (#deleteComment; only its creator may, others' comments only a moderator can remove)
//   state          GET /api/v3/comment?id= (#getComment) with the session: `comment.deleted` / `removed`, and
//                  `my_vote` (the session's vote, CommentView in lemmy-js-client's types); a comment that no
//                  longer exists is couldnt_find_comment
// Lemmy has no way for a post's author to hide a comment under it: hide is not declared.
import { parseJson } from '../http.ts';
import { ProviderError, type AccountRef, type MessageActionRequest, type MessageState } from '../types.ts';
import { PROVIDER, requireHost, type LemmyApi } from './api.ts';
import { parseRef } from './posts.ts';

interface CommentView { comment?: { id?: unknown; creator_id?: unknown; deleted?: unknown; removed?: unknown }; my_vote?: unknown }

/** The comment's id; a post (a thread's root) is not something the inbox acts on. */
function commentId(req: MessageActionRequest): number {
  const ref = parseRef(req.remoteId);
  if (ref.comment === undefined) throw new ProviderError('permanent', 'Lemmy: only comments can be acted on from the inbox', { provider: PROVIDER, reason: 'not_a_comment' });
  return ref.comment;
}

export function lemmyActions(api: LemmyApi) {
  const vote = async (account: AccountRef, req: MessageActionRequest, score: 0 | 1): Promise<void> => {
    const host = requireHost(account.host);
    await api.call({
      method: 'POST', url: `${api.base(host)}/api/v3/comment/like`, operation: score ? 'likeComment' : 'unlikeComment', headers: api.bearer(account.tokens),
      body: { comment_id: commentId(req), score },
    });
  };
  return {
    like: (account: AccountRef, req: MessageActionRequest) => vote(account, req, 1),
    unlike: (account: AccountRef, req: MessageActionRequest) => vote(account, req, 0),

    async delete(account: AccountRef, req: MessageActionRequest): Promise<void> {
      const host = requireHost(account.host);
      const id = commentId(req);
      const res = await api.send({ method: 'POST', url: `${api.base(host)}/api/v3/comment/delete`, operation: 'deleteComment', headers: api.bearer(account.tokens), body: { comment_id: id, deleted: true } });
      // Gone already (deleted for good by an admin's purge): counts as deleted.
      if (res.status === 404) return;
      if (res.status < 200 || res.status >= 300) throw api.fail('deleteComment', res);
    },

    async state(account: AccountRef, req: MessageActionRequest): Promise<MessageState> {
      const host = requireHost(account.host);
      const res = await api.send({ method: 'GET', url: `${api.base(host)}/api/v3/comment?id=${commentId(req)}`, operation: 'getComment', headers: api.bearer(account.tokens) });
      const code = (parseJson(res) as { error?: unknown } | undefined)?.error;
      if (res.status === 404 || code === 'couldnt_find_comment') return { deleted: true };
      if (res.status < 200 || res.status >= 300) throw api.fail('getComment', res);
      const v = api.read<{ comment_view?: CommentView }>(res, 'getComment').comment_view;
      if (!v?.comment || typeof v.comment.id !== 'number') throw new ProviderError('transient', 'Lemmy: getComment answered without the comment', { provider: PROVIDER, reason: 'malformed_response' });
      if (v.comment.deleted === true || v.comment.removed === true) return { deleted: true };
      // my_vote is left out when the session has not voted.
      return { deleted: false, likedByMe: typeof v.my_vote === 'number' && v.my_vote > 0 };
    },
  };
}
