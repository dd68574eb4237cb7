// Facebook Pages through the Graph API. Documentation:
//   https://developers.facebook.com/docs/pages-api/posts                                    (feed posts, photos, comments)
//   https://developers.facebook.com/docs/facebook-login/guides/advanced/manual-flow          (dialog, code exchange)
//   https://developers.facebook.com/docs/facebook-login/guides/access-tokens/get-long-lived (long-lived user and Page tokens)
//   https://developers.facebook.com/docs/graph-api/reference/page/feed/ · /reference/page/photos · /docs/graph-api/photo-uploads
//   https://developers.facebook.com/docs/graph-api/guides/error-handling · /docs/graph-api/overview/rate-limiting
//   https://developers.facebook.com/docs/pages-api/changelog/ (post_impressions → post_media_view)
//   https://developers.facebook.com/docs/video-api/guides/reels-publishing                   (Reels: start, upload, finish, status)
//   facebook/inbox.ts: the inbox (comments under the Page's posts, collected and answered), with its own pages
// Facebook Login's manual flow authenticates the app with its secret (PKCE exists only in the OIDC flow, so
// the challenge is not sent). The short-lived user token is exchanged at once for a long-lived one (~60 days,
// no refresh token); /me/accounts then gives one Page token per Page — tokens fetched with a long-lived user
// token do not expire. Each Page is its own connected identity and publishes with its own Page token.
// Only Pages can be published to. A video is published as a Reel (the documented Reels API; Meta turns
// feed videos into Reels too): its bytes go to rupload.facebook.com, so no public URL is needed.
import { postMetrics } from './post-metrics.ts';
import {
  DEFAULT_GRAPH_VERSION, DEFAULT_POLL, PublishAttempts, appSecret, checkMedia, validSignature, containersOf, dataOf, graphApi, graphPages, need, oldestMatch, permalinkOf, permanent,
  pollUntil, searchFrom, tokenSetOf, unknownMarker, type Params, type PollOptions,
} from './meta-graph.ts';
import { parsePageFeed } from './facebook/webhooks.ts';
import { COMMENTS, RECENT_DAYS, collectComments, commentState, deleteComment, setHidden, setLiked } from './facebook/inbox.ts';
import { MENTIONS, collectTagged } from './facebook/mentions.ts';
import {
  ProviderError, type AccountRef, type AuthorizeRequest, type FindReplyRequest, type InboxPage, type InboxPageRequest, type MessageActionRequest, type MessageState, type ReplyRequest, type ConnectedIdentity, type ExchangeRequest, type MediaItem, type PostMetrics, type Provider,
  type ProviderDeps, type ProviderMetadata, type PublishRequest, type PublishedPost, type TokenSet,
} from './types.ts';

const P = 'facebook';
/** Reels last 3 to 90 seconds (reels-publishing guide). */
const REEL_MIN_SECONDS = 3;
const REEL_MAX_SECONDS = 90;

/**
 * What the Pages API needs: list Pages, publish, read engagement and the comments people write (the inbox),
 * comment, hide, delete and like as the Page, read insights. Which of pages_read_engagement and
 * pages_read_user_content Graph wants for others' comments is UNCONFIRMED (the Page Public Content Access
 * page names both as what reads a Page's comments): AllIN asks for both.
 */
export const FACEBOOK_SCOPES = ['pages_show_list', 'pages_manage_posts', 'pages_read_engagement', 'pages_read_user_content', 'pages_manage_engagement', 'read_insights'];

const meta: ProviderMetadata = {
  id: 'facebook',
  displayName: 'Facebook Pages',
  docsUrl: 'https://developers.facebook.com/docs/pages-api/posts',
  connect: 'oauth2',
  refreshTokenRotates: false,
  // The only revocation Graph documents is per person (DELETE /{user-id}/permissions), not per Page: it would
  // cut every Page that person connected, in every workspace. Disconnecting a Page forgets its token; the
  // person removes AllIN in Facebook's settings to revoke everything.
  supportsRevocation: false,
  userSuppliedHost: false,
  inbox: {
    sources: [{
      id: COMMENTS, collects: ['comments', 'replies'],
      description: `GET /{page-id}/published_posts of the last ${RECENT_DAYS} days, then GET /{post-id}/comments?filter=stream&order=reverse_chronological `
        + '(https://developers.facebook.com/docs/graph-api/reference/page-post/comments/): comments and replies under the Page\'s posts, hidden ones included; '
        + 'polled, and pushed by Meta\'s webhooks when they are set up.',
    }, {
      id: MENTIONS, collects: ['mentions'],
      description: 'GET /{page-id}/tagged (https://developers.facebook.com/docs/graph-api/reference/page/tagged): public posts in which the Page is tagged, polled; '
        + 'a person\'s post comes without its author (Graph withholds `from`).',
    }],
    notCollected: 'comments under posts older than 14 days; mentions of the Page in comments when no webhook is configured (they are only pushed, by the mention field of the Page webhook); the author of a person\'s post that tags the Page '
      + '(Graph withholds it). A mention by another Page is answered with a comment as the Page (and that comment can be deleted); a person\'s post that tags '
      + 'the Page, and liking a mention, are left to Facebook itself (Graph documents neither for a Page).',
    actions: ['reply', 'like', 'unlike', 'hide', 'unhide', 'delete'],
    // A Page may delete anyone's comment under its own posts (Comment node, Deleting).
    deletes: 'own_and_comments',
    // On a post of someone else that tags the Page: a comment as the Page ("New Pages can comment as a Page on new
    // Pages or classic Pages", Object Comments) and deleting it again; no like (Object Likes documents no Page liking another's post).
    mentionActions: ['reply', 'delete'],
    unanswerable: 'Graph documents commenting as a Page on other Pages\' posts, not on a person\'s post that tags the Page (whose author Graph withholds); answer on Facebook itself.',
  },
  limits: {
    // 63,206 characters is the commonly cited cap (UNCONFIRMED in Meta's docs, as is the counting unit):
    // UTF-16 length never under-counts.
    textCounting: 'utf16', maxTextLength: 63_206, threads: false, firstComment: true,
    media: {
      // Photos: 10 per post is Mixpost's cap (Meta documents none); ≤ 4 MB is the safe size (error
      // subcode 1366046 says photos should be under 4 MB), larger limits are UNCONFIRMED. One video, as a Reel: MP4, 3–90 s
      // (reels-publishing guide); the guide gives no size limit, 512 MB is AllIN's own upload cap.
      maxCount: 10, imageTypes: ['image/jpeg', 'image/png', 'image/gif', 'image/bmp', 'image/tiff'], videoTypes: ['video/mp4'],
      maxImageBytes: 4 * 1024 * 1024, maxVideoBytes: 512 * 1024 * 1024, minVideoSeconds: REEL_MIN_SECONDS, maxVideoSeconds: REEL_MAX_SECONDS, mixing: false, required: false,
    },
  },
};

interface PageAnswer {
  id?: unknown;
  name?: unknown;
  username?: unknown;
  access_token?: unknown;
  tasks?: unknown;
  picture?: { data?: { url?: unknown } };
}

export interface FacebookOptions {
  /** Reel status polling after finish; tests shorten it. */
  poll?: PollOptions;
}

interface ReelStatus {
  video_status?: unknown;
  processing_phase?: { status?: unknown; errors?: { message?: unknown }[] };
  publishing_phase?: { status?: unknown };
}

export function createFacebook(deps: ProviderDeps, opts: FacebookOptions = {}): Provider {
  const poll = opts.poll ?? DEFAULT_POLL;
  const graphBase = deps.settings.baseUrls.graph ?? 'https://graph.facebook.com';
  const ruploadBase = deps.settings.baseUrls.rupload ?? 'https://rupload.facebook.com';
  const authBase = deps.settings.baseUrls.auth ?? 'https://www.facebook.com';
  const version = deps.settings.baseUrls.version || DEFAULT_GRAPH_VERSION;
  const g = graphApi(deps.http, { provider: P, base: graphBase, version });
  const { get } = g;
  const graph = g.url;
  const clientId = deps.settings.clientId ?? '';
  const attempts = new PublishAttempts(P, deps.journal);
  const secret = () => appSecret(P, deps.settings, 'FACEBOOK_APP_SECRET');

  /** One photo, from its public URL when there is one (Facebook fetches it), else uploaded as `source`. */
  const photo = async (pageId: string, token: string, m: MediaItem, opts: { published: boolean; caption?: string }) => {
    const params: Params = { published: opts.published, ...(opts.caption ? { caption: opts.caption } : {}) };
    let form: FormData | undefined;
    if (m.publicUrl) {
      params.url = m.publicUrl;
    } else {
      form = new FormData();
      form.set('source', new Blob([await m.read()], { type: m.mimeType }), 'photo');
    }
    // A published photo is a post: an unanswered request may have created it. Unpublished ones are not.
    return g.call<{ id?: unknown; post_id?: unknown }>({
      operation: opts.published ? 'publish' : 'media_upload', method: 'POST', url: graph(`${pageId}/photos`),
      token, params, ...(form ? { form } : {}), creates: opts.published,
    });
  };

  const reelStatus = async (videoId: string, token: string): Promise<ReelStatus> =>
    (await get<{ status?: ReelStatus }>('publish_status', videoId, token, { fields: 'status' })).status ?? {};

  /**
   * A Reel (reels-publishing guide): start a session, send the bytes to rupload, finish with
   * video_state=PUBLISHED. The video id is written down before finish, so that a lost answer is settled
   * by the video's status, not by guessing.
   */
  const reel = async (account: AccountRef, post: PublishRequest, m: MediaItem): Promise<PublishedPost> => {
    if (m.durationSeconds !== undefined && (m.durationSeconds < REEL_MIN_SECONDS || m.durationSeconds > REEL_MAX_SECONDS)) {
      throw permanent(P, `a Reel lasts ${REEL_MIN_SECONDS} to ${REEL_MAX_SECONDS} seconds (this video: ${Math.round(m.durationSeconds)} s)`, 'reel_duration');
    }
    const pageId = account.externalId;
    const token = account.tokens.accessToken;
    const started = await g.call<{ video_id?: unknown }>({
      operation: 'media_upload', method: 'POST', url: graph(`${pageId}/video_reels`), token, params: { upload_phase: 'start' },
    });
    const videoId = need(P, 'media_upload', false, started.video_id);
    const bytes = await m.read();
    await g.call({
      operation: 'media_upload', method: 'POST', url: `${ruploadBase}/video-upload/${version}/${videoId}`, token,
      bytes: { body: bytes, headers: { offset: '0', file_size: String(bytes.length) } },
    });
    await attempts.record(pageId, post.marker, { text: post.text, containerId: videoId });
    await g.call({
      operation: 'publish', method: 'POST', url: graph(`${pageId}/video_reels`), token, creates: true,
      params: { upload_phase: 'finish', video_id: videoId, video_state: 'PUBLISHED', ...(post.text ? { description: post.text } : {}) },
    });
    // Finish was accepted: Meta publishes the Reel once processed. A processing error is a refusal;
    // still processing at the deadline is published all the same (never retried: that would post twice).
    await pollUntil(poll, () => reelStatus(videoId, token).catch(() => ({}) as ReelStatus), (st) => {
      if (st.processing_phase?.status === 'error' || st.video_status === 'error') {
        const why = st.processing_phase?.errors?.map((e) => e.message).filter((x) => typeof x === 'string').join('; ');
        throw permanent(P, `the Reel could not be processed${why ? `: ${why}` : ''}`, 'video_processing_failed');
      }
      return st.publishing_phase?.status === 'complete';
    });
    return { remoteId: videoId, url: `https://www.facebook.com/reel/${videoId}` };
  };

  const comment = async (account: AccountRef, post: PublishRequest): Promise<PublishedPost> => {
    if (post.media.length > 1) throw permanent(P, 'a comment can carry one photo at most', 'too_many_media');
    const token = account.tokens.accessToken;
    const params: Params = { message: post.text };
    let form: FormData | undefined;
    const m = post.media[0];
    if (m?.publicUrl) params.attachment_url = m.publicUrl;
    else if (m) {
      form = new FormData();
      form.set('source', new Blob([await m.read()], { type: m.mimeType }), 'photo');
    }
    const r = await g.call<{ id?: unknown }>({
      operation: 'publish', method: 'POST', url: graph(`${post.replyTo}/comments`), token, params, ...(form ? { form } : {}), creates: true,
    });
    const id = need(P, 'publish', true, r.id);
    const url = await permalinkOf(g, id, token, 'permalink_url');
    return { remoteId: id, ...(url ? { url } : {}) };
  };

  const provider: Provider = {
    meta,

    // Page webhooks (feed field), signed with the Facebook app's secret: docs/NETWORKS.md, Facebook Pages.
    webhook: {
      verify: (raw, header) => validSignature(raw, header, deps.settings.clientSecret),
      parse: parsePageFeed,
    },

    async authorizationUrl(req: AuthorizeRequest) {
      const u = new URL(`${authBase}/${version}/dialog/oauth`);
      u.search = new URLSearchParams({
        client_id: clientId, redirect_uri: req.redirectUri, state: req.state, response_type: 'code', scope: FACEBOOK_SCOPES.join(','),
      }).toString();
      return u.toString();
    },

    async exchangeCode(req: ExchangeRequest): Promise<TokenSet> {
      const short = await g.call<Record<string, unknown>>({
        operation: 'oauth_exchange', method: 'GET', url: graph('oauth/access_token'), tokenCall: true,
        params: { client_id: clientId, redirect_uri: req.redirectUri, client_secret: secret(), code: req.code },
      });
      const shortToken = need(P, 'oauth_exchange', false, short.access_token);
      const long = await g.call<Record<string, unknown>>({
        operation: 'oauth_exchange', method: 'GET', url: graph('oauth/access_token'), tokenCall: true,
        params: { grant_type: 'fb_exchange_token', client_id: clientId, client_secret: secret(), fb_exchange_token: shortToken },
      });
      const tokens = tokenSetOf(P, 'oauth_exchange', long);
      // The person may untick permissions in the dialog: record what was granted.
      const perms = await get<{ data?: { permission?: unknown; status?: unknown }[] }>('profile', 'me/permissions', tokens.accessToken);
      const granted = (perms.data ?? []).filter((p) => p.status === 'granted' && typeof p.permission === 'string').map((p) => p.permission as string);
      return { ...tokens, scope: granted };
    },

    refresh(): Promise<TokenSet> {
      // Facebook has no refresh grant: Page tokens from a long-lived user token do not expire, and a dead one
      // (password change, role lost, app removed) only comes back through a new login.
      return Promise.reject(new ProviderError('auth_expired', 'facebook: Facebook tokens cannot be refreshed; the Page must be connected again', { provider: P, reason: 'no_refresh' }));
    },

    async identities(tokens: TokenSet): Promise<ConnectedIdentity[]> {
      const me = await get<{ id?: unknown; name?: unknown }>('profile', 'me', tokens.accessToken, { fields: 'id,name' });
      const userId = need(P, 'profile', false, me.id);
      const out: ConnectedIdentity[] = [];
      const pages = graphPages<PageAnswer>(g, 'profile', 'me/accounts', tokens.accessToken, { fields: 'id,name,username,access_token,picture.type(large),tasks', limit: 100 });
      for await (const p of pages) {
        if (typeof p.id !== 'string' || typeof p.access_token !== 'string') continue; // no token: the app cannot act as this Page
        // Publishing needs the CREATE_CONTENT task; a Page listed without it would only fail later.
        if (Array.isArray(p.tasks) && !p.tasks.includes('CREATE_CONTENT')) continue;
        const avatar = p.picture?.data?.url;
        out.push({
          externalId: p.id, kind: 'page', username: typeof p.username === 'string' ? p.username : p.id,
          displayName: typeof p.name === 'string' ? p.name : p.id,
          ...(typeof avatar === 'string' ? { avatarUrl: avatar } : {}),
          profileUrl: `https://www.facebook.com/${p.id}`,
          // No expiresAt: fetched with a long-lived user token, a Page token does not expire.
          tokens: { accessToken: p.access_token, ...(tokens.scope ? { scope: tokens.scope } : {}) },
          data: { userId, ...(Array.isArray(p.tasks) ? { tasks: p.tasks } : {}) },
        });
      }
      return out;
    },

    async publish(account: AccountRef, post: PublishRequest): Promise<PublishedPost> {
      if (post.text.length > meta.limits.maxTextLength) throw permanent(P, `the text is longer than ${meta.limits.maxTextLength} characters`, 'text_too_long');
      checkMedia(P, meta.limits.media, post.media);
      const video = post.media.find((m) => m.mimeType.startsWith('video/'));
      if (video && post.media.length > 1) throw permanent(P, 'a video is published alone, as a Reel', 'media_mixing');
      if (video && post.replyTo) throw permanent(P, 'a comment cannot carry a video', 'unsupported_media_type');
      if (!post.text.trim() && post.media.length === 0) throw permanent(P, 'a post needs text or photos', 'empty_post');
      // Written down before anything is sent: after a lost answer, the text is what is looked for.
      await attempts.record(account.externalId, post.marker, { text: post.text, ...(post.replyTo ? { replyTo: post.replyTo } : {}) });
      if (post.replyTo) return comment(account, post);
      if (video) return reel(account, post, video);

      const pageId = account.externalId;
      const token = account.tokens.accessToken;
      let postId: string;
      if (post.media.length === 1) {
        const r = await photo(pageId, token, post.media[0]!, { published: true, ...(post.text ? { caption: post.text } : {}) });
        // post_id is the feed story; id is the photo itself.
        postId = typeof r.post_id === 'string' ? r.post_id : need(P, 'publish', true, r.id);
      } else {
        const params: Params = { message: post.text, published: true };
        if (typeof post.options?.link === 'string') params.link = post.options.link;
        // Several photos: each uploaded unpublished, then attached to one feed post (photo-uploads guide).
        for (const [i, m] of post.media.entries()) {
          const r = await photo(pageId, token, m, { published: false });
          params[`attached_media[${i}]`] = JSON.stringify({ media_fbid: need(P, 'media_upload', false, r.id) });
        }
        const r = await g.post<{ id?: unknown }>('publish', `${pageId}/feed`, token, params, true);
        postId = need(P, 'publish', true, r.id);
      }
      const url = await permalinkOf(g, postId, token, 'permalink_url') ?? `https://www.facebook.com/${postId}`;
      return { remoteId: postId, url };
    },

    async findByMarker(account: AccountRef, marker: string, since: Date): Promise<PublishedPost | null> {
      const a = await attempts.get(account.externalId, marker);
      if (!a) throw unknownMarker(P, marker);
      const from = searchFrom(since, a);
      const token = account.tokens.accessToken;
      // A Reel whose finish answer was lost: its status says whether finish arrived (publishing has begun).
      const videos = a.replyTo ? [] : containersOf(a);
      if (videos.length) {
        for (const id of videos) {
          const st = await reelStatus(id, token);
          const phase = st.publishing_phase?.status;
          if (phase === 'complete' || phase === 'in_progress') return { remoteId: id, url: `https://www.facebook.com/reel/${id}` };
        }
        return null;
      }
      type Item = { id?: unknown; message?: unknown; created_time?: unknown; permalink_url?: unknown };
      const r = a.replyTo
        ? await get<{ data?: Item[] }>('find_post', `${a.replyTo}/comments`, token, { fields: 'id,message,created_time,permalink_url', order: 'reverse_chronological', limit: 50 })
        : await get<{ data?: Item[] }>('find_post', `${account.externalId}/published_posts`, token, {
          fields: 'id,message,created_time,permalink_url', since: Math.floor(from / 1000), limit: 25,
        });
      const hit = oldestMatch(dataOf(P, 'find_post', r), { from, timeField: 'created_time', textField: 'message', text: a.text });
      if (!hit) return null;
      return { remoteId: hit.id, ...(typeof hit.permalink_url === 'string' ? { url: hit.permalink_url } : {}) };
    },

    collectInbox(account: AccountRef, req: InboxPageRequest): Promise<InboxPage> {
      return req.source === MENTIONS ? collectTagged(g, account, req) : collectComments(g, account, req);
    },

    async reply(account: AccountRef, req: ReplyRequest): Promise<PublishedPost> {
      if (req.text.length > meta.limits.maxTextLength) throw permanent(P, `the text is longer than ${meta.limits.maxTextLength} characters`, 'text_too_long');
      // Facebook has no idempotency key: the text is written down first, and findReply looks for it under the parent.
      await attempts.record(account.externalId, req.marker, { text: req.text, replyTo: req.parentRemoteId });
      return comment(account, { text: req.text, media: [], replyTo: req.parentRemoteId, marker: req.marker });
    },

    findReply(account: AccountRef, req: FindReplyRequest): Promise<PublishedPost | null> {
      return provider.findByMarker(account, req.marker, req.since);
    },

    like: (account: AccountRef, req: MessageActionRequest) => setLiked(g, account, req, true),
    unlike: (account: AccountRef, req: MessageActionRequest) => setLiked(g, account, req, false),
    hide: (account: AccountRef, req: MessageActionRequest) => setHidden(g, account, req, true),
    unhide: (account: AccountRef, req: MessageActionRequest) => setHidden(g, account, req, false),
    delete: (account: AccountRef, req: MessageActionRequest) => deleteComment(g, account, req),
    messageState: (account: AccountRef, req: MessageActionRequest): Promise<MessageState> => commentState(g, account, req),

    async metrics(account: AccountRef, remoteId: string): Promise<PostMetrics> {
      const token = account.tokens.accessToken;
      // A Reel is a video id (a Page post's id is {page-id}_{post-id}): reactions and comments are edges of
      // the video; its views come from video insights, whose Reel metrics are UNCONFIRMED here, so none.
      if (!remoteId.includes('_')) {
        const v = await get<{ reactions?: { summary?: { total_count?: unknown } }; comments?: { summary?: { total_count?: unknown } } }>(
          'metrics', remoteId, token, { fields: 'reactions.summary(total_count).limit(0),comments.summary(total_count).limit(0)' });
        return postMetrics({ likes: v.reactions?.summary?.total_count, replies: v.comments?.summary?.total_count });
      }
      // Reactions, comments and shares are standard fields of a Page post (summary counts; UNCONFIRMED: not
      // found in Meta's pages, see docs/NETWORKS.md); views come from post insights, where post_media_view replaced post_impressions.
      const o = await get<{ reactions?: { summary?: { total_count?: unknown } }; comments?: { summary?: { total_count?: unknown } }; shares?: { count?: unknown } }>(
        'metrics', remoteId, token, { fields: 'reactions.summary(total_count).limit(0),comments.summary(total_count).limit(0),shares' });
      const ins = await get<{ data?: { name?: unknown; values?: { value?: unknown }[] }[] }>('metrics', `${remoteId}/insights`, token, { metric: 'post_media_view' });
      const views = (ins.data ?? []).find((d) => d.name === 'post_media_view')?.values?.[0]?.value;
      return postMetrics({
        likes: o.reactions?.summary?.total_count, replies: o.comments?.summary?.total_count, impressions: views,
        // Graph omits `shares` when nobody shared.
        reposts: o.shares === undefined ? 0 : o.shares.count,
      });
    },
  };
  return provider;
}
