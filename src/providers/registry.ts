// Which networks this AllIN offers, and their adapters, built on first use (lazily: a network that is
// never used costs nothing, and nothing connects at start-up).
import type { Config } from '../config.ts';
import type { HttpClient } from '../infra/http/client.ts';
import { createSandbox } from './sandbox.ts';
import { createFacebook } from './facebook.ts';
import { createInstagram } from './instagram.ts';
import { createThreads } from './threads.ts';
import { createMastodon } from './mastodon.ts';
import { createBluesky } from './bluesky.ts';
import { createX } from './x.ts';
import { createLinkedIn } from './linkedin.ts';
import { createTelegram } from './telegram.ts';
import { createDiscord } from './discord.ts';
import { createNostr } from './nostr.ts';
import { createLemmy } from './lemmy.ts';
import { createSlack } from './slack.ts';
import { createReddit } from './reddit.ts';
import { createYouTube } from './youtube.ts';
import { createPinterest } from './pinterest.ts';
import { createTikTok } from './tiktok.ts';
import { createTumblr } from './tumblr.ts';
import type { LinkCardSource, Provider, ProviderDeps, ProviderId, ProviderSettings } from './types.ts';
import type { SendJournal } from './send-journal.ts';

export type Factory = (deps: ProviderDeps) => Provider;

/** Adapters by network. A network appears here when its adapter exists. */
export const FACTORIES: Partial<Record<ProviderId, Factory>> = {
  sandbox: createSandbox,
  facebook: createFacebook,
  instagram: createInstagram,
  threads: createThreads,
  mastodon: (deps) => createMastodon(deps),
  bluesky: createBluesky,
  x: createX,
  linkedin: createLinkedIn,
  telegram: createTelegram,
  discord: createDiscord,
  nostr: createNostr,
  lemmy: createLemmy,
  slack: createSlack,
  reddit: createReddit,
  youtube: createYouTube,
  pinterest: createPinterest,
  tiktok: createTikTok,
  tumblr: createTumblr,
};

export function providerSettings(config: Config, sandboxUrl: string | undefined): Partial<Record<ProviderId, ProviderSettings>> {
  const s: Partial<Record<ProviderId, ProviderSettings>> = {};
  const sandboxOn = config.SANDBOX === 'on' || (config.SANDBOX === 'auto' && config.NODE_ENV !== 'production');
  if (sandboxOn && sandboxUrl) s.sandbox = { clientId: 'allin', baseUrls: { api: `${sandboxUrl}/sandbox` } };
  if (config.X_CLIENT_ID) s.x = { clientId: config.X_CLIENT_ID, ...(config.X_CLIENT_SECRET ? { clientSecret: config.X_CLIENT_SECRET } : {}), baseUrls: { api: config.X_API_URL, auth: config.X_AUTH_URL } };
  if (config.LINKEDIN_CLIENT_ID) s.linkedin = { clientId: config.LINKEDIN_CLIENT_ID, ...(config.LINKEDIN_CLIENT_SECRET ? { clientSecret: config.LINKEDIN_CLIENT_SECRET } : {}), baseUrls: { api: config.LINKEDIN_API_URL, auth: config.LINKEDIN_AUTH_URL, version: config.LINKEDIN_VERSION } };
  if (config.FACEBOOK_APP_ID) s.facebook = { clientId: config.FACEBOOK_APP_ID, ...(config.FACEBOOK_APP_SECRET ? { clientSecret: config.FACEBOOK_APP_SECRET } : {}), baseUrls: { graph: config.FACEBOOK_GRAPH_URL, rupload: config.FACEBOOK_RUPLOAD_URL, auth: config.FACEBOOK_AUTH_URL, version: config.FACEBOOK_GRAPH_VERSION } };
  if (config.INSTAGRAM_APP_ID) s.instagram = { clientId: config.INSTAGRAM_APP_ID, ...(config.INSTAGRAM_APP_SECRET ? { clientSecret: config.INSTAGRAM_APP_SECRET } : {}), baseUrls: { auth: config.INSTAGRAM_AUTH_URL, api: config.INSTAGRAM_API_URL, graph: config.INSTAGRAM_GRAPH_URL } };
  if (config.THREADS_APP_ID) s.threads = { clientId: config.THREADS_APP_ID, ...(config.THREADS_APP_SECRET ? { clientSecret: config.THREADS_APP_SECRET } : {}), baseUrls: { auth: config.THREADS_AUTH_URL, graph: config.THREADS_GRAPH_URL } };
  if (config.SLACK_CLIENT_ID) s.slack = { clientId: config.SLACK_CLIENT_ID, ...(config.SLACK_CLIENT_SECRET ? { clientSecret: config.SLACK_CLIENT_SECRET } : {}), baseUrls: { api: config.SLACK_API_URL, auth: config.SLACK_AUTH_URL } };
  if (config.REDDIT_CLIENT_ID) s.reddit = { clientId: config.REDDIT_CLIENT_ID, ...(config.REDDIT_CLIENT_SECRET ? { clientSecret: config.REDDIT_CLIENT_SECRET } : {}), baseUrls: { api: config.REDDIT_API_URL, auth: config.REDDIT_AUTH_URL, ...(config.REDDIT_USER_AGENT ? { userAgent: config.REDDIT_USER_AGENT } : {}) } };
  if (config.YOUTUBE_CLIENT_ID) s.youtube = { clientId: config.YOUTUBE_CLIENT_ID, ...(config.YOUTUBE_CLIENT_SECRET ? { clientSecret: config.YOUTUBE_CLIENT_SECRET } : {}), baseUrls: { api: config.YOUTUBE_API_URL, auth: config.YOUTUBE_AUTH_URL, token: config.YOUTUBE_TOKEN_URL, ...(config.YOUTUBE_API_AUDITED === 'on' ? { audited: 'true' } : {}) } };
  if (config.PINTEREST_APP_ID) s.pinterest = { clientId: config.PINTEREST_APP_ID, ...(config.PINTEREST_APP_SECRET ? { clientSecret: config.PINTEREST_APP_SECRET } : {}), baseUrls: { api: config.PINTEREST_API_URL, auth: config.PINTEREST_AUTH_URL } };
  if (config.TIKTOK_CLIENT_KEY) s.tiktok = { clientId: config.TIKTOK_CLIENT_KEY, ...(config.TIKTOK_CLIENT_SECRET ? { clientSecret: config.TIKTOK_CLIENT_SECRET } : {}), baseUrls: { api: config.TIKTOK_API_URL, auth: config.TIKTOK_AUTH_URL, ...(config.TIKTOK_AUDITED === 'on' ? { audited: 'true' } : {}) } };
  if (config.TUMBLR_CLIENT_ID) s.tumblr = { clientId: config.TUMBLR_CLIENT_ID, ...(config.TUMBLR_CLIENT_SECRET ? { clientSecret: config.TUMBLR_CLIENT_SECRET } : {}), baseUrls: { api: config.TUMBLR_API_URL, auth: config.TUMBLR_AUTH_URL } };
  if (config.MASTODON === 'on') s.mastodon = { baseUrls: config.MASTODON_INSTANCE_URL ? { instance: config.MASTODON_INSTANCE_URL } : {} };
  if (config.BLUESKY === 'on') s.bluesky = { baseUrls: { service: config.BLUESKY_SERVICE_URL } };
  if (config.TELEGRAM === 'on') s.telegram = { baseUrls: { api: config.TELEGRAM_API_URL } };
  if (config.DISCORD === 'on') s.discord = { baseUrls: { api: config.DISCORD_API_URL } };
  if (config.LEMMY === 'on') s.lemmy = { baseUrls: config.LEMMY_INSTANCE_URL ? { instance: config.LEMMY_INSTANCE_URL } : {} };
  if (config.NOSTR === 'on') s.nostr = { baseUrls: {}, ...(config.ALLOW_PRIVATE_HOSTS ? { allowPlainSchemes: true } : {}) };
  return s;
}

export class ProviderRegistry {
  private readonly built = new Map<ProviderId, Provider>();

  /**
   * `factories` replaces the default factory of a network (the app passes Mastodon a database-backed app store);
   * `journal` is the send journal every adapter gets (the app passes the PostgreSQL one; see send-journal.ts);
   * `linkCards` fetches link cards for the adapters that build them.
   */
  constructor(
    private readonly http: HttpClient,
    private readonly settings: Partial<Record<ProviderId, ProviderSettings>>,
    private readonly factories: Partial<Record<ProviderId, Factory>> = {},
    private readonly journal?: SendJournal,
    private readonly linkCards?: LinkCardSource,
  ) {}

  /** Networks that are configured and have an adapter. */
  enabled(): ProviderId[] {
    return (Object.keys(this.settings) as ProviderId[]).filter((id) => this.factories[id] ?? FACTORIES[id]);
  }

  isEnabled(id: string): id is ProviderId {
    return this.enabled().includes(id as ProviderId);
  }

  get(id: ProviderId): Provider {
    let p = this.built.get(id);
    if (!p) {
      const factory = this.factories[id] ?? FACTORIES[id];
      const settings = this.settings[id];
      if (!factory || !settings) throw new Error(`the network "${id}" is not enabled on this AllIN`);
      p = factory({ http: this.http, settings, ...(this.journal ? { journal: this.journal } : {}), ...(this.linkCards ? { linkCards: this.linkCards } : {}) });
      this.built.set(id, p);
    }
    return p;
  }
}
