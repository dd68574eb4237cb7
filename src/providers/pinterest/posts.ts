// Publishing a Pin (POST /v5/pins, https://developers.pinterest.com/docs/api/v5/pins-create) on the board and section
// the post's options name, with the post's text as its description and the title, link and alt text of the options:
// - one image: media_source image_base64 (the bytes from AllIN's media library, so no public URL is needed);
// - 2 to 5 images: a carousel, multiple_image_base64 (items with content_type and data);
// - one video (and an optional image as its cover): POST /v5/media {media_type: video} registers an upload and answers
//   upload_url and upload_parameters; the file is POSTed there as multipart/form-data with those parameters; GET
//   /v5/media/{media_id} is read until its status is succeeded (registered, processing, succeeded or failed); then the
//   Pin is made with media_source video_id (media_id, cover_image_data or cover_image_key_frame_time)
//   (https://developers.pinterest.com/docs/api-features/creating-boards-and-pins/#creating-video-pins).
// What is sent is written in the send journal before the Pin is asked for (reconcile.ts reads it); a video's media id
// too, so a later try of the same marker reuses an upload Pinterest already processed.
// Figures: GET /v5/pins/{id}?pin_metrics=true, lifetime_metrics (impression, reaction, comment, save); account figures:
// GET /v5/user_account (follower_count, following_count, pin_count) and, per day, GET /v5/user_account/analytics.
import { accountFigures, yesterdayUtc } from '../account-metrics.ts';
import { malformed } from '../errors.ts';
import { pollUntilReady, type PollSchedule } from '../poll.ts';
import { postMetrics } from '../post-metrics.ts';
import type { SentPosts } from '../sent-posts.ts';
import { ProviderError, type AccountMetricsAnswer, type AccountMetricsRequest, type AccountRef, type MediaItem, type PostMetrics, type PublishRequest, type PublishedPost } from '../types.ts';
import { PROVIDER, type PinterestApi } from './api.ts';
import { pinterestDescriptionProblems, pinterestMediaProblems, pinterestOptionProblems, readPinterestOptions } from './options.ts';
import { pinUrl, type SentPin } from './reconcile.ts';

const refuse = (why: string, reason = 'refused_before_sending') => new ProviderError('permanent', `Pinterest: ${why}`, { provider: PROVIDER, reason });
const PIN_ID = /^\d{1,30}$/;
/** How long a video may take to be processed before this try gives up (the upload is kept for the next try). */
export const VIDEO_POLL: PollSchedule = { firstDelayMs: 500, maxDelayMs: 10_000, deadlineMs: 5 * 60_000, waitFirst: true };

interface Paged<T> { items?: T[]; bookmark?: string | null }
interface NamedThing { id?: unknown; name?: unknown }

/** Finds a board or section by id (digits) or by exact name (case not minded), reading every page. */
async function resolve(api: PinterestApi, token: string, path: string, wanted: string, what: string, operation: string): Promise<string> {
  if (/^\d+$/.test(wanted)) return wanted;
  let bookmark = '';
  for (let page = 0; page < 20; page++) {
    const body = await api.get<Paged<NamedThing>>(token, `${path}${path.includes('?') ? '&' : '?'}page_size=250${bookmark ? `&bookmark=${encodeURIComponent(bookmark)}` : ''}`, operation);
    const hit = (body.items ?? []).find((b) => typeof b.name === 'string' && b.name.trim().toLowerCase() === wanted.toLowerCase());
    if (hit && typeof hit.id === 'string') return hit.id;
    if (!body.bookmark) break;
    bookmark = body.bookmark;
  }
  throw refuse(`the account has no ${what} named "${wanted.slice(0, 80)}"; check the name on Pinterest`, `${what.split(' ')[0]}_not_found`);
}

export async function resolveTarget(api: PinterestApi, token: string, board: string, section?: string): Promise<{ board: string; section?: string }> {
  const b = await resolve(api, token, '/boards', board, 'board', 'boards');
  if (!section) return { board: b };
  return { board: b, section: await resolve(api, token, `/boards/${b}/sections`, section, 'section of that board', 'board_sections') };
}

const base64 = async (m: MediaItem) => (await m.read()).toString('base64');

export function pinterestPosts(api: PinterestApi, sent: SentPosts<SentPin>, poll: PollSchedule) {
  /** Registers a video upload, sends the file where Pinterest says, and records the media id. */
  const upload = async (token: string, video: MediaItem): Promise<string> => {
    const reg = await api.post<{ media_id?: unknown; upload_url?: unknown; upload_parameters?: unknown }>(token, '/media', { media_type: 'video' }, 'media_register');
    if (typeof reg.media_id !== 'string' || typeof reg.upload_url !== 'string') throw malformed(PROVIDER, 'media_register', false);
    let url: URL;
    try { url = new URL(reg.upload_url); } catch { throw malformed(PROVIDER, 'media_register', false); }
    // The bytes go to Pinterest's storage over HTTPS (or, in tests, next to the API itself), nowhere else.
    if (url.protocol !== 'https:' && url.origin !== new URL(api.base).origin) throw malformed(PROVIDER, 'media_register', false);
    const form = new FormData();
    const params = reg.upload_parameters && typeof reg.upload_parameters === 'object' ? reg.upload_parameters as Record<string, unknown> : {};
    for (const [k, v] of Object.entries(params)) if (typeof v === 'string') form.set(k, v);
    form.set('file', new Blob([await video.read()], { type: video.mimeType }), 'video');
    // Sending the same file to the same key again is harmless: nothing is published by this call.
    await api.call({ method: 'POST', url: url.toString(), operation: 'media_upload', body: form, media: true, retryUnsent: true });
    return reg.media_id;
  };

  /** The upload's status: succeeded → true; failed → refused; else not yet. */
  const mediaStatus = async (token: string, id: string): Promise<string> => {
    const m = await api.get<{ status?: unknown }>(token, `/media/${encodeURIComponent(id)}`, 'media_status');
    if (typeof m.status !== 'string') throw malformed(PROVIDER, 'media_status', false);
    return m.status;
  };
  const waitForVideo = async (token: string, id: string) => {
    const ok = await pollUntilReady(poll, async () => {
      const s = await mediaStatus(token, id);
      if (s === 'failed') throw refuse('Pinterest could not process the video (its status is failed); check it meets Pinterest\'s video specifications', 'media_failed');
      return s === 'succeeded';
    });
    if (!ok) throw new ProviderError('transient', `Pinterest: the video (media ${id}) was still being processed after ${Math.round(poll.deadlineMs / 60_000)} minutes; it is kept for the next try`, { provider: PROVIDER, reason: 'media_processing' });
  };

  return {
    mediaStatus,

    async publish(account: AccountRef, post: PublishRequest): Promise<PublishedPost> {
      if (post.replyTo) throw refuse('a Pin has no threads or first comment through the API; remove them', 'no_threads');
      const problems = [...pinterestOptionProblems(post.options), ...pinterestDescriptionProblems(post.text), ...pinterestMediaProblems(post.media)];
      if (problems.length > 0) throw refuse(problems.join('; '), 'bad_option');
      const o = readPinterestOptions(post.options);
      const token = account.tokens.accessToken;
      const video = post.media.find((m) => m.mimeType.startsWith('video/'));
      const images = post.media.filter((m) => m.mimeType.startsWith('image/'));
      const earlier = await sent.get(account.externalId, post.marker);
      const where = earlier && earlier.boardQuery === o.board && earlier.sectionQuery === o.section
        ? { board: earlier.board, ...(earlier.section ? { section: earlier.section } : {}) }
        : await resolveTarget(api, token, o.board, o.section);
      const record: SentPin = {
        boardQuery: o.board, ...(o.section ? { sectionQuery: o.section } : {}), board: where.board, ...(where.section ? { section: where.section } : {}),
        title: o.title ?? '', description: post.text, link: o.link ?? '', kind: video ? 'video' : images.length > 1 ? 'carousel' : 'image',
      };
      await sent.record(account.externalId, post.marker, record);

      let mediaSource: Record<string, unknown>;
      if (video) {
        // An upload this marker already made and Pinterest processed (or is processing) is used again.
        let mediaId = earlier?.mediaId;
        if (mediaId && !['succeeded', 'processing', 'registered'].includes(await mediaStatus(token, mediaId).catch((e: unknown) => { if (e instanceof ProviderError && e.kind === 'permanent') return 'gone'; throw e; }))) mediaId = undefined;
        if (!mediaId) {
          mediaId = await upload(token, video);
          await sent.record(account.externalId, post.marker, { ...record, mediaId });
        }
        await waitForVideo(token, mediaId);
        const cover = images[0];
        mediaSource = { source_type: 'video_id', media_id: mediaId, ...(cover ? { cover_image_content_type: cover.mimeType, cover_image_data: await base64(cover) } : { cover_image_key_frame_time: 0 }) };
      } else if (images.length === 1) {
        mediaSource = { source_type: 'image_base64', content_type: images[0]!.mimeType, data: await base64(images[0]!) };
      } else {
        mediaSource = { source_type: 'multiple_image_base64', items: await Promise.all(images.map(async (m) => ({ content_type: m.mimeType, data: await base64(m) }))) };
      }
      const alt = o.altText ?? images.find((m) => m.altText)?.altText?.slice(0, 500);
      const pin = await api.post<{ id?: unknown }>(token, '/pins', {
        board_id: where.board, ...(where.section ? { board_section_id: where.section } : {}),
        ...(o.title ? { title: o.title } : {}), ...(post.text ? { description: post.text } : {}), ...(o.link ? { link: o.link } : {}), ...(alt && !video ? { alt_text: alt } : {}),
        media_source: mediaSource,
      }, 'pin_create', true);
      if (typeof pin.id !== 'string' || !PIN_ID.test(pin.id)) throw malformed(PROVIDER, 'pin_create', true);
      return { remoteId: pin.id, url: pinUrl(pin.id) };
    },

    async metrics(account: AccountRef, remoteId: string): Promise<PostMetrics> {
      if (!PIN_ID.test(remoteId)) throw refuse(`"${remoteId.slice(0, 40)}" is not a Pin id`, 'bad_remote_id');
      const pin = await api.get<{ pin_metrics?: { lifetime_metrics?: Record<string, unknown> } | null }>(account.tokens.accessToken, `/pins/${remoteId}?pin_metrics=true`, 'metrics');
      const m = pin.pin_metrics?.lifetime_metrics ?? {};
      const n = (v: unknown) => (typeof v === 'number' && Number.isSafeInteger(v) && v >= 0 ? v : undefined);
      return postMetrics({ impressions: n(m.impression), likes: n(m.reaction), replies: n(m.comment), reposts: n(m.save) });
    },

    async accountMetrics(account: AccountRef, req: AccountMetricsRequest): Promise<AccountMetricsAnswer> {
      const token = account.tokens.accessToken;
      const me = await api.get<Record<string, unknown>>(token, '/user_account', 'account_metrics');
      const answer: AccountMetricsAnswer = { now: accountFigures({ followers: me.follower_count, following: me.following_count, posts: me.pin_count }), days: [] };
      if (!req.insights) return answer;
      // Daily figures go back 90 days at most (start_date: "Cannot be more than 90 days back from today").
      const end = yesterdayUtc();
      const floor = new Date(Date.now() - 89 * 86_400_000).toISOString().slice(0, 10);
      const start = req.since && req.since > floor ? req.since : floor;
      if (start > end) return answer;
      let body: Record<string, { daily_metrics?: { date?: unknown; data_status?: unknown; metrics?: Record<string, unknown> }[] }>;
      try {
        body = await api.get(token, `/user_account/analytics?start_date=${start}&end_date=${end}&metric_types=IMPRESSION,ENGAGEMENT`, 'account_insights');
      } catch (err) {
        if (err instanceof ProviderError && err.kind === 'permanent' && err.details.status === 403) return { ...answer, insightsRefused: 'Pinterest gives daily analytics to business accounts only; convert the account to a business account on Pinterest to collect them' };
        throw err;
      }
      const n = (v: unknown) => (typeof v === 'number' && v >= 0 ? Math.round(v) : undefined);
      answer.days = (body.all?.daily_metrics ?? [])
        .filter((d) => typeof d.date === 'string' && /^\d{4}-\d{2}-\d{2}$/.test(d.date) && d.data_status === 'READY')
        .map((d) => ({ date: d.date as string, figures: accountFigures({ impressions: n(d.metrics?.IMPRESSION), engagement: n(d.metrics?.ENGAGEMENT) }) }))
        .sort((a, b) => a.date.localeCompare(b.date));
      return answer;
    },
  };
}
