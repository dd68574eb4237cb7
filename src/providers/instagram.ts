// Instagram professional accounts (Business/Creator) through the Instagram API with Instagram Login
// (graph.instagram.com; no Facebook Page needed). Documentation:
//   https://developers.facebook.com/docs/instagram-platform/instagram-api-with-instagram-login/business-login
//   https://developers.facebook.com/docs/instagram-platform/reference/access_token          (short → long-lived)
//   https://developers.facebook.com/docs/instagram-platform/reference/refresh_access_token  (ig_refresh_token)
//   https://developers.facebook.com/docs/instagram-platform/content-publishing              (container flow)
//   https://developers.facebook.com/docs/instagram-platform/instagram-graph-api/reference/ig-user/media
//   https://developers.facebook.com/docs/instagram-platform/instagram-graph-api/reference/ig-user/content_publishing_limit
//   https://developers.facebook.com/docs/instagram-platform/reference/instagram-media/insights
//   https://developers.facebook.com/docs/instagram-platform/instagram-graph-api/reference/ig-user/stories (Stories)
// Publishing is a container flow: Meta downloads every image or video from a public URL (MediaItem.publicUrl),
// a container is polled until FINISHED, then media_publish makes it a post. Neither PKCE nor a revocation
// endpoint is documented for this login, and there is no separate refresh token: the long-lived token itself
// is refreshed (once it is 24 h old) into a new 60-day token.
import { postMetrics } from './post-metrics.ts';
import {
  DEFAULT_GRAPH_VERSION, DEFAULT_POLL, PublishAttempts, anyPublished, validSignature, appSecret, checkMedia, containersOf, dataOf, graphApi, insightValue, need, oldestMatch,
  permalinkOf, permanent, refreshLongLived, requirePublicUrls, searchFrom, tokenSetOf, unknownMarker, waitForContainer, type Params, type PollOptions,
} from './meta-graph.ts';
import { parseInstagramComments } from './instagram/webhooks.ts';
import { COMMENTS, RECENT_DAYS, collectComments, commentState, deleteComment, setHidden, topLevelOf } from './instagram/inbox.ts';
import { MENTIONS, collectTagged, findMentionReply, lookupMentions, parseMentions, replyToMention } from './instagram/mentions.ts';
import {
  ProviderError, type AccountRef, type AuthorizeRequest, type FindReplyRequest, type InboxPage, type InboxPageRequest, type MessageActionRequest, type MessageState, type ReplyRequest, type ConnectedIdentity, type ExchangeRequest, type PostMetrics, type Provider, type ProviderDeps,
  type ProviderMetadata, type PublishRequest, type PublishedPost, type TokenSet,
} from './types.ts';

const P = 'instagram';

export const INSTAGRAM_SCOPES = [
  'instagram_business_basic', 'instagram_business_content_publish', 'instagram_business_manage_comments', 'instagram_business_manage_insights',
];

/** Caption rules of the ig-user/media reference: 2,200 characters, 30 hashtags, 20 @-mentions. */
export const CAPTION = { maxLength: 2200, maxHashtags: 30, maxMentions: 20 };
/** Stories (docs/NETWORKS.md, Network facts: Instagram): video at most 60 s and 100 MB; images as for posts (JPEG, 8 MB). */
export const STORY_VIDEO_SECONDS = 60;
const STORY_VIDEO_BYTES = 100 * 1024 * 1024;

const meta: ProviderMetadata = {
  id: 'instagram',
  displayName: 'Instagram',
  docsUrl: 'https://developers.facebook.com/docs/instagram-platform/content-publishing',
  connect: 'oauth2',
  refreshTokenRotates: false,
  supportsRevocation: false, // no revocation endpoint is documented for Instagram Login
  userSuppliedHost: false,
  inbox: {
    sources: [{
      id: COMMENTS, collects: ['comments', 'replies'],
      description: `GET /{ig-user-id}/media of the last ${RECENT_DAYS} days, then GET /{ig-media-id}/comments with their replies `
        + '(https://developers.facebook.com/docs/instagram-api/guides/comment-moderation): comments and replies under the account\'s media, hidden ones included; '
        + 'polled. Comments on Stories are not collected.',
    }, {
      id: MENTIONS, collects: ['mentions'],
      description: 'GET /{ig-user-id}/tags, media the account is tagged in, polled; media captions and comments that @mention it, '
        + 'pushed by the webhooks\' mentions field and read through mentioned_media / mentioned_comment '
        + '(https://developers.facebook.com/docs/instagram-platform/instagram-api-with-facebook-login/mentions). '
        + 'An @mention is collected only by push (Meta lists none to poll), and not on Stories or private accounts\' media.',
    }],
    notCollected: '@mentions in captions and comments when no webhook is configured (Meta lists none to poll: only tagged media are polled); '
      + 'mentions on Stories; comments under media older than 14 days. A mention is answered (POST /{ig-user-id}/mentions), not hidden, liked or deleted: '
      + 'the medium is someone else\'s; a medium the account is only tagged in cannot be answered ("Commenting on photos in which you were tagged is not supported").',
    // The API has no like of a comment; a reply to a reply goes under the top-level comment.
    actions: ['reply', 'hide', 'unhide', 'delete'],
    deletes: 'own_and_comments',
    // On someone else's medium the account can only answer the caption or comment that @mentions it (IG User Mentions).
    mentionActions: ['reply'],
    unanswerable: 'Instagram does not let the account comment on a medium it is only tagged in (IG User Mentions: "Commenting on photos in which you were tagged is not supported"); answer in the Instagram app.',
  },
  limits: {
    // Counting unit UNCONFIRMED: UTF-16 length never under-counts.
    textCounting: 'utf16', maxTextLength: CAPTION.maxLength, threads: false, firstComment: true,
    media: {
      // Carousels: 2–10 items, images and videos mixed. Images JPEG only, ≤ 8 MB; Reels MOV/MP4, ≤ 300 MB, 3 s–15 min.
      maxCount: 10, imageTypes: ['image/jpeg'], videoTypes: ['video/mp4', 'video/quicktime'],
      maxImageBytes: 8 * 1024 * 1024, maxVideoBytes: 300 * 1024 * 1024, maxVideoSeconds: 15 * 60, mixing: true, required: true,
    },
  },
};

export interface InstagramOptions {
  /** Container polling; tests shorten it. */
  poll?: PollOptions;
}

const hashtags = (s: string) => (s.match(/(?:^|[^\p{L}\p{N}_&])#[\p{L}\p{N}_]+/gu) ?? []).length;
const mentions = (s: string) => (s.match(/(?:^|[^\p{L}\p{N}_.])@[\p{L}\p{N}_.]+/gu) ?? []).length;

export function createInstagram(deps: ProviderDeps, opts: InstagramOptions = {}): Provider {
  const authBase = deps.settings.baseUrls.auth ?? 'https://www.instagram.com';
  const apiBase = deps.settings.baseUrls.api ?? 'https://api.instagram.com';
  const graphBase = deps.settings.baseUrls.graph ?? 'https://graph.instagram.com';
  // INSTAGRAM_GRAPH_URL has no version of its own; the Graph versions are shared with Facebook.
  const g = graphApi(deps.http, { provider: P, base: graphBase, version: deps.settings.baseUrls.version || DEFAULT_GRAPH_VERSION });
  const { get, post } = g;
  const clientId = deps.settings.clientId ?? '';
  const poll = opts.poll ?? DEFAULT_POLL;
  const attempts = new PublishAttempts(P, deps.journal);
  const secret = () => appSecret(P, deps.settings, 'INSTAGRAM_APP_SECRET');

  const container = async (igId: string, token: string, params: Params): Promise<string> => {
    // Creating a container publishes nothing: no answer is transient, not an unknown outcome.
    const r = await post<{ id?: unknown }>('media_upload', `${igId}/media`, token, params);
    return need(P, 'media_upload', false, r.id);
  };
  const finished = (id: string, token: string) => waitForContainer(P, poll, async () => {
    const s = await get<{ status_code?: unknown; status?: unknown }>('media_status', id, token, { fields: 'status_code,status' });
    return { status: need(P, 'media_status', false, s.status_code), ...(typeof s.status === 'string' ? { detail: s.status } : {}) };
  });

  const provider: Provider = {
    meta,

    // Instagram webhooks (comments field), signed with the Instagram app's secret (which secret signs them with
    // Instagram Login is UNCONFIRMED: the app's own is the one the getting-started guide names).
    webhook: {
      verify: (raw, header) => validSignature(raw, header, deps.settings.clientSecret),
      parse: (body) => [...parseInstagramComments(body), ...parseMentions(body)],
      lookup: (account, refs) => lookupMentions(g, account, refs),
    },

    async authorizationUrl(req: AuthorizeRequest) {
      const u = new URL(`${authBase}/oauth/authorize`);
      u.search = new URLSearchParams({
        client_id: clientId, redirect_uri: req.redirectUri, response_type: 'code', scope: INSTAGRAM_SCOPES.join(','), state: req.state,
      }).toString();
      return u.toString();
    },

    async exchangeCode(req: ExchangeRequest): Promise<TokenSet> {
      const r = await g.call<{ data?: Record<string, unknown>[] } & Record<string, unknown>>({
        operation: 'oauth_exchange', method: 'POST', url: `${apiBase}/oauth/access_token`, tokenCall: true,
        params: {
          client_id: clientId, client_secret: secret(), grant_type: 'authorization_code', redirect_uri: req.redirectUri,
          code: req.code.replace(/#_$/, ''), // Instagram appends #_ to the redirect; it is not part of the code
        },
      });
      // The docs show { data: [{ access_token, user_id, permissions }] }; clients also meet the flat form.
      const short = Array.isArray(r.data) ? r.data[0] ?? {} : r;
      const shortToken = need(P, 'oauth_exchange', false, short.access_token);
      const perms = short.permissions;
      const scope = Array.isArray(perms) ? perms.map(String) : typeof perms === 'string' ? perms.split(/[ ,]+/).filter(Boolean) : undefined;
      const long = await g.call<Record<string, unknown>>({
        operation: 'oauth_exchange', method: 'GET', url: `${graphBase}/access_token`, tokenCall: true,
        params: { grant_type: 'ig_exchange_token', client_secret: secret(), access_token: shortToken },
      });
      // The long-lived answer names no permissions: those granted at the code exchange are kept.
      return tokenSetOf(P, 'oauth_exchange', long, scope);
    },

    refresh(account: AccountRef): Promise<TokenSet> {
      return refreshLongLived(g, { url: `${graphBase}/refresh_access_token`, grantType: 'ig_refresh_token', tokens: account.tokens });
    },

    async identities(tokens: TokenSet): Promise<ConnectedIdentity[]> {
      const me = await get<Record<string, unknown>>('profile', 'me', tokens.accessToken, { fields: 'user_id,username,name,profile_picture_url,account_type' });
      // user_id is the professional account's id, the one the publishing endpoints take (id is app-scoped).
      const id = need(P, 'profile', false, me.user_id ?? me.id);
      const username = need(P, 'profile', false, me.username);
      return [{
        externalId: id, kind: me.account_type === 'BUSINESS' ? 'organization' : 'person', username,
        displayName: typeof me.name === 'string' && me.name ? me.name : username,
        ...(typeof me.profile_picture_url === 'string' ? { avatarUrl: me.profile_picture_url } : {}),
        profileUrl: `https://www.instagram.com/${username}`,
        data: { accountType: me.account_type ?? null },
      }];
    },

    async publish(account: AccountRef, req: PublishRequest): Promise<PublishedPost> {
      const igId = account.externalId;
      const token = account.tokens.accessToken;
      if (req.text.length > CAPTION.maxLength) throw permanent(P, `the caption is longer than ${CAPTION.maxLength} characters`, 'text_too_long');
      // 30 is what the API documents; Instagram's announced cut to 5 hashtags is not known to be enforced by the API.
      if (hashtags(req.text) > CAPTION.maxHashtags) throw permanent(P, `at most ${CAPTION.maxHashtags} hashtags per caption`, 'too_many_hashtags');
      if (mentions(req.text) > CAPTION.maxMentions) throw permanent(P, `at most ${CAPTION.maxMentions} @-mentions per caption`, 'too_many_mentions');

      if (req.replyTo) {
        // First comment under a published media (instagram_business_manage_comments). Comments carry text only.
        if (req.media.length > 0) throw permanent(P, 'a comment cannot carry media', 'media_in_comment');
        if (!req.text.trim()) throw permanent(P, 'a comment needs text', 'empty_post');
        await attempts.record(igId, req.marker, { text: req.text, replyTo: req.replyTo });
        const r = await post<{ id?: unknown }>('publish', `${req.replyTo}/comments`, token, { message: req.text }, true);
        return { remoteId: need(P, 'publish', true, r.id) };
      }

      if (req.media.length === 0) throw permanent(P, 'an Instagram post needs at least one image or video', 'media_required');
      checkMedia(P, meta.limits.media, req.media);
      const story = req.options?.story === true;
      if (story) {
        // Stories (docs/NETWORKS.md, Network facts: Instagram): one image or one video of at most 60 s and 100 MB, no caption.
        if (req.media.length !== 1) throw permanent(P, 'a Story holds exactly one image or video', 'story_media');
        const v = req.media[0]!;
        if (v.mimeType.startsWith('video/') && ((v.durationSeconds ?? 0) > STORY_VIDEO_SECONDS || v.bytes > STORY_VIDEO_BYTES)) {
          throw permanent(P, `a Story video lasts at most ${STORY_VIDEO_SECONDS} s and weighs at most 100 MB`, 'story_video_too_long');
        }
      }
      for (const m of story ? [] : req.media) {
        // Images: aspect 4:5 to 1.91:1 (ig-user/media); checked when the dimensions are known.
        if (!m.mimeType.startsWith('video/') && m.width && m.height && (m.width / m.height < 0.8 - 1e-3 || m.width / m.height > 1.91 + 1e-3)) {
          throw permanent(P, 'images must have an aspect ratio between 4:5 and 1.91:1', 'aspect_ratio');
        }
      }
      const only = req.media.length === 1 ? req.media[0]! : undefined;
      if (only?.mimeType.startsWith('video/') && only.durationSeconds !== undefined && only.durationSeconds < 3) {
        throw permanent(P, 'a Reel lasts at least 3 s', 'video_too_short');
      }
      const urls = requirePublicUrls(P, req.media);
      await attempts.record(igId, req.marker, { text: req.text, story });

      // The 24 h publishing quota (100 per the guide, 50 per the reference): read it live rather than assume.
      const lim = await get<{ data?: { quota_usage?: unknown; config?: { quota_total?: unknown } }[] }>(
        'publishing_limit', `${igId}/content_publishing_limit`, token, { fields: 'quota_usage,config' });
      const usage = lim.data?.[0];
      if (typeof usage?.quota_usage === 'number' && typeof usage.config?.quota_total === 'number' && usage.quota_usage >= usage.config.quota_total) {
        throw new ProviderError('rate_limited', `instagram: the account published ${usage.quota_usage} of its ${usage.config.quota_total} posts allowed in 24 h`,
          { provider: P, reason: 'publishing_quota' });
      }

      const caption = req.text ? { caption: req.text } : {};
      let containerId: string;
      if (story) {
        const m = req.media[0]!;
        containerId = await container(igId, token, { media_type: 'STORIES', ...(m.mimeType.startsWith('video/') ? { video_url: urls[0] } : { image_url: urls[0] }) });
      } else if (req.media.length === 1) {
        const m = req.media[0]!;
        containerId = m.mimeType.startsWith('video/')
          // Feed videos are published as Reels since 2023; media_type VIDEO is deprecated.
          ? await container(igId, token, { media_type: 'REELS', video_url: urls[0], ...caption })
          : await container(igId, token, { image_url: urls[0], ...caption, ...(m.altText ? { alt_text: m.altText } : {}) });
      } else {
        const children: string[] = [];
        for (const [i, m] of req.media.entries()) {
          // alt_text is documented for image posts; on carousel items it is UNCONFIRMED, so it is not sent.
          children.push(await container(igId, token, m.mimeType.startsWith('video/')
            ? { media_type: 'VIDEO', video_url: urls[i], is_carousel_item: true }
            : { image_url: urls[i], is_carousel_item: true }));
        }
        // Every child must be FINISHED before the carousel container is created.
        for (const c of children) await finished(c, token);
        containerId = await container(igId, token, { media_type: 'CAROUSEL', children: children.join(','), ...caption });
      }
      await finished(containerId, token);

      // Recorded before publishing: after a lost answer, the container's status says whether it went live.
      await attempts.record(igId, req.marker, { text: req.text, containerId, story });
      const r = await post<{ id?: unknown }>('publish', `${igId}/media_publish`, token, { creation_id: containerId }, true);
      const mediaId = need(P, 'publish', true, r.id);
      const url = await permalinkOf(g, mediaId, token, 'permalink'); // published all the same without one
      return { remoteId: mediaId, ...(url ? { url } : {}) };
    },

    async findByMarker(account: AccountRef, marker: string, since: Date): Promise<PublishedPost | null> {
      const a = await attempts.get(account.externalId, marker);
      if (!a) throw unknownMarker(P, marker);
      const from = searchFrom(since, a);
      const token = account.tokens.accessToken;
      if (a.replyTo) {
        const r = await get<{ data?: { id?: unknown; text?: unknown; timestamp?: unknown; username?: unknown }[] }>(
          'find_post', `${a.replyTo}/comments`, token, { fields: 'id,text,timestamp,username' });
        const mine = dataOf(P, 'find_post', r).filter((c) => c.username === undefined || c.username === account.username);
        const hit = oldestMatch(mine, { from, timeField: 'timestamp', textField: 'text', text: a.text });
        return hit ? { remoteId: hit.id } : null;
      }
      // media_publish was never sent: nothing can have been published.
      const containers = containersOf(a);
      if (containers.length === 0) return null;
      if (!await anyPublished(g, containers, token, 'status_code')) return null;
      if (a.story) {
        // A Story has no caption to match: the account's first Story since the marker was sent is it.
        // Stories stay listed for 24 h, as long as an unknown outcome is worth reconciling.
        const st = await get<{ data?: { id?: unknown; permalink?: unknown; timestamp?: unknown }[] }>(
          'find_post', `${account.externalId}/stories`, token, { fields: 'id,permalink,timestamp' });
        const first = oldestMatch(dataOf(P, 'find_post', st), { from, timeField: 'timestamp' });
        if (!first) throw new ProviderError('transient', 'instagram: the container was published but the Story is not listed yet', { provider: P, reason: 'published_not_listed' });
        return { remoteId: first.id, ...(typeof first.permalink === 'string' ? { url: first.permalink } : {}) };
      }
      const r = await get<{ data?: { id?: unknown; caption?: unknown; permalink?: unknown; timestamp?: unknown }[] }>(
        'find_post', `${account.externalId}/media`, token, { fields: 'id,caption,permalink,timestamp', limit: 25 });
      const hit = oldestMatch(dataOf(P, 'find_post', r), { from, timeField: 'timestamp', textField: 'caption', text: a.text });
      if (!hit) {
        // The container says PUBLISHED, so the post exists: never report it missing.
        throw new ProviderError('transient', 'instagram: the container was published but the media is not listed yet', { provider: P, reason: 'published_not_listed' });
      }
      return { remoteId: hit.id, ...(typeof hit.permalink === 'string' ? { url: hit.permalink } : {}) };
    },

    async metrics(account: AccountRef, remoteId: string): Promise<PostMetrics> {
      // impressions/plays are deprecated (v22+); views replaces them. Stories have no likes or comments
      // but replies (the media insights page listed above), so the media's product type picks the metrics asked for.
      const kind = await get<{ media_product_type?: unknown }>('metrics', remoteId, account.tokens.accessToken, { fields: 'media_product_type' });
      const isStory = kind.media_product_type === 'STORY';
      const r = await get<{ data?: { name?: unknown; values?: { value?: unknown }[]; total_value?: { value?: unknown } }[] }>(
        'metrics', `${remoteId}/insights`, account.tokens.accessToken, { metric: isStory ? 'views,replies,shares' : 'views,likes,comments,shares' });
      const data = dataOf(P, 'metrics', r);
      const value = (name: string) => insightValue(data, name);
      return postMetrics({ likes: value('likes'), replies: value(isStory ? 'replies' : 'comments'), reposts: value('shares'), impressions: value('views') });
    },

    collectInbox(account: AccountRef, req: InboxPageRequest): Promise<InboxPage> {
      return req.source === MENTIONS ? collectTagged(g, account, req) : collectComments(g, account, req);
    },

    async reply(account: AccountRef, req: ReplyRequest): Promise<PublishedPost> {
      if (req.text.length > CAPTION.maxLength) throw permanent(P, `the text is longer than ${CAPTION.maxLength} characters`, 'text_too_long');
      if (req.mention) return replyToMention(g, attempts, account, req);
      const top = await topLevelOf(g, account, req.parentRemoteId);
      // No idempotency key: the text and where it goes are written down first, for findReply.
      await attempts.record(account.externalId, req.marker, { text: req.text, replyTo: top });
      const r = await post<{ id?: unknown }>('reply', `${top}/replies`, account.tokens.accessToken, { message: req.text }, true);
      return { remoteId: need(P, 'reply', true, r.id) };
    },

    async findReply(account: AccountRef, req: FindReplyRequest): Promise<PublishedPost | null> {
      if (req.mention) return findMentionReply(attempts, account, req);
      const a = await attempts.get(account.externalId, req.marker);
      if (!a?.replyTo) throw unknownMarker(P, req.marker);
      const r = await get<{ data?: { id?: unknown; text?: unknown; timestamp?: unknown; username?: unknown; from?: { id?: unknown } }[] }>(
        'find_reply', `${a.replyTo}/replies`, account.tokens.accessToken, { fields: 'id,text,timestamp,username,from' });
      const mine = dataOf(P, 'find_reply', r).filter((c) => (c.from?.id ?? account.externalId) === account.externalId);
      const hit = oldestMatch(mine, { from: searchFrom(req.since, a), timeField: 'timestamp', textField: 'text', text: a.text });
      return hit ? { remoteId: hit.id } : null;
    },

    hide: (account: AccountRef, req: MessageActionRequest) => setHidden(g, account, req, true),
    unhide: (account: AccountRef, req: MessageActionRequest) => setHidden(g, account, req, false),
    delete: (account: AccountRef, req: MessageActionRequest) => deleteComment(g, account, req),
    messageState: (account: AccountRef, req: MessageActionRequest): Promise<MessageState> => commentState(g, account, req),
  };
  return provider;
}
