// Threads through the Threads API (graph.threads.net). Documentation:
//   https://developers.facebook.com/docs/threads/get-started/get-access-tokens-and-permissions
//   https://developers.facebook.com/docs/threads/get-started/long-lived-tokens         (th_exchange_token, th_refresh_token)
//   https://developers.facebook.com/docs/threads/posts · /docs/threads/reference/publishing (containers, threads_publish)
//   https://developers.facebook.com/docs/threads/retrieve-and-manage-replies             (reply_to_id, /replies)
//   https://developers.facebook.com/docs/threads/overview                                (rate limits, threads_publishing_limit)
//   https://developers.facebook.com/docs/threads/troubleshooting                         (container status after a lost publish)
//   https://developers.facebook.com/docs/threads/insights
// A Threads app has its own id and secret. Every post is a container (text, image, video, carousel) published
// with threads_publish; threads and first comments are replies (reply_to_id). Media is downloaded by Meta from
// MediaItem.publicUrl. No PKCE and no revocation endpoint are documented; the long-lived token itself is
// refreshed (once 24 h old) into a new 60-day token.
import { REPLIES, RECENT_DAYS, collectReplies, replyState, setHidden } from './threads/inbox.ts';
import { MENTIONS, MENTIONS_SCOPE, collectMentions, parseThreadsWebhook } from './threads/mentions.ts';
import { postMetrics } from './post-metrics.ts';
import {
  DEFAULT_POLL, PublishAttempts, anyPublished, appSecret, validSignature, checkMedia, containersOf, dataOf, graphApi, insightValue, need, oldestMatch, permalinkOf, permanent,
  refreshLongLived, requirePublicUrls, searchFrom, tokenSetOf, unknownMarker, waitForContainer, type Params, type PollOptions,
} from './meta-graph.ts';
import {
  ProviderError, type AccountRef, type FindReplyRequest, type InboxPage, type InboxPageRequest, type MessageActionRequest, type MessageState, type ReplyRequest, type AuthorizeRequest, type ConnectedIdentity, type ExchangeRequest, type PostMetrics, type Provider, type ProviderDeps,
  type ProviderMetadata, type PublishRequest, type PublishedPost, type TokenSet,
} from './types.ts';

const P = 'threads';
const VERSION = 'v1.0';

export const THREADS_SCOPES = ['threads_basic', 'threads_content_publish', 'threads_manage_replies', 'threads_read_replies', 'threads_manage_insights', MENTIONS_SCOPE];
export const THREADS_MAX_TEXT = 500;

const segmenter = new Intl.Segmenter(undefined, { granularity: 'grapheme' });
const EMOJI = /\p{Extended_Pictographic}|\p{Regional_Indicator}|\u20E3/u;

/**
 * Length as Threads counts it: the docs say emoji count their UTF-8 bytes (😀 = 4, ❤️ = 6). How other
 * characters count is UNCONFIRMED, so they count their UTF-16 length, which never under-counts.
 */
export function threadsLength(text: string): number {
  let n = 0;
  for (const { segment } of segmenter.segment(text)) n += EMOJI.test(segment) ? Buffer.byteLength(segment, 'utf8') : segment.length;
  return n;
}

const meta: ProviderMetadata = {
  id: 'threads',
  displayName: 'Threads',
  docsUrl: 'https://developers.facebook.com/docs/threads/posts',
  connect: 'oauth2',
  refreshTokenRotates: false,
  supportsRevocation: false, // no revocation endpoint is documented for Threads
  userSuppliedHost: false,
  inbox: {
    sources: [{
      id: REPLIES, collects: ['replies'],
      description: `GET /{threads-user-id}/threads of the last ${RECENT_DAYS} days, then GET /{threads-media-id}/conversation?reverse=true `
        + '(https://developers.facebook.com/documentation/threads/reference/reply-management): replies at every depth under the profile\'s posts, hidden ones included; '
        + 'polled (threads_read_replies), and pushed by the webhooks\' replies field when configured.',
    }, {
      id: MENTIONS, collects: ['mentions'],
      description: 'GET /{threads-user-id}/mentions (https://developers.facebook.com/docs/threads/threads-mentions): public posts of others '
        + 'that tag the profile, newest first; polled (threads_manage_mentions: profiles connected before AllIN asked for it must reconnect), '
        + 'and pushed by the webhooks\' mentions field when configured. Before Meta grants the app advanced access, only mentions by the app\'s testers are listed.',
    }],
    notCollected: 'replies under posts older than 14 days; mentions of a profile connected before AllIN asked for threads_manage_mentions (until it is reconnected); '
      + 'likes and deleting others\' replies (no endpoint); a deletion after collection. A mention is answered (a reply with reply_to_id), not hidden: '
      + 'hiding is for replies to the profile\'s own posts.',
    // Hiding works on top-level replies only (and hides what is nested under them); no like or delete of others' replies.
    actions: ['reply', 'hide', 'unhide'],
    // A mention is someone else's post: answered as any post is (reply_to_id); /manage_reply hides only replies to the profile's own posts.
    mentionActions: ['reply'],
  },
  limits: {
    // The contract has no "emoji = UTF-8 bytes" unit: utf16 is the closest for a composer, and publish()
    // checks the exact rule (threadsLength) before any call.
    textCounting: 'utf16', maxTextLength: THREADS_MAX_TEXT, threads: true, firstComment: true,
    media: {
      // Carousels: 2–20 items, images and videos mixed. Images JPEG/PNG ≤ 8 MB; videos MOV/MP4 ≤ 1 GB, ≤ 5 min.
      maxCount: 20, imageTypes: ['image/jpeg', 'image/png'], videoTypes: ['video/mp4', 'video/quicktime'],
      maxImageBytes: 8 * 1024 * 1024, maxVideoBytes: 1024 * 1024 * 1024, maxVideoSeconds: 5 * 60, mixing: true, required: false,
    },
  },
};

export interface ThreadsOptions {
  poll?: PollOptions;
}

export function createThreads(deps: ProviderDeps, opts: ThreadsOptions = {}): Provider {
  const authBase = deps.settings.baseUrls.auth ?? 'https://threads.net';
  const graphBase = deps.settings.baseUrls.graph ?? 'https://graph.threads.net';
  const g = graphApi(deps.http, { provider: P, base: graphBase, version: deps.settings.baseUrls.version || VERSION });
  const { get, post } = g;
  const clientId = deps.settings.clientId ?? '';
  const poll = opts.poll ?? DEFAULT_POLL;
  const attempts = new PublishAttempts(P, deps.journal);
  const secret = () => appSecret(P, deps.settings, 'THREADS_APP_SECRET');

  const container = async (uid: string, token: string, params: Params): Promise<string> => {
    // A container is not a post: no answer here is transient, never an unknown outcome.
    const r = await post<{ id?: unknown }>('media_upload', `${uid}/threads`, token, params);
    return need(P, 'media_upload', false, r.id);
  };
  const finished = (id: string, token: string) => waitForContainer(P, poll, async () => {
    const s = await get<{ status?: unknown; error_message?: unknown }>('media_status', id, token, { fields: 'status,error_message' });
    return { status: need(P, 'media_status', false, s.status), ...(typeof s.error_message === 'string' ? { detail: s.error_message } : {}) };
  });

  const provider: Provider = {
    meta,

    // Threads webhooks (replies, mentions), signed with the Threads app's secret: the one Meta's getting-started
    // guide names for every Meta webhook; that Threads uses its own app's is UNCONFIRMED.
    webhook: {
      verify: (raw, header) => validSignature(raw, header, deps.settings.clientSecret),
      parse: parseThreadsWebhook,
    },

    async authorizationUrl(req: AuthorizeRequest) {
      const u = new URL(`${authBase}/oauth/authorize`);
      u.search = new URLSearchParams({
        client_id: clientId, redirect_uri: req.redirectUri, scope: THREADS_SCOPES.join(','), response_type: 'code', state: req.state,
      }).toString();
      return u.toString();
    },

    async exchangeCode(req: ExchangeRequest): Promise<TokenSet> {
      const short = await g.call<Record<string, unknown>>({
        operation: 'oauth_exchange', method: 'POST', url: `${graphBase}/oauth/access_token`, tokenCall: true,
        params: { client_id: clientId, client_secret: secret(), grant_type: 'authorization_code', redirect_uri: req.redirectUri, code: req.code.replace(/#_$/, '') },
      });
      const shortToken = need(P, 'oauth_exchange', false, short.access_token);
      const long = await g.call<Record<string, unknown>>({
        operation: 'oauth_exchange', method: 'GET', url: `${graphBase}/access_token`, tokenCall: true,
        params: { grant_type: 'th_exchange_token', client_secret: secret(), access_token: shortToken },
      });
      // Threads does not echo the granted scopes; these are the ones asked for.
      return tokenSetOf(P, 'oauth_exchange', long, THREADS_SCOPES);
    },

    refresh(account: AccountRef): Promise<TokenSet> {
      return refreshLongLived(g, { url: `${graphBase}/refresh_access_token`, grantType: 'th_refresh_token', tokens: account.tokens });
    },

    async identities(tokens: TokenSet): Promise<ConnectedIdentity[]> {
      const me = await get<Record<string, unknown>>('profile', 'me', tokens.accessToken, { fields: 'id,username,name,threads_profile_picture_url' });
      const id = need(P, 'profile', false, me.id);
      const username = need(P, 'profile', false, me.username);
      return [{
        externalId: id, kind: 'person', username, displayName: typeof me.name === 'string' && me.name ? me.name : username,
        ...(typeof me.threads_profile_picture_url === 'string' ? { avatarUrl: me.threads_profile_picture_url } : {}),
        profileUrl: `https://www.threads.com/@${username}`, data: {},
      }];
    },

    async publish(account: AccountRef, req: PublishRequest): Promise<PublishedPost> {
      const uid = account.externalId;
      const token = account.tokens.accessToken;
      const length = threadsLength(req.text);
      if (length > THREADS_MAX_TEXT) throw permanent(P, `the text counts ${length} of ${THREADS_MAX_TEXT} characters (emoji count their UTF-8 bytes)`, 'text_too_long');
      if (!req.text.trim() && req.media.length === 0) throw permanent(P, 'a post needs text or media', 'empty_post');
      checkMedia(P, meta.limits.media, req.media);
      for (const m of req.media) {
        // Images: aspect ratio at most 10:1 either way; checked when the dimensions are known.
        if (!m.mimeType.startsWith('video/') && m.width && m.height && Math.max(m.width / m.height, m.height / m.width) > 10) {
          throw permanent(P, 'images may not be wider or taller than 10:1', 'aspect_ratio');
        }
      }
      const urls = requirePublicUrls(P, req.media);
      const sent = { text: req.text, ...(req.replyTo ? { replyTo: req.replyTo } : {}) };
      await attempts.record(uid, req.marker, sent);

      // 250 posts and 1,000 replies per rolling 24 h, enforced at threads_publish: check first.
      const lim = await get<{ data?: Record<string, unknown>[] }>('publishing_limit', `${uid}/threads_publishing_limit`, token, {
        fields: 'quota_usage,config,reply_quota_usage,reply_config',
      });
      const q = lim.data?.[0] ?? {};
      const used = req.replyTo ? q.reply_quota_usage : q.quota_usage;
      const total = ((req.replyTo ? q.reply_config : q.config) as { quota_total?: unknown } | undefined)?.quota_total;
      if (typeof used === 'number' && typeof total === 'number' && used >= total) {
        throw new ProviderError('rate_limited', `threads: the profile used ${used} of its ${total} ${req.replyTo ? 'replies' : 'posts'} allowed in 24 h`,
          { provider: P, reason: 'publishing_quota' });
      }

      const text = req.text ? { text: req.text } : {};
      const reply = req.replyTo ? { reply_to_id: req.replyTo } : {};
      const item = (i: number, carousel: boolean): Params => {
        const m = req.media[i]!;
        const video = m.mimeType.startsWith('video/');
        return {
          media_type: video ? 'VIDEO' : 'IMAGE', [video ? 'video_url' : 'image_url']: urls[i],
          // alt_text is sent for images only, the case the network facts list (docs/NETWORKS.md, Threads).
          ...(m.altText && !video ? { alt_text: m.altText } : {}), ...(carousel ? { is_carousel_item: true } : {}),
        };
      };
      let containerId: string;
      if (req.media.length === 0) {
        // Text containers need no processing: published at once.
        containerId = await container(uid, token, { media_type: 'TEXT', ...text, ...reply });
      } else if (req.media.length === 1) {
        containerId = await container(uid, token, { ...item(0, false), ...text, ...reply });
        await finished(containerId, token);
      } else {
        const children: string[] = [];
        for (let i = 0; i < req.media.length; i++) children.push(await container(uid, token, item(i, true)));
        for (const c of children) await finished(c, token);
        containerId = await container(uid, token, { media_type: 'CAROUSEL', children: children.join(','), ...text, ...reply });
        await finished(containerId, token);
      }

      // Recorded before publishing: after a lost answer the container's status (PUBLISHED) is the proof.
      await attempts.record(uid, req.marker, { ...sent, containerId });
      const r = await post<{ id?: unknown }>('publish', `${uid}/threads_publish`, token, { creation_id: containerId }, true);
      const mediaId = need(P, 'publish', true, r.id);
      // Published all the same without a permalink (permalinks are also omitted for flagged media).
      const url = await permalinkOf(g, mediaId, token, 'permalink');
      return { remoteId: mediaId, ...(url ? { url } : {}) };
    },

    async findByMarker(account: AccountRef, marker: string, since: Date): Promise<PublishedPost | null> {
      const a = await attempts.get(account.externalId, marker);
      if (!a) throw unknownMarker(P, marker);
      const containers = containersOf(a);
      if (containers.length === 0) return null; // threads_publish was never sent
      const token = account.tokens.accessToken;
      if (!await anyPublished(g, containers, token, 'status')) return null;
      const from = searchFrom(since, a);
      // Replies are not listed with the profile's posts: they have their own edge.
      const r = await get<{ data?: { id?: unknown; text?: unknown; permalink?: unknown; timestamp?: unknown }[] }>(
        'find_post', `${account.externalId}/${a.replyTo ? 'replies' : 'threads'}`, token,
        { fields: 'id,text,permalink,timestamp', since: Math.max(1688540400, Math.floor(from / 1000)), limit: 25 });
      const hit = oldestMatch(dataOf(P, 'find_post', r), { from, timeField: 'timestamp', textField: 'text', text: a.text });
      if (!hit) throw new ProviderError('transient', 'threads: the container was published but the post is not listed yet', { provider: P, reason: 'published_not_listed' });
      return { remoteId: hit.id, ...(typeof hit.permalink === 'string' ? { url: hit.permalink } : {}) };
    },

    async metrics(account: AccountRef, remoteId: string): Promise<PostMetrics> {
      const r = await get<{ data?: { name?: unknown; values?: { value?: unknown }[]; total_value?: { value?: unknown } }[] }>(
        'metrics', `${remoteId}/insights`, account.tokens.accessToken, { metric: 'views,likes,replies,reposts,quotes,shares' });
      const data = dataOf(P, 'metrics', r);
      const value = (name: string) => insightValue(data, name);
      return postMetrics({ likes: value('likes'), replies: value('replies'), reposts: value('reposts'), impressions: value('views') });
    },

    collectInbox(account: AccountRef, req: InboxPageRequest): Promise<InboxPage> {
      return req.source === MENTIONS ? collectMentions(g, account, req) : collectReplies(g, account, req);
    },

    // A reply is a post with reply_to_id, published and reconciled as every Threads reply (threads_manage_replies).
    reply(account: AccountRef, req: ReplyRequest): Promise<PublishedPost> {
      return provider.publish(account, { text: req.text, media: [], replyTo: req.parentRemoteId, marker: req.marker });
    },
    findReply(account: AccountRef, req: FindReplyRequest): Promise<PublishedPost | null> {
      return provider.findByMarker(account, req.marker, req.since);
    },
    hide: (account: AccountRef, req: MessageActionRequest) => setHidden(g, account, req, true),
    unhide: (account: AccountRef, req: MessageActionRequest) => setHidden(g, account, req, false),
    messageState: (account: AccountRef, req: MessageActionRequest): Promise<MessageState> => replyState(g, account, req),
  };
  return provider;
}
