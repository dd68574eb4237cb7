// A Lemmy instance, API v3, as AllIN's adapter uses it (docs/NETWORKS.md, Network facts: Lemmy). Under
// /lemmy (LEMMY_INSTANCE_URL=http://{host}/lemmy): POST /api/v3/user/login {username_or_email, password}
// → {jwt}; GET /api/v3/site (my_user with the JWT as Bearer); POST /api/v3/user/logout; GET /api/v3/community
// ?name=; POST /api/v3/post and /api/v3/comment; POST /api/v3/comment/like {comment_id, score} and
// /api/v3/comment/delete {comment_id, deleted} (its creator only); GET /api/v3/post?id=, /api/v3/comment?id=
// (with the session: my_vote, left out when it has not voted); GET /api/v3/user
// ?person_id= (newest posts and comments); GET /api/v3/user/replies and /api/v3/user/mention (newest first,
// page and limit); POST /pictrs/image (multipart images[]) → {msg, files: [{file, delete_token}]} and GET
// /pictrs/image/<file>. Refusals are {"error": "<code>"} with 400 (401 not_logged_in without a valid JWT); a
// 429 is {"error": "rate_limit_error"}. Knobs: latency, errorRate, rateLimitNext, malformedNext on the calls
// that create, and acceptThenHangNext after a post or comment is stored. Each post or comment is a post in
// state.posts (id post/<id> or comment/<post id>/<id>). Tests make people, communities and others' comments
// with lemmyPerson, lemmyCommunity and lemmyComment (which files replies and mentions as Lemmy does).
import { randomBytes } from 'node:crypto';
import type { FastifyReply, FastifyRequest } from 'fastify';
import type { ErrorStyle, NetworkState, SimNetworkContext } from '../core.ts';

export interface SimLemmyPerson { id: number; name: string; password: string; displayName?: string; totp?: boolean }
interface Community { id: number; name: string; title: string; deleted?: boolean }
interface Post { id: number; name: string; body?: string; url?: string; nsfw: boolean; community_id: number; creator_id: number; published: string; ap_id: string; upvotes: number }
interface Comment { id: number; post_id: number; creator_id: number; content: string; path: string; published: string; ap_id: string; upvotes: number; deleted: boolean }
interface Notice { id: number; recipient_id: number; comment_id: number; published: string }

interface World {
  persons: Map<number, SimLemmyPerson>;
  logins: Map<string, number>;
  communities: Map<string, Community>;
  posts: Map<number, Post>;
  comments: Map<number, Comment>;
  replies: Notice[];
  mentions: Notice[];
  images: Map<string, { bytes: Buffer; type: string }>;
  /** Votes, as "<person id>|<comment id>" → score (1 or -1; 0 removes the vote). */
  votes: Map<string, number>;
  seq: number;
}
const worlds = new WeakMap<NetworkState, World>();
function world(state: NetworkState): World {
  let w = worlds.get(state);
  if (!w) {
    w = { persons: new Map(), logins: new Map(), communities: new Map(), posts: new Map(), comments: new Map(), replies: [], mentions: [], images: new Map(), votes: new Map(), seq: 100 };
    worlds.set(state, w);
  }
  return w;
}

export function lemmyPerson(state: NetworkState, p: { name: string; password?: string; displayName?: string; totp?: boolean }): SimLemmyPerson {
  const w = world(state);
  const person: SimLemmyPerson = { id: ++w.seq, name: p.name, password: p.password ?? 'correct horse', ...(p.displayName ? { displayName: p.displayName } : {}), ...(p.totp ? { totp: true } : {}) };
  w.persons.set(person.id, person);
  return person;
}

export function lemmyCommunity(state: NetworkState, name: string, opts: { deleted?: boolean } = {}): { id: number; name: string } {
  const w = world(state);
  const c: Community = { id: ++w.seq, name, title: name, ...(opts.deleted ? { deleted: true } : {}) };
  w.communities.set(name, c);
  return c;
}

/** Someone's comment: a reply notice for the author of what it answers, a mention notice for each @name in it. */
export function lemmyComment(state: NetworkState, base: string, c: { person: SimLemmyPerson; postId: number; parentId?: number; content: string }): Comment {
  const w = world(state);
  const parent = c.parentId !== undefined ? w.comments.get(c.parentId) : undefined;
  const id = ++w.seq;
  const comment: Comment = { id, post_id: c.postId, creator_id: c.person.id, content: c.content, path: `${parent ? parent.path : '0'}.${id}`, published: new Date().toISOString(), ap_id: `${base}/comment/${id}`, upvotes: 1, deleted: false };
  w.comments.set(id, comment);
  const recipient = parent ? parent.creator_id : w.posts.get(c.postId)?.creator_id;
  if (recipient !== undefined && recipient !== c.person.id) w.replies.push({ id: ++w.seq, recipient_id: recipient, comment_id: id, published: comment.published });
  for (const m of c.content.matchAll(/@([a-z0-9_]+)/gi)) {
    const who = [...w.persons.values()].find((p) => p.name === m[1]);
    if (who && who.id !== recipient) w.mentions.push({ id: ++w.seq, recipient_id: who.id, comment_id: id, published: comment.published });
  }
  return comment;
}

/** Votes on a post (the figures a test reads back). */
export function lemmyVote(state: NetworkState, postId: number, upvotes: number): void {
  const p = world(state).posts.get(postId);
  if (p) p.upvotes = upvotes;
}

const style: ErrorStyle = {
  rateLimited: (s) => ({ status: 429, headers: { 'retry-after': String(s) }, body: { error: 'rate_limit_error' } }),
  serverError: () => ({ status: 500, body: { error: 'unknown' } }),
};

export function registerLemmy(ctx: SimNetworkContext): void {
  const { app, state } = ctx;
  const base = () => ctx.url('');
  const refuse = (reply: FastifyReply, status: number, error: string) => reply.status(status).send({ error });
  const personOf = (req: FastifyRequest): SimLemmyPerson | undefined => {
    const jwt = /^Bearer (.+)$/.exec(req.headers.authorization ?? '')?.[1];
    const id = jwt ? world(state).logins.get(jwt) : undefined;
    return id !== undefined ? world(state).persons.get(id) : undefined;
  };
  const personJson = (p: SimLemmyPerson) => ({ id: p.id, name: p.name, ...(p.displayName ? { display_name: p.displayName } : {}), actor_id: `${base()}/u/${p.name}`, local: true });
  const postView = (p: Post) => {
    const w = world(state);
    return {
      post: p, creator: personJson(w.persons.get(p.creator_id)!), community: [...w.communities.values()].find((c) => c.id === p.community_id),
      counts: { post_id: p.id, comments: [...w.comments.values()].filter((c) => c.post_id === p.id && !c.deleted).length, upvotes: p.upvotes, downvotes: 0, score: p.upvotes },
    };
  };
  const commentView = (c: Comment, viewer?: SimLemmyPerson) => {
    const w = world(state);
    const vote = viewer ? w.votes.get(`${viewer.id}|${c.id}`) : undefined;
    return {
      comment: c, creator: personJson(w.persons.get(c.creator_id)!), post: w.posts.get(c.post_id),
      counts: { comment_id: c.id, upvotes: c.upvotes, downvotes: 0, score: c.upvotes, child_count: [...w.comments.values()].filter((x) => x.path.startsWith(`${c.path}.`)).length },
      ...(vote !== undefined ? { my_vote: vote } : {}),
    };
  };
  const store = (id: string, userId: number, text: string, raw: unknown, replyTo?: string) => {
    state.posts.push({ id, userId: String(userId), text, media: [], ...(replyTo ? { replyTo } : {}), createdAt: new Date().toISOString(), raw });
  };

  app.post('/api/v3/user/login', async (req, reply) => {
    if (await ctx.interfere(reply, style)) return;
    const b = (req.body ?? {}) as { username_or_email?: unknown; password?: unknown; totp_2fa_token?: unknown };
    const p = [...world(state).persons.values()].find((x) => x.name === b.username_or_email);
    if (!p || p.password !== b.password) return refuse(reply, 400, 'incorrect_login');
    if (p.totp && !b.totp_2fa_token) return refuse(reply, 400, 'missing_totp_token');
    const jwt = `eyJ${randomBytes(24).toString('base64url')}`;
    world(state).logins.set(jwt, p.id);
    return { jwt, registration_created: false, verify_email_sent: false };
  });
  app.get('/api/v3/site', async (req) => {
    const p = personOf(req);
    return { site_view: { site: { name: 'Sim Lemmy', actor_id: base() } }, version: '0.19.5', ...(p ? { my_user: { local_user_view: { person: personJson(p) } } } : {}) };
  });
  app.post('/api/v3/user/logout', async (req, reply) => {
    const jwt = /^Bearer (.+)$/.exec(req.headers.authorization ?? '')?.[1];
    if (!jwt || !world(state).logins.delete(jwt)) return refuse(reply, 401, 'not_logged_in');
    return { success: true };
  });
  app.get('/api/v3/community', async (req, reply) => {
    const name = String((req.query as { name?: string }).name ?? '');
    const c = world(state).communities.get(name);
    if (!c) return refuse(reply, 404, 'couldnt_find_community');
    return { community_view: { community: { ...c, actor_id: `${base()}/c/${c.name}`, removed: false, deleted: c.deleted === true } } };
  });
  app.post('/api/v3/post', async (req, reply) => {
    const p = personOf(req);
    if (!p) return refuse(reply, 401, 'not_logged_in');
    if (await ctx.interfere(reply, style)) return;
    const b = (req.body ?? {}) as { name?: unknown; community_id?: unknown; body?: unknown; url?: unknown; nsfw?: unknown };
    const w = world(state);
    if (typeof b.name !== 'string' || b.name.trim() === '' || [...b.name].length > 200) return refuse(reply, 400, 'invalid_post_title');
    if (![...w.communities.values()].some((c) => c.id === b.community_id && !c.deleted)) return refuse(reply, 404, 'couldnt_find_community');
    if (typeof b.body === 'string' && b.body.length > 10_000) return refuse(reply, 400, 'invalid_body_field');
    const id = ++w.seq;
    const post: Post = { id, name: b.name, ...(typeof b.body === 'string' ? { body: b.body } : {}), ...(typeof b.url === 'string' ? { url: b.url } : {}), nsfw: b.nsfw === true,
      community_id: b.community_id as number, creator_id: p.id, published: new Date().toISOString(), ap_id: `${base()}/post/${id}`, upvotes: 1 };
    w.posts.set(id, post);
    store(`post/${id}`, p.id, post.body ?? '', post);
    if (await ctx.maybeHang(reply)) return;
    return { post_view: postView(post) };
  });
  app.post('/api/v3/comment', async (req, reply) => {
    const p = personOf(req);
    if (!p) return refuse(reply, 401, 'not_logged_in');
    if (await ctx.interfere(reply, style)) return;
    const b = (req.body ?? {}) as { content?: unknown; post_id?: unknown; parent_id?: unknown };
    const w = world(state);
    if (typeof b.post_id !== 'number' || !w.posts.has(b.post_id)) return refuse(reply, 404, 'couldnt_find_post');
    if (b.parent_id !== undefined && (typeof b.parent_id !== 'number' || w.comments.get(b.parent_id)?.post_id !== b.post_id)) return refuse(reply, 404, 'couldnt_find_comment');
    if (typeof b.content !== 'string' || b.content.trim() === '') return refuse(reply, 400, 'invalid_body_field');
    const c = lemmyComment(state, base(), { person: p, postId: b.post_id, ...(typeof b.parent_id === 'number' ? { parentId: b.parent_id } : {}), content: b.content });
    store(`comment/${c.post_id}/${c.id}`, p.id, c.content, c, typeof b.parent_id === 'number' ? `comment/${c.post_id}/${b.parent_id}` : `post/${c.post_id}`);
    if (await ctx.maybeHang(reply)) return;
    return { comment_view: commentView(c) };
  });
  app.get('/api/v3/post', async (req, reply) => {
    const post = world(state).posts.get(Number((req.query as { id?: string }).id));
    return post ? { post_view: postView(post) } : refuse(reply, 404, 'couldnt_find_post');
  });
  app.get('/api/v3/comment', async (req, reply) => {
    const c = world(state).comments.get(Number((req.query as { id?: string }).id));
    return c ? { comment_view: commentView(c, personOf(req)) } : refuse(reply, 404, 'couldnt_find_comment');
  });
  app.post('/api/v3/comment/like', async (req, reply) => {
    const p = personOf(req);
    if (!p) return refuse(reply, 401, 'not_logged_in');
    if (await ctx.interfere(reply, style)) return;
    const b = (req.body ?? {}) as { comment_id?: unknown; score?: unknown };
    const w = world(state);
    const c = typeof b.comment_id === 'number' ? w.comments.get(b.comment_id) : undefined;
    if (!c) return refuse(reply, 404, 'couldnt_find_comment');
    if (b.score !== 1 && b.score !== 0 && b.score !== -1) return refuse(reply, 400, 'invalid_vote_value');
    const key = `${p.id}|${c.id}`;
    const before = w.votes.get(key) ?? 0;
    if (b.score === 0) w.votes.delete(key);
    else w.votes.set(key, b.score);
    c.upvotes += (b.score === 1 ? 1 : 0) - (before === 1 ? 1 : 0);
    if (await ctx.maybeHang(reply)) return;
    return { comment_view: commentView(c, p), recipient_ids: [] };
  });
  app.post('/api/v3/comment/delete', async (req, reply) => {
    const p = personOf(req);
    if (!p) return refuse(reply, 401, 'not_logged_in');
    if (await ctx.interfere(reply, style)) return;
    const b = (req.body ?? {}) as { comment_id?: unknown; deleted?: unknown };
    const c = typeof b.comment_id === 'number' ? world(state).comments.get(b.comment_id) : undefined;
    if (!c) return refuse(reply, 404, 'couldnt_find_comment');
    if (c.creator_id !== p.id) return refuse(reply, 400, 'no_comment_edit_allowed');
    if (typeof b.deleted !== 'boolean') return refuse(reply, 400, 'invalid_body_field');
    c.deleted = b.deleted;
    return { comment_view: commentView(c, p), recipient_ids: [] };
  });
  app.get('/api/v3/user', async (req, reply) => {
    const q = req.query as { person_id?: string; limit?: string };
    const w = world(state);
    const who = w.persons.get(Number(q.person_id));
    if (!who) return refuse(reply, 404, 'couldnt_find_person');
    const limit = Math.min(Number(q.limit ?? 10) || 10, 50);
    const newest = <T extends { published: string; id: number }>(xs: T[]) => xs.sort((a, b) => b.id - a.id).slice(0, limit);
    return {
      person_view: { person: personJson(who) },
      posts: newest([...w.posts.values()].filter((p) => p.creator_id === who.id)).map(postView),
      comments: newest([...w.comments.values()].filter((c) => c.creator_id === who.id)).map((c) => commentView(c)),
    };
  });
  for (const [path, key, list] of [['/api/v3/user/replies', 'comment_reply', 'replies'], ['/api/v3/user/mention', 'person_mention', 'mentions']] as const) {
    app.get(path, async (req, reply) => {
      const p = personOf(req);
      if (!p) return refuse(reply, 401, 'not_logged_in');
      const q = req.query as { page?: string; limit?: string };
      const limit = Math.min(Number(q.limit ?? 10) || 10, 50);
      const page = Math.max(1, Number(q.page ?? 1) || 1);
      const w = world(state);
      const mine = w[list].filter((n) => n.recipient_id === p.id).sort((a, b) => b.id - a.id).slice((page - 1) * limit, page * limit);
      return { [list]: mine.map((n) => ({ [key]: { ...n, read: false }, ...commentView(w.comments.get(n.comment_id)!), recipient: personJson(p) })) };
    });
  }
  app.post('/pictrs/image', async (req, reply) => {
    if (!personOf(req)) return refuse(reply, 401, 'not_logged_in');
    if (await ctx.interfere(reply, style)) return;
    const files = [];
    for await (const part of req.files()) {
      if (part.fieldname !== 'images[]') continue;
      const bytes = await part.toBuffer();
      const file = `${randomBytes(8).toString('hex')}.${part.mimetype.split('/')[1] ?? 'bin'}`;
      world(state).images.set(file, { bytes, type: part.mimetype });
      files.push({ file, delete_token: randomBytes(8).toString('hex') });
    }
    if (files.length === 0) return reply.status(400).send({ msg: 'no images[] part' });
    return { msg: 'ok', files };
  });
  app.get('/pictrs/image/:file', async (req, reply) => {
    const img = world(state).images.get((req.params as { file: string }).file);
    return img ? reply.type(img.type).send(img.bytes) : reply.status(404).send();
  });
}
