// Discord, through a channel's incoming webhook. Documentation: https://discord.com/developers/docs/resources/webhook
// (Get Webhook with Token, Execute Webhook, Delete Webhook Message), .../reference#uploading-files,
// .../topics/rate-limits, .../topics/opcodes-and-status-codes. The facts used here, each with its page and
// status, are in docs/NETWORKS.md (Network facts: Discord).
//
// A Discord "account" in AllIN is one webhook, which posts to one channel (a text, announcement, forum or
// media channel): the user pastes the webhook URL (connect: webhook_url). No bot, no OAuth, no refresh. The
// webhook's token is stored encrypted like every token; it is part of each request's URL path, so it is
// kept out of metrics labels and error texts.
//
// This file is the network's entry point: its metadata and createDiscord, which puts the parts in
// discord/ together. Each part does one job:
//   api.ts        webhook calls (URL with the id and token, wait=true, DELETE of a message)
//   errors.ts     {message, code} and 429 {retry_after} as ProviderError kinds
//   webhook.ts    the pasted URL (Discord's hosts only), Get Webhook with Token, the account
//   options.ts    threadName, threadId, silent, embeds: checked on save and before sending (pure)
//   messages.ts   content, embeds, files (multipart), forum posts, thread parts, deleting
//   reconcile.ts  the send journal and the honest answer after an unknown outcome
import { webhookApi } from './discord/api.ts';
import { PROVIDER } from './discord/errors.ts';
import { discordMessages, MAX_FILE_BYTES, MAX_FILES } from './discord/messages.ts';
import { discordSent, findByMarker } from './discord/reconcile.ts';
import { discordWebhooks } from './discord/webhook.ts';
import { ProviderError, type AccountRef, type Provider, type ProviderDeps, type ProviderMetadata } from './types.ts';

export { parseWebhookUrl, WEBHOOK_HOSTS } from './discord/webhook.ts';
export { discordOptionProblems, DISCORD_OPTION_KEYS, type DiscordOptions, type DiscordEmbed } from './discord/options.ts';
export { parseRemoteId } from './discord/messages.ts';

/** API v10, the current version (https://discord.com/developers/docs/reference#api-versioning). */
export const DISCORD_API_URL = 'https://discord.com/api/v10';

const meta: ProviderMetadata = {
  id: 'discord',
  displayName: 'Discord',
  docsUrl: 'https://discord.com/developers/docs/resources/webhook',
  connect: 'webhook_url',
  refreshTokenRotates: false,
  // Delete Webhook with Token would delete the webhook itself, for everyone who uses it; disconnecting
  // only forgets the token.
  supportsRevocation: false,
  userSuppliedHost: false,
  limits: {
    // "up to 2000 characters"; the unit is not stated: UTF-16 units never under-count (UNCONFIRMED).
    textCounting: 'utf16', maxTextLength: 2000, threads: true, firstComment: false,
    media: {
      maxCount: MAX_FILES, imageTypes: ['image/jpeg', 'image/png', 'image/gif', 'image/webp'], videoTypes: ['video/mp4', 'video/quicktime'],
      maxImageBytes: MAX_FILE_BYTES, maxVideoBytes: MAX_FILE_BYTES, mixing: true, required: false,
    },
  },
};

/** Discord's adapter, with deleting a message the webhook sent. */
export interface DiscordProvider extends Provider {
  /** Deletes a message; one that is already gone counts as deleted. */
  deletePost(account: AccountRef, remoteId: string): Promise<void>;
}

export function createDiscord(deps: ProviderDeps): DiscordProvider {
  const api = webhookApi(deps.http, deps.settings.baseUrls.api ?? DISCORD_API_URL);
  const webhooks = discordWebhooks(api);
  const sent = discordSent(deps.journal);
  const messages = discordMessages(api, meta.limits, sent);
  return {
    meta,
    // The webhook URL comes as the password (it carries the token); nothing else is asked.
    signIn: (_identifier, webhookUrl) => webhooks.signIn(webhookUrl),
    refresh: (account) => webhooks.refresh(account),
    identities: async () => {
      throw new ProviderError('permanent', 'Discord: the channel is named by the webhook URL, at sign-in', { provider: PROVIDER, reason: 'sign_in_names_the_channel' });
    },
    publish: (account, post) => messages.publish(account, post),
    findByMarker: (account, marker) => findByMarker(sent, account, marker),
    deletePost: (account, remoteId) => messages.deletePost(account, remoteId),
  };
}
