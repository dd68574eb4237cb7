// Slack, through a Slack app installed in a workspace with OAuth v2 and its bot token. Documentation (the facts used,
// each with its page and status, are in docs/NETWORKS.md, Network facts: Slack):
//   Installing with OAuth   https://docs.slack.dev/authentication/installing-with-oauth
//   Token rotation          https://docs.slack.dev/authentication/using-token-rotation
//   Web API, errors         https://docs.slack.dev/apis/web-api/
//   Rate limits             https://docs.slack.dev/apis/web-api/rate-limits
//   chat.postMessage        https://docs.slack.dev/reference/methods/chat.postMessage
//   Message metadata        https://docs.slack.dev/messaging/message-metadata
//   Uploading files         https://docs.slack.dev/messaging/working-with-files#uploading_files
//   conversations.history   https://docs.slack.dev/reference/methods/conversations.history
//
// An AllIN account is one workspace where the app is installed; each post names its channel (the `channel` option),
// among the channels the app was invited to. The bot token is stored encrypted like every token.
//
// This file is the network's entry point: its metadata and createSlack, which puts the parts in slack/ together:
//   api.ts         Web API calls (Bearer token, JSON or form bodies, the {ok, error} answer) and file uploads
//   errors.ts      {ok:false, error} codes and HTTP 429 (Retry-After) as ProviderError kinds
//   oauth.ts       authorisation URL, code exchange, token rotation, auth.revoke
//   identities.ts  the workspace (auth.test) and the channels the app is in (users.conversations)
//   options.ts     the channel, blocks and flags a post takes (pure: the web app runs it too)
//   media.ts       the external upload flow (files.getUploadURLExternal, the bytes)
//   posts.ts       messages, files, thread replies, figures
//   reconcile.ts   the send journal and the message's metadata marker, read back after an unknown outcome
import { slackApi, SLACK_API_URL } from './slack/api.ts';
import { slackIdentities } from './slack/identities.ts';
import { MAX_FILE_BYTES, MAX_FILES } from './slack/media.ts';
import { slackOAuth } from './slack/oauth.ts';
import { slackPosts } from './slack/posts.ts';
import { findByMarker, type SentMessage } from './slack/reconcile.ts';
import { SentPosts } from './sent-posts.ts';
import type { AccountRef, Provider, ProviderDeps, ProviderMetadata } from './types.ts';

export { SLACK_SCOPES } from './slack/oauth.ts';
export { slackOptionProblems, SLACK_OPTION_KEYS, type SlackOptions } from './slack/options.ts';
export { escapeText, sections } from './slack/posts.ts';
export { parseRemote } from './slack/reconcile.ts';

const meta: ProviderMetadata = {
  id: 'slack',
  displayName: 'Slack',
  docsUrl: 'https://docs.slack.dev/reference/methods/chat.postMessage',
  connect: 'oauth2',
  // With token rotation on, each refresh token is revoked once used: refreshes are serialised.
  refreshTokenRotates: true,
  supportsRevocation: true,
  userSuppliedHost: false,
  limits: {
    // chat.postMessage truncates text past 40,000 characters and answers msg_too_long; UTF-16 units never under-count
    // (UNCONFIRMED which unit Slack counts). Text goes as 3,000-character sections, at most 50 blocks.
    textCounting: 'utf16', maxTextLength: 40_000, threads: true, firstComment: true,
    media: {
      maxCount: MAX_FILES, imageTypes: ['image/jpeg', 'image/png', 'image/gif'], videoTypes: ['video/mp4', 'video/quicktime'],
      maxImageBytes: MAX_FILE_BYTES, maxVideoBytes: MAX_FILE_BYTES, mixing: true, required: false,
    },
  },
};

/** A message's link in the workspace: <team url>archives/<channel>/p<ts without the dot> (UNCONFIRMED: chat.getPermalink is the documented way). */
function messageUrl(account: AccountRef) {
  const base = typeof account.data.url === 'string' && /^https:\/\/[^/]+\.slack\.com\/$/.test(account.data.url) ? account.data.url : undefined;
  return (channel: string, ts: string, root?: string): string | undefined => {
    if (!base) return undefined;
    const link = `${base}archives/${channel}/p${ts.replace('.', '')}`;
    return root && root !== ts ? `${link}?thread_ts=${root}&cid=${channel}` : link;
  };
}

export function createSlack(deps: ProviderDeps): Provider {
  const { clientId, clientSecret } = deps.settings;
  if (!clientId || !clientSecret) throw new Error('slack: SLACK_CLIENT_ID and SLACK_CLIENT_SECRET are required');
  const api = slackApi(deps.http, deps.settings.baseUrls.api ?? SLACK_API_URL);
  const oauth = slackOAuth(api, deps.settings.baseUrls.auth ?? 'https://slack.com', clientId, clientSecret);
  const sent = new SentPosts<SentMessage>('slack', deps.journal);
  const posts = slackPosts(api, meta.limits, sent, messageUrl);
  return {
    meta,
    authorizationUrl: async (req) => oauth.authorizationUrl(req),
    exchangeCode: (req) => oauth.exchangeCode(req),
    refresh: (account) => oauth.refresh(account),
    revoke: (account) => oauth.revoke(account),
    identities: (tokens) => slackIdentities(api, tokens),
    publish: (account, post) => posts.publish(account, post),
    findByMarker: (account, marker, since) => findByMarker(api, sent, account, marker, since, messageUrl(account)),
    metrics: (account, remoteId) => posts.metrics(account, remoteId),
  };
}
