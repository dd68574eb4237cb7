// Finding a Pin again after a create whose outcome is unknown (POST /v5/pins sent, no answer). Pinterest takes no
// idempotency key and a Pin has no field AllIN could put a hidden marker in (the description, title and link are
// shown to everyone), so the Pin is matched by exactly what was sent. The rule, in order:
// 1. The send journal holds what was sent under the marker: the board and section (resolved ids), title, description,
//    link, the kind (image, carousel, video) and a video's media id. Nothing recorded: nothing was sent.
// 2. A video Pin is made only from an upload whose status is succeeded (GET /v5/media/{id}): no media id recorded, or
//    an upload not succeeded, means no Pin was asked for (absent).
// 3. The board's Pins (GET /v5/boards/{id}/pins, or the section's: /boards/{id}/sections/{sid}/pins;
//    https://developers.pinterest.com/docs/api/v5/boards-list_pins) are read, newest first (UNCONFIRMED: the
//    reference does not state the order), 100 a page, for a Pin created since two minutes before the first send with
//    the same title, description and link, and a video exactly when a video was sent. Past 3 pages without reaching
//    older Pins, the outcome stays unknown. Two identical Pins sent in the same minutes cannot be told apart; the
//    newest is taken.
import type { SentPosts } from '../sent-posts.ts';
import { ProviderError, type AccountRef, type PublishedPost } from '../types.ts';
import { PROVIDER, type PinterestApi } from './api.ts';

export interface SentPin {
  /** The board and section as the options named them (to tell whether a retry names the same ones). */
  boardQuery: string;
  sectionQuery?: string;
  board: string;
  section?: string;
  title: string;
  description: string;
  link: string;
  kind: 'image' | 'carousel' | 'video';
  mediaId?: string;
}

const SKEW_MS = 2 * 60_000;
const PAGES = 3;

export const pinUrl = (id: string) => `https://www.pinterest.com/pin/${id}/`;

interface ListedPin { id?: unknown; created_at?: unknown; title?: unknown; description?: unknown; link?: unknown; media?: { media_type?: unknown } | null }

const same = (a: unknown, b: string) => (typeof a === 'string' ? a : '') === b;

export async function findByMarker(api: PinterestApi, mediaStatus: (token: string, id: string) => Promise<string>, sent: SentPosts<SentPin>, account: AccountRef, marker: string, since: Date): Promise<PublishedPost | null> {
  const rec = await sent.get(account.externalId, marker);
  if (!rec) return null;
  const token = account.tokens.accessToken;
  if (rec.kind === 'video') {
    if (!rec.mediaId) return null;
    const status = await mediaStatus(token, rec.mediaId).catch((e: unknown) => {
      if (e instanceof ProviderError && e.kind === 'permanent') return 'gone';
      throw e;
    });
    if (status !== 'succeeded') return null;
  }
  const from = Math.min(since.getTime(), rec.firstSentAt) - SKEW_MS;
  const path = rec.section ? `/boards/${rec.board}/sections/${rec.section}/pins` : `/boards/${rec.board}/pins`;
  let bookmark = '';
  for (let i = 0; i < PAGES; i++) {
    const body = await api.get<{ items?: ListedPin[]; bookmark?: string | null }>(token, `${path}?page_size=100${bookmark ? `&bookmark=${encodeURIComponent(bookmark)}` : ''}`, 'find_pin');
    const items = body.items ?? [];
    for (const p of items) {
      const at = Date.parse(typeof p.created_at === 'string' ? p.created_at : '');
      const isVideo = typeof p.media?.media_type === 'string' && p.media.media_type.includes('video');
      if (typeof p.id === 'string' && Number.isFinite(at) && at >= from && same(p.title, rec.title) && same(p.description, rec.description) && same(p.link, rec.link) && isVideo === (rec.kind === 'video')) {
        return { remoteId: p.id, url: pinUrl(p.id) };
      }
    }
    const oldest = Date.parse(typeof items.at(-1)?.created_at === 'string' ? items.at(-1)!.created_at as string : '');
    if (!body.bookmark || items.length === 0 || (Number.isFinite(oldest) && oldest < from)) return null;
    bookmark = body.bookmark;
  }
  throw new ProviderError('unknown_outcome', `Pinterest: the board got more than ${PAGES * 100} Pins since the send; the outcome cannot be established`, { provider: PROVIDER, reason: 'cannot_reconcile' });
}
