// Connecting a Discord channel through one of its incoming webhooks: the user pastes the webhook URL
// (Channel settings → Integrations → Webhooks → Copy Webhook URL), `https://discord.com/api/webhooks/<id>/<token>`.
// Only the id and the token are taken from it, and only from a URL on discord.com or discordapp.com: the
// host the user typed is never contacted (AllIN calls its own DISCORD_API_URL), so the URL cannot point
// AllIN anywhere else. The token is checked with Get Webhook with Token, which answers the webhook's name,
// channel and server without needing any other credential
// (https://discord.com/developers/docs/resources/webhook#get-webhook-with-token). The token has no
// expiry and no refresh: "refresh" checks the webhook still exists.
import { ProviderError, type AccountRef, type ConnectedIdentity, type TokenSet } from '../types.ts';
import type { WebhookApi, WebhookRef } from './api.ts';
import { PROVIDER } from './errors.ts';

/** The hosts a webhook URL may name (Discord's two domains). */
export const WEBHOOK_HOSTS: readonly string[] = ['discord.com', 'discordapp.com'];

interface Webhook { id: string; type: number; guild_id?: string | null; channel_id: string | null; name: string | null; application_id?: string | null }

// The reason is the sentence itself: the accounts module shows it to the person connecting.
const refuse = (why: string) => new ProviderError('permanent', `Discord: ${why}`, { provider: PROVIDER, reason: why });

/**
 * The webhook a pasted URL names, or why it is not one. https only, on discord.com or discordapp.com, no
 * user, port or query, the path `/api[/v<n>]/webhooks/<snowflake id>/<token>`.
 */
export function parseWebhookUrl(input: string): WebhookRef {
  const s = input.trim();
  let u: URL;
  try { u = new URL(s); } catch { throw refuse('this is not a webhook URL; copy it from the channel\'s settings: Integrations → Webhooks → Copy Webhook URL'); }
  if (u.protocol !== 'https:') throw refuse('a webhook URL starts with https://');
  if (!WEBHOOK_HOSTS.includes(u.hostname.toLowerCase())) throw refuse(`a webhook URL is on ${WEBHOOK_HOSTS.join(' or ')}; this one is on ${u.hostname.slice(0, 80)}`);
  if (u.username || u.password || u.port) throw refuse('a webhook URL has no user name, password or port');
  if (u.search || u.hash) throw refuse('paste the webhook URL without anything after it (no ?… or #…)');
  const m = /^\/api(?:\/v\d{1,2})?\/webhooks\/(\d{15,21})\/([A-Za-z0-9_-]{20,200})\/?$/.exec(u.pathname);
  if (!m) throw refuse('this is not a webhook URL (it looks like https://discord.com/api/webhooks/<id>/<token>)');
  return { id: m[1]!, token: m[2]! };
}

/** Where a message of the webhook's channel is seen (the client's message link form; UNCONFIRMED in the API docs). */
export function messageUrl(guildId: unknown, channelId: string, messageId: string): string | undefined {
  return typeof guildId === 'string' && /^\d+$/.test(guildId) ? `https://discord.com/channels/${guildId}/${channelId}/${messageId}` : undefined;
}

export const refOf = (account: AccountRef): WebhookRef => ({ id: account.externalId, token: account.tokens.accessToken });

export function discordWebhooks(api: WebhookApi) {
  const check = (w: Webhook): Webhook => {
    // Only an incoming webhook (type 1) posts with its token; the others are Discord's own (channel
    // following, interactions).
    if (w.type !== 1) throw refuse('this webhook is not an incoming webhook; make one in the channel\'s settings (Integrations → Webhooks → New Webhook)');
    if (!w.channel_id) throw refuse('this webhook has no channel');
    return w;
  };
  return {
    async signIn(webhookUrl: string): Promise<{ tokens: TokenSet; identities: ConnectedIdentity[] }> {
      const ref = parseWebhookUrl(webhookUrl);
      const w = check(await api.get<Webhook>(ref));
      if (String(w.id) !== ref.id) throw refuse('Discord answered for another webhook than the URL names');
      const name = w.name?.trim() || `Webhook ${ref.id}`;
      return {
        tokens: { accessToken: ref.token },
        identities: [{
          externalId: ref.id, kind: 'page', username: name, displayName: name,
          ...(w.guild_id ? { profileUrl: `https://discord.com/channels/${w.guild_id}/${w.channel_id}` } : {}),
          data: { channelId: w.channel_id, ...(w.guild_id ? { guildId: w.guild_id } : {}) },
        }],
      };
    },

    /** The webhook still exists and its token still works (a 401 or Unknown Webhook makes the account need reconnecting). */
    async refresh(account: AccountRef): Promise<TokenSet> {
      check(await api.get<Webhook>(refOf(account)));
      return account.tokens;
    },
  };
}
