// What people say to a simulated account: comments on its posts, replies to those comments, and mentions,
// kept per network, with their edits, deletions and hiding. A network module serves them in its own API's
// shape (the Sandbox: GET /api/inbox, a change feed with a cursor). Every change gives the item a new
// sequence number, so a reader that carries on from its cursor sees the item's latest state once more.
//
// The generator makes the network feel alive: when a user's feed is read, it adds comments, replies and
// mentions for the time since the last read, at the inboxRatePerMinute knob (at most an hour's worth), and
// now and then edits or deletes an earlier one. Tests set the knob to 0 and add items themselves.

export interface SimAuthor {
  id: string;
  username: string;
  name: string;
}

export interface SimInboxItem {
  id: string;
  /** The account it is addressed to: the author of the post it comments on, or the one it mentions. */
  userId: string;
  kind: 'comment' | 'mention';
  /** The thread's root: the commented post (null for a mention, which is its own root). */
  postId: string | null;
  /** The comment it answers (null: it answers the post). */
  parentId: string | null;
  author: SimAuthor;
  text: string;
  lang: string | null;
  createdAt: string;
  editedAt: string | null;
  deleted: boolean;
  hidden: boolean;
  /** Liked by the user it is addressed to (not part of the feed: a like is no change of the item). */
  liked: boolean;
  /** Sequence number of the item's latest change. */
  seq: number;
  /** The Idempotency-Key of the request that made it (a reply the user sent through the API). */
  key?: string;
}

export interface NewInboxItem {
  userId: string;
  kind: 'comment' | 'mention';
  postId?: string | null;
  parentId?: string | null;
  author?: Partial<SimAuthor>;
  text: string;
  lang?: string | null;
  createdAt?: string;
  key?: string;
}

/** What the generator needs of the user's own posts. */
export interface OwnPost {
  id: string;
  userId: string;
  replyTo?: string;
}

const AUTHORS: SimAuthor[] = [
  { id: 'fan-ada', username: 'ada.lovelace', name: 'Ada Lovelace' },
  { id: 'fan-grace', username: 'grace.h', name: 'Grace Hopper' },
  { id: 'fan-linus', username: 'linus_t', name: 'Linus T.' },
  { id: 'fan-marie', username: 'marie.c', name: 'Marie Curie' },
  { id: 'fan-jose', username: 'jose_m', name: 'José Martí' },
  { id: 'fan-klaus', username: 'klaus.b', name: 'Klaus Becker' },
];

const SAYINGS: { text: string; lang: string }[] = [
  { text: 'Love this!', lang: 'en' },
  { text: 'When will this be available in Europe?', lang: 'en' },
  { text: 'How much does the premium plan cost?', lang: 'en' },
  { text: 'Great post, thanks for sharing.', lang: 'en' },
  { text: 'My order has not arrived yet, can you help?', lang: 'en' },
  { text: 'Wann kommt die nächste Version?', lang: 'de' },
  { text: 'Danke für die schnelle Antwort!', lang: 'de' },
  { text: "C'est génial, merci !", lang: 'fr' },
  { text: 'Est-ce que ça marche sur Android ?', lang: 'fr' },
  { text: '¿Dónde puedo comprarlo?', lang: 'es' },
  { text: 'Me encanta, gracias.', lang: 'es' },
];

/** Longest stretch the generator fills in at once (a feed read after a week does not get a week of comments). */
const MAX_BACKFILL_MS = 3_600_000;

export class SimInbox {
  readonly items = new Map<string, SimInboxItem>();
  private seq = 0;
  private readonly generatedUntil = new Map<string, number>();

  constructor(private readonly nextId: () => string) {}

  add(input: NewInboxItem): SimInboxItem {
    const author = { ...AUTHORS[0]!, ...input.author };
    const item: SimInboxItem = {
      id: this.nextId(), userId: input.userId, kind: input.kind, postId: input.postId ?? null, parentId: input.parentId ?? null,
      author, text: input.text, lang: input.lang ?? null, createdAt: input.createdAt ?? new Date().toISOString(),
      editedAt: null, deleted: false, hidden: false, liked: false, seq: ++this.seq, ...(input.key !== undefined ? { key: input.key } : {}),
    };
    this.items.set(item.id, item);
    return item;
  }

  /** Applies a change (edit, delete, hide) and moves the item to the end of the feed. Null when there is no such item. */
  change(id: string, what: { text?: string; deleted?: boolean; hidden?: boolean }): SimInboxItem | null {
    const item = this.items.get(id);
    if (!item) return null;
    if (what.text !== undefined && !item.deleted) {
      item.text = what.text;
      item.editedAt = new Date().toISOString();
    }
    if (what.deleted) {
      item.deleted = true;
      item.text = '';
    }
    if (what.hidden !== undefined) item.hidden = what.hidden;
    item.seq = ++this.seq;
    return item;
  }

  /** The user's items changed after sequence `after`, oldest change first, at most `limit`. */
  page(userId: string, after: number, limit: number): { items: SimInboxItem[]; next: number; more: boolean } {
    const changed = [...this.items.values()].filter((i) => i.userId === userId && i.seq > after).sort((a, b) => a.seq - b.seq);
    const items = changed.slice(0, limit);
    return { items, next: items.at(-1)?.seq ?? after, more: changed.length > limit };
  }

  /**
   * Adds what people said to `userId` since the last call, at `ratePerMinute`: comments on the user's
   * posts, replies to earlier comments, mentions; and now and then an edit or a deletion.
   */
  generate(userId: string, posts: OwnPost[], ratePerMinute: number, now = Date.now(), random = Math.random): void {
    const since = this.generatedUntil.get(userId);
    this.generatedUntil.set(userId, now);
    if (ratePerMinute <= 0) return;
    // A user's first read gets a little to look at at once.
    const from = since === undefined ? now - 60_000 : Math.max(since, now - MAX_BACKFILL_MS);
    const expected = ((now - from) / 60_000) * ratePerMinute;
    const count = Math.floor(expected) + (random() < expected % 1 ? 1 : 0);
    const own = posts.filter((p) => p.userId === userId);
    for (let i = 0; i < count; i++) {
      const createdAt = new Date(from + ((i + 1) * (now - from)) / (count + 1)).toISOString();
      const saying = SAYINGS[Math.floor(random() * SAYINGS.length)]!;
      const author = AUTHORS[Math.floor(random() * AUTHORS.length)]!;
      // What others said: the user's own replies are not edited, deleted or answered by the crowd.
      const earlier = [...this.items.values()].filter((x) => x.userId === userId && !x.deleted && x.author.id !== userId);
      const roll = random();
      if (earlier.length > 0 && roll < 0.04) {
        this.change(earlier[Math.floor(random() * earlier.length)]!.id, { deleted: true });
      } else if (earlier.length > 0 && roll < 0.1) {
        const e = earlier[Math.floor(random() * earlier.length)]!;
        this.change(e.id, { text: `${e.text} (edited)` });
      } else if (own.length > 0 && roll < 0.75) {
        const comments = earlier.filter((x) => x.kind === 'comment');
        const parent = comments.length > 0 && random() < 0.3 ? comments[Math.floor(random() * comments.length)]! : null;
        const post = parent ? parent.postId! : rootOf(own, own[Math.floor(random() * Math.min(own.length, 20)) + Math.max(0, own.length - 20)]!.id);
        this.add({ userId, kind: 'comment', postId: post, parentId: parent?.id ?? null, author, text: saying.text, lang: saying.lang, createdAt });
      } else {
        this.add({ userId, kind: 'mention', author, text: `@you ${saying.text}`, lang: saying.lang, createdAt });
      }
    }
  }

  reset(): void {
    this.items.clear();
    this.generatedUntil.clear();
    this.seq = 0;
  }
}

/** The first post of the thread `postId` belongs to (a comment on a thread's later part belongs to the thread). */
export function rootOf(posts: OwnPost[], postId: string): string {
  let id = postId;
  for (let hops = 0; hops < 1000; hops++) {
    const p = posts.find((x) => x.id === id);
    if (!p?.replyTo) return id;
    id = p.replyTo;
  }
  return id;
}
