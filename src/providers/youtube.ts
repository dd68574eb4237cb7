// YouTube, through the YouTube Data API v3 with Google's OAuth 2.0. Documentation (the facts used, each with its page and
// status, are in docs/NETWORKS.md, Network facts: YouTube):
//   OAuth for web server apps   https://developers.google.com/identity/protocols/oauth2/web-server
//   videos.insert               https://developers.google.com/youtube/v3/docs/videos/insert
//   Video resource              https://developers.google.com/youtube/v3/docs/videos
//   Resumable uploads           https://developers.google.com/youtube/v3/guides/using_resumable_upload_protocol
//   thumbnails.set              https://developers.google.com/youtube/v3/docs/thumbnails/set
//   channels, playlistItems     https://developers.google.com/youtube/v3/docs/channels/list, …/docs/playlistItems/list
//   Errors                      https://developers.google.com/youtube/v3/docs/errors
//   Quota costs                 https://developers.google.com/youtube/v3/determine_quota_cost
//   Shorts                      https://support.google.com/youtube/answer/15424877
//
// An AllIN account is one YouTube channel (the one the Google account chose at consent). A post is one video (or Short):
// the post's text is the description, the options carry the title, tags, category, privacy, scheduled time and audience,
// and an image attached with the video becomes its thumbnail. Videos of a Google project that has not passed YouTube's
// API audit are locked private; unless YOUTUBE_API_AUDITED says the audit is passed, only private uploads are sent.
//
// This file is the network's entry point: its metadata and createYouTube, which puts the parts in youtube/ together:
//   api.ts         Data API calls (Bearer token, JSON answers)
//   errors.ts      Google's {error: {code, message, errors: [{reason}]}} as ProviderError kinds, quota waits
//   oauth.ts       authorisation URL (offline access, PKCE), code exchange, refresh, revoke
//   options.ts     title, tags, category, privacy, publishAt, madeForKids, short (pure: the web app runs it too)
//   upload.ts      the resumable upload protocol: session, chunks, status after an interruption; thumbnails
//   posts.ts       the video resource, media rules, figures
//   reconcile.ts   the send journal, the session's status, the uploads playlist
import { youtubeApi, YOUTUBE_API_URL } from './youtube/api.ts';
import { youtubeOAuth } from './youtube/oauth.ts';
import { MAX_THUMBNAIL_BYTES, MAX_VIDEO_BYTES, MAX_VIDEO_SECONDS, THUMBNAIL_TYPES, VIDEO_TYPES, youtubePosts } from './youtube/posts.ts';
import { findByMarker, type SentVideo } from './youtube/reconcile.ts';
import { youtubeUpload } from './youtube/upload.ts';
import { SentPosts } from './sent-posts.ts';
import { ProviderError, type ConnectedIdentity, type Provider, type ProviderDeps, type ProviderMetadata } from './types.ts';

export { YOUTUBE_SCOPES } from './youtube/oauth.ts';
export { youtubeOptionProblems, youtubeDescriptionProblems, youtubeShortProblems, tagsLength, YOUTUBE_OPTION_KEYS, type YouTubeOptions } from './youtube/options.ts';
export { youtubeMediaProblems } from './youtube/posts.ts';
export { untilPacificMidnight } from './youtube/errors.ts';
export { nextOffset, CHUNK_BYTES } from './youtube/upload.ts';

const meta: ProviderMetadata = {
  id: 'youtube',
  displayName: 'YouTube',
  docsUrl: 'https://developers.google.com/youtube/v3/docs/videos/insert',
  connect: 'oauth2',
  // Google keeps the refresh token (a refresh answers none).
  refreshTokenRotates: false,
  supportsRevocation: true,
  userSuppliedHost: false,
  limits: {
    // The text is the description: 5,000 bytes in UTF-8 (checked as bytes on save); 5,000 UTF-16 units is the most it can be.
    textCounting: 'utf16', maxTextLength: 5000, threads: false, firstComment: false,
    media: {
      maxCount: 2, imageTypes: THUMBNAIL_TYPES, videoTypes: VIDEO_TYPES, maxImageBytes: MAX_THUMBNAIL_BYTES, maxVideoBytes: MAX_VIDEO_BYTES,
      maxVideoSeconds: MAX_VIDEO_SECONDS, mixing: true, required: true,
    },
  },
  accountMetrics: { fields: ['followers', 'posts'], historyDays: 0, docs: 'https://developers.google.com/youtube/v3/docs/channels#statistics' },
};

interface Channel {
  id?: string;
  snippet?: { title?: string; customUrl?: string; thumbnails?: { default?: { url?: string } } };
  contentDetails?: { relatedPlaylists?: { uploads?: string } };
}

export function createYouTube(deps: ProviderDeps): Provider {
  const { clientId, clientSecret } = deps.settings;
  if (!clientId || !clientSecret) throw new Error('youtube: YOUTUBE_CLIENT_ID and YOUTUBE_CLIENT_SECRET are required');
  const urls = deps.settings.baseUrls;
  const api = youtubeApi(deps.http, urls.api ?? YOUTUBE_API_URL);
  const oauth = youtubeOAuth(api, urls.auth ?? 'https://accounts.google.com', urls.token ?? 'https://oauth2.googleapis.com', { clientId, clientSecret });
  const upload = youtubeUpload(api);
  const sent = new SentPosts<SentVideo>('youtube', deps.journal);
  const posts = youtubePosts(api, upload, sent, urls.audited === 'true');
  return {
    meta,
    authorizationUrl: async (req) => oauth.authorizationUrl(req),
    exchangeCode: (req) => oauth.exchangeCode(req),
    refresh: (account) => oauth.refresh(account),
    revoke: (account) => oauth.revoke(account),
    async identities(tokens): Promise<ConnectedIdentity[]> {
      // https://developers.google.com/youtube/v3/docs/channels/list (mine=true: the channel of the authorised account).
      const { body } = await api.get<{ items?: Channel[] }>(tokens.accessToken, '/channels?part=snippet,contentDetails&mine=true', 'profile');
      const channels = (body.items ?? []).filter((c) => typeof c.id === 'string' && c.id !== '');
      if (channels.length === 0) throw new ProviderError('permanent', 'YouTube: this Google account has no YouTube channel; create one at youtube.com, then connect again', { provider: 'youtube', reason: 'no_channel' });
      return channels.map((c) => {
        const avatar = c.snippet?.thumbnails?.default?.url;
        const uploads = c.contentDetails?.relatedPlaylists?.uploads;
        return {
          externalId: c.id!, kind: 'page' as const, username: c.snippet?.customUrl || c.id!, displayName: c.snippet?.title || c.id!,
          profileUrl: `https://www.youtube.com/channel/${encodeURIComponent(c.id!)}`,
          ...(avatar && /^https:\/\//.test(avatar) ? { avatarUrl: avatar } : {}),
          data: { ...(uploads ? { uploads } : {}) },
        };
      });
    },
    publish: (account, post) => posts.publish(account, post),
    findByMarker: (account, marker, since) => findByMarker(api, upload, sent, account, marker, since),
    metrics: (account, remoteId) => posts.metrics(account, remoteId),
    accountMetrics: (account) => posts.accountMetrics(account),
  };
}
