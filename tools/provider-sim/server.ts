// The network simulator: one local HTTP server that speaks, for each network AllIN publishes to, the
// OAuth and posting endpoints AllIN uses, with the same request and response shapes (see each module
// in networks/ and the network's part of docs/NETWORKS.md, Network facts). Tests start it in-process; `allin sim`
// runs it on its own. Control endpoints under /_sim/ let a test (or another process) read the posts a
// network accepted and turn the knobs.
import Fastify, { type FastifyInstance } from 'fastify';
import formbody from '@fastify/formbody';
import multipart from '@fastify/multipart';
import { NetworkState, makeContext, type Knobs, type SimNetworkContext } from './core.ts';
import { registerSandbox } from './networks/sandbox.ts';
import { registerFacebook } from './networks/facebook.ts';
import { registerInstagram } from './networks/instagram.ts';
import { registerThreads } from './networks/threads.ts';
import { registerMastodon } from './networks/mastodon.ts';
import { registerBluesky } from './networks/bluesky.ts';
import { registerX } from './networks/x.ts';
import { registerLinkedIn } from './networks/linkedin.ts';
import { registerTelegram } from './networks/telegram.ts';
import { registerDiscord } from './networks/discord.ts';
import { registerNostr } from './networks/nostr.ts';
import { registerLemmy } from './networks/lemmy.ts';
import { registerSlack } from './networks/slack.ts';
import { registerReddit } from './networks/reddit.ts';
import { registerYouTube } from './networks/youtube.ts';
import { registerPinterest } from './networks/pinterest.ts';
import { registerTikTok } from './networks/tiktok.ts';
import { registerTumblr } from './networks/tumblr.ts';
import { AiSimState, registerAi } from './ai.ts';

export type NetworkModule = (ctx: SimNetworkContext) => void;

/** Every simulated network, by the path prefix it answers under. */
export const NETWORKS: Record<string, NetworkModule> = {
  sandbox: registerSandbox,
  facebook: registerFacebook,
  instagram: registerInstagram,
  threads: registerThreads,
  mastodon: registerMastodon,
  bluesky: registerBluesky,
  x: registerX,
  linkedin: registerLinkedIn,
  telegram: registerTelegram,
  discord: registerDiscord,
  nostr: registerNostr,
  lemmy: registerLemmy,
  slack: registerSlack,
  reddit: registerReddit,
  youtube: registerYouTube,
  pinterest: registerPinterest,
  tiktok: registerTikTok,
  tumblr: registerTumblr,
};

export interface Simulator {
  url: string;
  app: FastifyInstance;
  state(network: string): NetworkState;
  /** The simulated model providers (ai.ts): scripted answers and the requests they received. */
  ai: AiSimState;
  /** Base URL of a network (what AllIN's *_BASE_URL settings point at). */
  base(network: string): string;
  reset(): void;
  stop(): Promise<void>;
}

export async function startSimulator(opts: { port?: number; host?: string; publicUrl?: string } = {}): Promise<Simulator> {
  const app = Fastify({ logger: false, bodyLimit: 600 * 1024 * 1024 });
  await app.register(formbody);
  await app.register(multipart, { limits: { fileSize: 600 * 1024 * 1024 } });
  // Some networks send JSON with other content types (application/vnd.…+json).
  app.addContentTypeParser(/^application\/.*\+json$/, { parseAs: 'string' }, (_req, body, done) => {
    try { done(null, JSON.parse(body as string)); } catch (err) { done(err as Error); }
  });
  let url = opts.publicUrl ?? '';
  const states = new Map<string, NetworkState>();
  for (const [name, register] of Object.entries(NETWORKS)) {
    const state = new NetworkState(name);
    states.set(name, state);
    await app.register(async (scoped) => {
      scoped.addHook('onRequest', async (req) => {
        state.log.push({ method: req.method, path: req.url, at: Date.now() });
      });
      register(makeContext(scoped, state, () => url, `/${name}`));
    }, { prefix: `/${name}` });
  }

  const ai = new AiSimState();
  registerAi(app, ai);
  app.get('/_sim/ai/requests', async () => ({ requests: ai.requests.map((r) => ({ api: r.api, body: r.body })) }));
  app.post('/_sim/ai/script', async (req) => {
    ai.script.push(...(((req.body ?? {}) as { steps?: [] }).steps ?? []));
    return { script: ai.script };
  });

  app.get('/_sim', async () => ({ networks: Object.keys(NETWORKS) }));
  app.get('/_sim/:network/posts', async (req, reply) => {
    const s = states.get((req.params as { network: string }).network);
    if (!s) return reply.status(404).send({ error: 'no such network' });
    return { posts: s.posts };
  });
  // The user deleted a post on the network: reading it (or its figures) answers 404 from now on.
  app.delete('/_sim/:network/posts/:id', async (req, reply) => {
    const { network, id } = req.params as { network: string; id: string };
    const s = states.get(network);
    if (!s) return reply.status(404).send({ error: 'no such network' });
    const i = s.posts.findIndex((p) => p.id === id);
    if (i < 0) return reply.status(404).send({ error: 'no such post' });
    s.posts.splice(i, 1);
    return { deleted: id };
  });
  app.get('/_sim/:network/stats', async (req, reply) => {
    const s = states.get((req.params as { network: string }).network);
    if (!s) return reply.status(404).send({ error: 'no such network' });
    return { refreshCalls: s.refreshCalls, posts: s.posts.length, requests: s.log.length };
  });
  app.post('/_sim/:network/knobs', async (req, reply) => {
    const s = states.get((req.params as { network: string }).network);
    if (!s) return reply.status(404).send({ error: 'no such network' });
    Object.assign(s.knobs, req.body as Partial<Knobs>);
    return { knobs: s.knobs };
  });
  // Every access token of the network expires now (refresh tokens keep working), as after a long night.
  app.post('/_sim/:network/expire-tokens', async (req, reply) => {
    const s = states.get((req.params as { network: string }).network);
    if (!s) return reply.status(404).send({ error: 'no such network' });
    return { expired: s.expireTokens() };
  });
  // The user revoked AllIN at the network: access and refresh tokens stop working.
  app.post('/_sim/:network/revoke-all', async (req, reply) => {
    const s = states.get((req.params as { network: string }).network);
    if (!s) return reply.status(404).send({ error: 'no such network' });
    const user = (req.body as { user?: string } | undefined)?.user;
    let n = 0;
    for (const t of [...s.tokens.values(), ...s.refresh.values()]) {
      if (!user || t.userId === user || s.users.get(t.userId)?.username === user) { t.revoked = true; n++; }
    }
    return { revoked: n };
  });
  // The inbox: what people say to the network's users (tools/provider-sim/inbox.ts). A test adds a comment,
  // a reply or a mention, edits, deletes or hides one, and reads them all.
  app.get('/_sim/:network/inbox', async (req, reply) => {
    const s = states.get((req.params as { network: string }).network);
    if (!s) return reply.status(404).send({ error: 'no such network' });
    return { items: [...s.inbox.items.values()] };
  });
  app.post('/_sim/:network/inbox', async (req, reply) => {
    const s = states.get((req.params as { network: string }).network);
    if (!s) return reply.status(404).send({ error: 'no such network' });
    const b = (req.body ?? {}) as Record<string, unknown>;
    const user = typeof b.user === 'string' ? [...s.users.values()].find((u) => u.id === b.user || u.username === b.user) : undefined;
    if (!user) return reply.status(400).send({ error: 'user must name a user of the network (id or username)' });
    if (typeof b.text !== 'string') return reply.status(400).send({ error: 'text is required' });
    const kind = b.kind === 'mention' ? 'mention' : 'comment';
    const postId = typeof b.postId === 'string' ? b.postId : null;
    const parentId = typeof b.parentId === 'string' ? b.parentId : null;
    if (kind === 'comment' && !postId) return reply.status(400).send({ error: 'a comment needs postId' });
    const item = s.inbox.add({
      userId: user.id, kind, postId, parentId, text: b.text,
      ...(typeof b.lang === 'string' ? { lang: b.lang } : {}), ...(typeof b.createdAt === 'string' ? { createdAt: b.createdAt } : {}),
      ...(b.author && typeof b.author === 'object' ? { author: b.author as Record<string, string> } : {}),
    });
    return reply.status(201).send(item);
  });
  app.patch('/_sim/:network/inbox/:id', async (req, reply) => {
    const { network, id } = req.params as { network: string; id: string };
    const s = states.get(network);
    if (!s) return reply.status(404).send({ error: 'no such network' });
    const b = (req.body ?? {}) as { text?: unknown; hidden?: unknown };
    const item = s.inbox.change(id, { ...(typeof b.text === 'string' ? { text: b.text } : {}), ...(typeof b.hidden === 'boolean' ? { hidden: b.hidden } : {}) });
    return item ?? reply.status(404).send({ error: 'no such item' });
  });
  app.delete('/_sim/:network/inbox/:id', async (req, reply) => {
    const { network, id } = req.params as { network: string; id: string };
    const s = states.get(network);
    if (!s) return reply.status(404).send({ error: 'no such network' });
    return s.inbox.change(id, { deleted: true }) ?? reply.status(404).send({ error: 'no such item' });
  });
  app.post('/_sim/reset', async () => {
    for (const s of states.values()) s.reset();
    ai.reset();
    return { reset: true };
  });

  await app.listen({ port: opts.port ?? 0, host: opts.host ?? '127.0.0.1' });
  const addr = app.server.address();
  if (!url) url = `http://127.0.0.1:${typeof addr === 'object' && addr ? addr.port : 0}`;
  return {
    url, app, ai,
    state(network) {
      const s = states.get(network);
      if (!s) throw new Error(`the simulator has no network "${network}"`);
      return s;
    },
    base: (network) => `${url}/${network}`,
    reset() {
      for (const s of states.values()) s.reset();
      ai.reset();
    },
    async stop() {
      app.server.closeAllConnections();
      await app.close();
    },
  };
}
