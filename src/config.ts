// Every environment variable AllIN reads is declared here, once: name, type, default, description.
// The schema validates the environment at start, types `Config`, and generates `.env.example` and the
// README's configuration table (see config-docs.ts; a test fails when they drift).
import { Type, type Static, type TSchema } from 'typebox';
import { join } from 'node:path';
import { Value } from 'typebox/value';
import ipaddr from 'ipaddr.js';
import type { EncryptionKey } from './infra/crypto/token-cipher.ts';

interface Meta {
  description: string;
  /** Never printed; required (and checked for strength) in production. */
  secret?: boolean;
  /** Shown in .env.example instead of the default (e.g. a URL shape). */
  example?: string;
}

const str = (meta: Meta, dflt?: string) =>
  dflt === undefined ? Type.Optional(Type.String({ minLength: 1, ...meta })) : Type.String({ default: dflt, ...meta });
const int = (meta: Meta, dflt: number, min = 0, max = 2 ** 31 - 1) =>
  Type.Integer({ default: dflt, minimum: min, maximum: max, ...meta });
const num = (meta: Meta, dflt: number, min: number, max: number) => Type.Number({ default: dflt, minimum: min, maximum: max, ...meta });
const bool = (meta: Meta, dflt: boolean) => Type.Boolean({ default: dflt, ...meta });
const oneOf = <const T extends string[]>(values: [...T], meta: Meta, dflt: T[number]) =>
  Type.Enum(values, { default: dflt, ...meta });

export const ConfigSchema = Type.Object({
  NODE_ENV: oneOf(['development', 'production', 'test'], {
    description: 'Run mode. `production` requires real secrets and hides internal error details.',
  }, 'development'),
  HOST: str({ description: 'Interface the HTTP server binds to. Use 0.0.0.0 in containers.' }, '127.0.0.1'),
  PORT: int({ description: 'HTTP port of the API (and of `npm start`).' }, 7000, 0, 65535),
  PUBLIC_URL: str({
    description: 'Address users reach AllIN at; used in links and OAuth redirects. Defaults to http://localhost:PORT.',
    example: 'https://allin.example.com',
  }),
  ALLIN_HOME: str({
    description: 'Folder for local state: generated development secrets, the embedded PostgreSQL data, runtime info.',
  }, '.allin'),
  DATABASE_URL: str({
    description: 'PostgreSQL connection URL. Unset: `npm start` runs an embedded PostgreSQL in ALLIN_HOME/postgres.',
    example: 'postgres://allin:password@127.0.0.1:5432/allin',
  }),
  DATABASE_POOL_MAX: int({ description: 'Connections in the API/worker database pool.' }, 10, 1, 500),
  REDIS_URL: str({
    description: 'Redis connection URL. Unset: in-memory stores (only for the single-process `npm start`).',
    example: 'redis://127.0.0.1:6379',
  }),
  REDIS_KEY_PREFIX: str({ description: 'Prefix of every Redis key AllIN writes, so several deployments can share a Redis.' }, 'allin:'),
  AUTH_SECRET: str({
    description: 'Secret from which the token signing keys are derived; at least 32 characters. Required in production.',
    secret: true,
  }),
  ENCRYPTION_KEYS: str({
    description: 'Keys for provider tokens at rest: comma-separated `id:base64key` (32-byte keys), current first, old ones after. Required in production.',
    secret: true,
  }),
  ACCESS_TOKEN_TTL_SECONDS: int({ description: 'Lifetime of an access token (JWT), in seconds; at most 15 minutes.' }, 900, 30, 900),
  SESSION_TTL_DAYS: int({ description: 'Lifetime of a login session, in days.' }, 7, 1, 365),
  SESSION_REMEMBER_TTL_DAYS: int({ description: 'Lifetime of a session started with rememberMe, in days.' }, 30, 1, 365),
  REFRESH_GRACE_SECONDS: int({ description: 'Window in which re-presenting the previous refresh token (parallel tabs) returns the current one instead of revoking the session.' }, 30, 0, 300),
  HASH_CONCURRENCY: int({ description: 'Password hashes computed at once (0: one per CPU core).' }, 0, 0, 256),
  HASH_MAX_WAIT_MS: int({ description: 'Most work the password-hashing queue takes on, as the expected wait of a new sign-in or sign-up in milliseconds: hashes queued ahead × measured time per hash ÷ HASH_CONCURRENCY (one account\'s attempts first wait in a line of their own: at most four of them queue for hashing at once, and past 1,000 waiting they are refused too). Past it the request is answered 503 at once, with a Retry-After saying when the queue should have room. 0: never queue.' }, 20_000, 0, 120_000),
  MAIL_URL: str({
    description: 'SMTP server for outgoing mail (smtp:// or smtps://). Unset: mails are kept in the outbox table and logged; read them with `allin mail`.',
    example: 'smtps://user:password@smtp.example.com:465',
    secret: true,
  }),
  MAIL_FROM: str({ description: 'Sender address of outgoing mail.' }, 'AllIN <no-reply@localhost>'),
  LIMIT_LOGIN_FAILURES_ACCOUNT_IP: str({ description: 'Failed logins allowed for one account from one IP: `count/seconds`.' }, '10/900'),
  LIMIT_LOGIN_FAILURES_IP: str({ description: 'Failed logins allowed from one IP, any account: `count/seconds`.' }, '100/3600'),
  LIMIT_LOGIN_FAILURES_ACCOUNT: str({ description: 'Failed logins allowed on one account, any IP (ASVS: at most 100 an hour): `count/seconds`.' }, '100/3600'),
  LIMIT_REGISTER_IP: str({ description: 'Registrations allowed from one IP: `count/seconds`.' }, '10/3600'),
  LIMIT_PASSWORD_RESET_IP: str({ description: 'Password-reset and verification mails requested from one IP: `count/seconds`.' }, '5/900'),
  LIMIT_API_USER: str({ description: 'API requests allowed per signed-in user: `count/seconds`.' }, '1200/60'),
  LIMIT_API_KEY: str({ description: 'API requests allowed per API key: `count/seconds`.' }, '600/60'),
  LIMIT_API_IP: str({ description: 'Anonymous API requests allowed per IP (sign-in routes have their own limits): `count/seconds`.' }, '300/60'),
  LIMIT_INVITATIONS_WORKSPACE: str({ description: 'Invitation mails one workspace may send (re-inviting an address counts again): `count/seconds`.' }, '50/86400'),
  LIMIT_INVITATIONS_USER: str({ description: 'Invitation mails one user (or API key) may send, over all their workspaces: `count/seconds`.' }, '100/86400'),
  ALLOW_PRIVATE_HOSTS: bool({ description: 'Development only: let user-supplied hosts (a Mastodon instance, a webhook) be private or loopback addresses. Never in production.' }, false),
  SSO_ALLOW_PRIVATE_ISSUERS: bool({ description: 'Let workspaces use an OpenID Connect identity provider on a private or loopback address (an identity provider inside the company network). Off: such issuers are refused, like any user-supplied host. Allowed in production: it is the operator\'s explicit choice for identity providers only.' }, false),
  AI_ALLOW_PRIVATE_HOSTS: bool({ description: 'Let workspace admins point the writing assistant at a model server on a private or loopback address (a local Ollama, vLLM, LM Studio or llama.cpp server). Off: such base URLs are refused, like any user-supplied host. Allowed in production: it is the operator\'s explicit choice for AI providers only.' }, false),
  AI_TIMEOUT_MS: int({ description: 'Total deadline of one call to a model provider (the whole streamed answer), in milliseconds.' }, 120_000, 1000, 600_000),
  AI_MAX_RESPONSE_BYTES: int({ description: 'Largest answer AllIN reads from a model provider, in bytes (streamed or not); a larger one fails the request.' }, 2 * 1024 * 1024, 1024, 64 * 1024 * 1024),
  AI_MAX_OUTPUT_TOKENS: int({ description: 'Most tokens a model may write for one suggestion (max_tokens of each call).' }, 1024, 16, 32_768),
  AI_DEFAULT_MONTHLY_TOKEN_BUDGET: int({ description: 'Tokens (input and output) a workspace may use per UTC month when its admins turn the assistant on without choosing a budget.' }, 1_000_000, 0, 1_000_000_000),
  AI_MAX_RETRY_AFTER_SECONDS: int({ description: 'A model provider\'s 429 or 503 whose Retry-After is at most this is waited out and tried again (twice at most); a longer one is answered to the person at once with its Retry-After.' }, 10, 0, 120),
  WEBHOOK_MAX_ATTEMPTS: int({ description: 'Tries of one webhook delivery (the first included) before it is marked failed.' }, 8, 1, 20),
  WEBHOOK_TIMEOUT_MS: int({ description: 'How long a webhook receiver has to answer one delivery, in milliseconds.' }, 10_000, 100, 60_000),
  WEBHOOK_RETRY_BASE_MS: int({ description: 'Wait before the first retry of a failed webhook delivery, in milliseconds; later retries wait 6, 30, 180, 720, 2160 and 4320 times as long (10 s, 1 min, 5 min, 30 min, 2 h, 6 h, 12 h by default), with jitter.' }, 10_000, 10, 3_600_000),
  SANDBOX: oneOf(['auto', 'on', 'off'], { description: 'The Sandbox practice network. `auto`: on except in production. With no SIMULATOR_URL, AllIN runs the network simulator in-process.' }, 'auto'),
  SIMULATOR_URL: str({ description: 'A running network simulator (`allin sim`); the Sandbox network uses it instead of an in-process one.', example: 'http://127.0.0.1:7070' }),
  X_CLIENT_ID: str({ description: 'X (Twitter) OAuth 2.0 client id; X is offered when it is set.' }),
  X_CLIENT_SECRET: str({ description: 'X OAuth 2.0 client secret (confidential clients).', secret: true }),
  X_API_URL: str({ description: 'X API base URL.' }, 'https://api.x.com'),
  X_AUTH_URL: str({ description: 'X authorization base URL.' }, 'https://x.com'),
  LINKEDIN_CLIENT_ID: str({ description: 'LinkedIn OAuth client id; LinkedIn is offered when it is set.' }),
  LINKEDIN_CLIENT_SECRET: str({ description: 'LinkedIn OAuth client secret.', secret: true }),
  LINKEDIN_API_URL: str({ description: 'LinkedIn API base URL.' }, 'https://api.linkedin.com'),
  LINKEDIN_AUTH_URL: str({ description: 'LinkedIn authorization base URL.' }, 'https://www.linkedin.com'),
  LINKEDIN_VERSION: str({ description: 'LinkedIn-Version header (YYYYMM) of the versioned API.' }, '202605'),
  FACEBOOK_APP_ID: str({ description: 'Meta app id for Facebook Pages; Facebook is offered when it is set.' }),
  FACEBOOK_APP_SECRET: str({ description: 'Meta app secret for Facebook Pages.', secret: true }),
  FACEBOOK_GRAPH_URL: str({ description: 'Facebook Graph API base URL.' }, 'https://graph.facebook.com'),
  FACEBOOK_RUPLOAD_URL: str({ description: 'Facebook video upload host (Reels bytes go there).' }, 'https://rupload.facebook.com'),
  FACEBOOK_AUTH_URL: str({ description: 'Facebook Login dialog base URL.' }, 'https://www.facebook.com'),
  FACEBOOK_GRAPH_VERSION: str({ description: 'Graph API version.' }, 'v26.0'),
  FACEBOOK_WEBHOOK_VERIFY_TOKEN: str({
    description: 'The Verify Token typed in the Meta app\'s Webhooks settings for the Page object; with FACEBOOK_APP_SECRET (which signs the notifications) it turns on the callback `PUBLIC_URL/api/hooks/meta/facebook`, where Meta pushes Page comments (docs/INBOX.md).',
    secret: true,
  }),
  INSTAGRAM_APP_ID: str({ description: 'Instagram app id (Instagram Login); Instagram is offered when it is set.' }),
  INSTAGRAM_APP_SECRET: str({ description: 'Instagram app secret.', secret: true }),
  INSTAGRAM_WEBHOOK_VERIFY_TOKEN: str({
    description: 'The Verify Token typed in the Meta app\'s Instagram webhooks settings; with INSTAGRAM_APP_SECRET (which signs the notifications) it turns on the callback `PUBLIC_URL/api/hooks/meta/instagram`, where Meta pushes new comments and @mentions (docs/INBOX.md).',
    secret: true,
  }),
  INSTAGRAM_AUTH_URL: str({ description: 'Instagram authorization base URL.' }, 'https://www.instagram.com'),
  INSTAGRAM_API_URL: str({ description: 'Instagram token endpoint base URL.' }, 'https://api.instagram.com'),
  INSTAGRAM_GRAPH_URL: str({ description: 'Instagram Graph API base URL.' }, 'https://graph.instagram.com'),
  THREADS_APP_ID: str({ description: 'Threads app id; Threads is offered when it is set.' }),
  THREADS_APP_SECRET: str({ description: 'Threads app secret.', secret: true }),
  THREADS_WEBHOOK_VERIFY_TOKEN: str({
    description: 'The Verify Token typed in the Meta app\'s Threads webhooks settings; with THREADS_APP_SECRET (which signs the notifications) it turns on the callback `PUBLIC_URL/api/hooks/meta/threads`, where Meta pushes replies and mentions (docs/INBOX.md).',
    secret: true,
  }),
  THREADS_AUTH_URL: str({ description: 'Threads authorization base URL.' }, 'https://threads.net'),
  THREADS_GRAPH_URL: str({ description: 'Threads Graph API base URL.' }, 'https://graph.threads.net'),
  MASTODON: oneOf(['on', 'off'], { description: 'Offer Mastodon (any instance; AllIN registers itself with each instance on first use).' }, 'on'),
  MASTODON_INSTANCE_URL: str({ description: 'Development only: how to reach a Mastodon instance, with {host} for the host the user typed (default https://{host}); `http://{host}/mastodon` reaches the network simulator\'s instances. Never in production.', example: 'http://{host}/mastodon' }),
  BLUESKY: oneOf(['on', 'off'], { description: 'Offer Bluesky (handle and app password).' }, 'on'),
  BLUESKY_SERVICE_URL: str({ description: 'Default Bluesky PDS/entryway for handles that do not name their own.' }, 'https://bsky.social'),
  SLACK_CLIENT_ID: str({ description: 'Slack app client id; Slack is offered when it is set (with SLACK_CLIENT_SECRET).' }),
  SLACK_CLIENT_SECRET: str({ description: 'Slack app client secret.', secret: true }),
  SLACK_API_URL: str({ description: 'Slack Web API base URL.' }, 'https://slack.com/api'),
  SLACK_AUTH_URL: str({ description: 'Slack authorization base URL (where /oauth/v2/authorize is).' }, 'https://slack.com'),
  REDDIT_CLIENT_ID: str({ description: 'Reddit app client id (a "web app" at https://www.reddit.com/prefs/apps); Reddit is offered when it is set (with REDDIT_CLIENT_SECRET).' }),
  REDDIT_CLIENT_SECRET: str({ description: 'Reddit app client secret.', secret: true }),
  REDDIT_USER_AGENT: str({ description: 'User-Agent sent to Reddit, in Reddit\'s form <platform>:<app id>:<version> (by /u/<your username>); default web:<client id>:1.0 (AllIN).', example: 'web:allin-acme:1.0 (by /u/acme_admin)' }),
  REDDIT_API_URL: str({ description: 'Reddit OAuth API base URL.' }, 'https://oauth.reddit.com'),
  REDDIT_AUTH_URL: str({ description: 'Reddit authorization base URL (where /api/v1/authorize and /api/v1/access_token are).' }, 'https://www.reddit.com'),
  YOUTUBE_CLIENT_ID: str({ description: 'Google OAuth client id (a "Web application" client of a Google Cloud project with the YouTube Data API v3 enabled); YouTube is offered when it is set (with YOUTUBE_CLIENT_SECRET).' }),
  YOUTUBE_CLIENT_SECRET: str({ description: 'Google OAuth client secret.', secret: true }),
  YOUTUBE_API_AUDITED: oneOf(['on', 'off'], { description: 'The Google project has passed YouTube\'s API audit. Until then YouTube locks every video it uploads as private, so AllIN sends private uploads only and refuses public and unlisted ones with this explanation.' }, 'off'),
  YOUTUBE_DAILY_UPLOADS: int({ description: 'Videos this AllIN uploads to YouTube a day, across all channels: the Google project\'s videos.insert quota (100 a day by default; raise it with a quota extension). Past it, posts wait instead of spending quota YouTube would refuse.' }, 100, 1, 100_000),
  YOUTUBE_API_URL: str({ description: 'YouTube Data API base URL (where /youtube/v3 and /upload/youtube/v3 are).' }, 'https://www.googleapis.com'),
  YOUTUBE_AUTH_URL: str({ description: 'Google authorization base URL (where /o/oauth2/v2/auth is).' }, 'https://accounts.google.com'),
  YOUTUBE_TOKEN_URL: str({ description: 'Google OAuth token base URL (where /token and /revoke are).' }, 'https://oauth2.googleapis.com'),
  PINTEREST_APP_ID: str({ description: 'Pinterest app id (developers.pinterest.com, My apps); Pinterest is offered when it is set (with PINTEREST_APP_SECRET).' }),
  PINTEREST_APP_SECRET: str({ description: 'Pinterest app secret key.', secret: true }),
  PINTEREST_API_URL: str({ description: 'Pinterest API base URL (where /v5 is, the token endpoint included).' }, 'https://api.pinterest.com'),
  PINTEREST_AUTH_URL: str({ description: 'Pinterest authorization base URL (where /oauth/ is).' }, 'https://www.pinterest.com'),
  TIKTOK_CLIENT_KEY: str({ description: 'TikTok app client key (developers.tiktok.com, Manage apps); TikTok is offered when it is set (with TIKTOK_CLIENT_SECRET).' }),
  TIKTOK_CLIENT_SECRET: str({ description: 'TikTok app client secret.', secret: true }),
  TIKTOK_API_URL: str({ description: 'TikTok API base URL (where /v2 is, the token endpoint included).' }, 'https://open.tiktokapis.com'),
  TIKTOK_AUTH_URL: str({ description: 'TikTok authorization base URL (where /v2/auth/authorize/ is).' }, 'https://www.tiktok.com'),
  TIKTOK_AUDITED: oneOf(['on', 'off'], { description: 'The TikTok app has passed TikTok\'s Content Posting API audit. Until then TikTok lets it post only as SELF_ONLY (private), so AllIN refuses other privacy levels with this explanation.' }, 'off'),
  TUMBLR_CLIENT_ID: str({ description: 'Tumblr OAuth consumer key (www.tumblr.com/oauth/apps, with an OAuth2 redirect URL); Tumblr is offered when it is set (with TUMBLR_CLIENT_SECRET).' }),
  TUMBLR_CLIENT_SECRET: str({ description: 'Tumblr OAuth consumer secret.', secret: true }),
  TUMBLR_API_URL: str({ description: 'Tumblr API base URL (where /v2 is, the token endpoint included).' }, 'https://api.tumblr.com'),
  TUMBLR_AUTH_URL: str({ description: 'Tumblr authorization base URL (where /oauth2/authorize is).' }, 'https://www.tumblr.com'),
  TELEGRAM: oneOf(['on', 'off'], { description: 'Offer Telegram (a channel or group, posted to by a bot the user makes with @BotFather).' }, 'on'),
  TELEGRAM_API_URL: str({ description: 'Telegram Bot API base URL (a self-hosted Bot API server may be named here).' }, 'https://api.telegram.org'),
  DISCORD: oneOf(['on', 'off'], { description: 'Offer Discord (a channel, posted to through a webhook URL the user pastes).' }, 'on'),
  DISCORD_API_URL: str({ description: 'Discord API base URL that webhook calls go to (whatever host a pasted webhook URL names, only its id and token are used).' }, 'https://discord.com/api/v10'),
  NOSTR: oneOf(['on', 'off'], { description: 'Offer Nostr (notes signed with the user\'s key, sent to the relays the user names).' }, 'on'),
  LEMMY: oneOf(['on', 'off'], { description: 'Offer Lemmy (any instance; the user signs in with the instance, username and password once, and AllIN keeps the login token).' }, 'on'),
  LEMMY_INSTANCE_URL: str({ description: 'Development only: how to reach a Lemmy instance, with {host} for the host the user typed (default https://{host}); `http://{host}/lemmy` reaches the network simulator\'s instance. Never in production.', example: 'http://{host}/lemmy' }),
  METRICS_ENABLED: bool({ description: 'Record and serve Prometheus metrics at /metrics.' }, true),
  METRICS_TOKEN: str({ description: 'When set, /metrics requires `Authorization: Bearer <token>`.', secret: true }),
  LOG_LEVEL: oneOf(['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'], {
    description: 'Lowest log level written.',
  }, 'info'),
  LOG_FORMAT: oneOf(['auto', 'json', 'pretty'], {
    description: '`auto`: readable on a terminal, JSON otherwise.',
  }, 'auto'),
  ACCESS_LOG: bool({ description: 'Log every request at info level (an access log). Off: only refused and failed requests are logged.' }, false),
  TRUST_PROXY: str({ description: 'Proxies in front of AllIN whose X-Forwarded-For/-Proto/-Host are believed: how many (`1` for one load balancer or ingress, only when clients cannot reach AllIN around it), or their addresses and CIDRs, comma-separated (`10.0.0.0/8,127.0.0.1`; also `loopback`, `uniquelocal`). `false`: none, the peer\'s address is the client\'s. `true` is refused: it would let any client choose its own address.' }, 'false'),
  HTTP_HEADERS_TIMEOUT_MS: int({ description: 'Time a client has to send a request\'s headers, in milliseconds; a slower one is answered 408 and disconnected.' }, 10_000, 100, 600_000),
  HTTP_REQUEST_TIMEOUT_MS: int({ description: 'Time a client has to send a whole request, body included, in milliseconds (a proxy in front normally buffers uploads, so this is its speed, not the user\'s).' }, 120_000, 100, 3_600_000),
  HTTP_IDLE_TIMEOUT_MS: int({ description: 'A connection on which nothing moves for this long while a request is in progress (a client that stops sending or never reads its answer) is closed, in milliseconds.' }, 60_000, 100, 3_600_000),
  HTTP_KEEP_ALIVE_TIMEOUT_MS: int({ description: 'How long an idle kept-alive connection stays open between requests, in milliseconds; keep it longer than the idle timeout of the proxy in front (60 s for nginx and most load balancers).' }, 72_000, 100, 3_600_000),
  BODY_LIMIT_BYTES: int({ description: 'Largest accepted JSON request body, in bytes.' }, 1_048_576, 1024),
  MEDIA_DIR: str({ description: 'Folder where uploaded media files are stored. Defaults to ALLIN_HOME/media.', example: '/var/lib/allin/media' }),
  MEDIA_MAX_IMAGE_BYTES: int({ description: 'Largest accepted image upload (JPEG, PNG, GIF, WebP), in bytes.' }, 20 * 1024 * 1024, 1024),
  MEDIA_MAX_VIDEO_BYTES: int({ description: 'Largest accepted video upload (MP4, QuickTime), in bytes.' }, 512 * 1024 * 1024, 1024),
  MEDIA_WORKSPACE_QUOTA_BYTES: int({ description: 'Media one workspace may store, in bytes (the sum of its uploads); an upload past it is refused with 413. 0: no quota.' }, 5 * 1024 ** 3, 0, Number.MAX_SAFE_INTEGER),
  MEDIA_DISK_RESERVE_BYTES: int({ description: 'Free space kept on the disk of MEDIA_DIR, in bytes: an upload that would leave less is refused with 507, so the database and logs beside it do not run out.' }, 1024 ** 3, 0, Number.MAX_SAFE_INTEGER),
  MEDIA_INCOMPLETE_TTL_HOURS: int({ description: 'What uploads that never finished (a crash mid-write) left in MEDIA_DIR is removed by the hourly cleanup job once this many hours old. Finished uploads stay in the library until deleted.' }, 24, 1, 24 * 365),
  SHED_EVENT_LOOP_DELAY_MS: int({ description: 'Mean event-loop delay (over half a second, in two samples in a row) past which API requests are answered 503 with Retry-After at once, so the process sheds load instead of falling over; /health, /api/health and /metrics still answer. 0: never.' }, 1000, 0, 60_000),
  SHED_HEAP_USED_RATIO: num({ description: 'Share of the V8 heap limit in use past which API requests are answered 503 with Retry-After. 0: never.' }, 0.9, 0, 1),
  SHED_RETRY_AFTER_SECONDS: int({ description: 'Retry-After of a request shed under load, in seconds.' }, 5, 1, 3600),
  READINESS_CACHE_MS: int({ description: 'How long a readiness result (/api/health) is reused, in milliseconds.' }, 2000, 0),
  STARTUP_MAX_ATTEMPTS: int({ description: 'Attempts to reach each dependency at start before giving up.' }, 10, 1, 1000),
  STARTUP_RETRY_MAX_DELAY_MS: int({ description: 'Longest wait between two start-up attempts, in milliseconds.' }, 5000, 10),
  SHUTDOWN_TIMEOUT_MS: int({ description: 'Time allowed for in-flight requests and running jobs at shutdown.' }, 10_000, 0),
  WORKER_CONCURRENCY: int({ description: 'Jobs one worker process runs at once.' }, 5, 1, 1000),
  WORKER_LOCAL_QUEUE_SIZE: int({ description: 'Jobs a worker process fetches and locks per database round trip (graphile-worker localQueue); 0: one at a time. Fewer fetches in a burst (bench/README.md); what a killed worker had fetched goes back to the queue at the next sweep (PUBLISH_SWEEP_INTERVAL_MS) of any other worker.' }, 0, 0, 1000),
  WORKER_COMPLETE_BATCH_MS: int({ description: 'Job completions gathered for this many milliseconds into one statement (graphile-worker completeJobBatchDelay); -1: each on its own.' }, -1, -1, 5000),
  WORKER_POLL_INTERVAL_MS: int({ description: 'How often the worker looks for jobs scheduled in the future.' }, 1000, 50),
  WORKER_PORT: int({ description: '`allin worker` serves /health, /api/health and /metrics on this port (0: none).' }, 7001, 0, 65535),
  HEARTBEAT_INTERVAL_SECONDS: int({ description: 'Interval of the job runner heartbeat that feeds readiness.' }, 10, 1, 3600),
  SOCIAL_API_TIMEOUT_MS: int({ description: 'Total deadline of one call to a social network (a Mastodon instance, a Bluesky PDS, an API), headers and body together, in milliseconds: a host that answers a byte at a time is cut off. Webhook deliveries have WEBHOOK_TIMEOUT_MS. A publish that times out after it was sent is reconciled with the network before any retry.' }, 30_000, 100, 600_000),
  SOCIAL_API_MEDIA_TIMEOUT_MS: int({ description: 'Total deadline of one media upload to a social network, in milliseconds (uploads carry up to MEDIA_MAX_VIDEO_BYTES). Keep it under PUBLISH_ATTEMPT_MAX_SECONDS.' }, 600_000, 100, 3_600_000),
  OUTBOUND_MAX_RESPONSE_BYTES: int({ description: 'Largest answer body AllIN reads from a social network, in bytes; a larger one fails the call (a publish whose answer is refused is reconciled). Webhook receivers and link previews keep only the first bytes of theirs.' }, 8 * 1024 * 1024, 1024, 1024 ** 3),
  OUTBOUND_MAX_HEADER_BYTES: int({ description: 'Largest block of answer headers AllIN reads from any outbound call (networks, webhooks, link previews), in bytes.' }, 32 * 1024, 1024, 1024 * 1024),
  PUBLISH_LEASE_SECONDS: int({ description: 'How long a worker holds a target while publishing it (extended while it works); past it, the sweeper hands the target to another worker, which first asks the network what happened.' }, 300, 1, 86_400),
  PUBLISH_ATTEMPT_MAX_SECONDS: int({ description: 'Hard ceiling of one publish attempt, in seconds: past it the worker stops extending its lease and ends the attempt\'s network calls, and the target is reconciled with the network (a thread resumes after its last published part).' }, 900, 1, 86_400),
  PUBLISH_SWEEP_INTERVAL_MS: int({ description: 'How often each worker looks for work a dead worker left: targets whose publishing lease ran out, and the jobs and named queues of job runners whose processes are gone.' }, 30_000, 100, 3_600_000),
  PUBLISH_MAX_ATTEMPTS: int({ description: 'Tries of one target (429, 5xx, timeouts) before it is marked failed.' }, 8, 1, 100),
  PUBLISH_BACKOFF_BASE_MS: int({ description: 'Wait before the second try of a target, in milliseconds; it doubles with each try (with jitter, never sooner than the network\'s Retry-After).' }, 30_000, 10, 3_600_000),
  PUBLISH_BACKOFF_MAX_MS: int({ description: 'Longest wait between two tries of a target, in milliseconds.' }, 3_600_000, 10, 86_400_000),
  PUBLISH_CONCURRENCY_PER_NETWORK: int({ description: 'Targets one worker process publishes at once on one network.' }, 16, 1, 1000),
  PUBLISH_CONCURRENCY_PER_ACCOUNT: int({ description: 'Targets one worker process publishes at once as one account.' }, 2, 1, 100),
  FEED_MAX_BYTES: int({ description: 'Largest feed document (RSS, Atom, JSON Feed) AllIN reads, in bytes; a larger feed is not read and says so on its screen (docs/FEEDS.md).' }, 5 * 1024 * 1024, 1024, 100 * 1024 * 1024),
  FEED_TIMEOUT_MS: int({ description: 'Total deadline of one feed fetch (every redirect hop has its own), in milliseconds.' }, 15_000, 100, 600_000),
  INBOX_POLL_INTERVAL_SECONDS: int({ description: 'How often the inbox polls each source of each account once it has caught up (docs/INBOX.md). Comments arrive at most this long (and a few seconds) after they were made.' }, 60, 1, 86_400),
  INBOX_PAGES_PER_RUN: int({ description: 'Pages one inbox collection run reads at most; with more waiting, the next run follows at once, after other accounts had their turn.' }, 10, 1, 1000),
  INBOX_BACKOFF_MAX_SECONDS: int({ description: 'Longest wait before polling a source again after failures in a row (429, network errors); a Retry-After is honoured up to a day.' }, 3600, 1, 86_400),
  INBOX_SCHEDULE_INTERVAL_MS: int({ description: 'How often each worker makes sure every account\'s inbox collection has its cursor and its job (new accounts start within this).' }, 15_000, 100, 3_600_000),
  INBOX_STREAMS_MAX: int({ description: 'Inbox live-update streams (Server-Sent Events, one per open Inbox screen) one API process keeps open at once; past it a new one is answered 503 with Retry-After. Each caller (a person or an API key) may hold at most 10 of them per process (429 past that).' }, 1000, 1, 100_000),
  INBOX_STREAM_HEARTBEAT_SECONDS: int({ description: 'Seconds between the comments an open inbox stream sends while nothing happens, so proxies keep it open (keep it under their idle timeout, and under HTTP_IDLE_TIMEOUT_MS); the caller\'s session and membership are checked again at each.' }, 20, 1, 300),
});

export type Config = Static<typeof ConfigSchema> & { PUBLIC_URL: string; MEDIA_DIR: string };
export type ConfigKey = keyof Static<typeof ConfigSchema>;

export interface ConfigEntry {
  name: ConfigKey;
  type: string;
  default: unknown;
  description: string;
  secret: boolean;
  example: string | undefined;
}

/** The schema as a flat list, for documentation. */
export function configEntries(): ConfigEntry[] {
  return Object.entries(ConfigSchema.properties).map(([name, raw]) => {
    const s = raw as unknown as TSchema & Meta & { default?: unknown; type?: string; enum?: string[] };
    const type = s.enum ? s.enum.join(' \\| ') : (s.type ?? 'string');
    return {
      name: name as ConfigKey,
      type,
      default: s.default,
      description: s.description,
      secret: s.secret === true,
      example: s.example,
    };
  });
}

export class ConfigError extends Error {
  constructor(readonly problems: string[]) {
    super(`Invalid configuration:\n${problems.map((p) => `  - ${p}`).join('\n')}`);
    this.name = 'ConfigError';
  }
}

// Values people paste from tutorials and examples. Refused in production whatever their length.
const WEAK_SECRETS = new Set(
  ['secret', 'changeme', 'change-me', 'password', 'your-secret-key', 'supersecret', 'development', 'test', 'allin', 'default',
    'replace-me', 'replace-with-a-long-random-value']
    .map((s) => s.toLowerCase()),
);

export function isWeakSecret(value: string): boolean {
  const v = value.trim().toLowerCase();
  if (WEAK_SECRETS.has(v)) return true;
  for (const w of WEAK_SECRETS) if (v.includes(w) && v.length < w.length + 16) return true;
  return new Set(value).size < 10;
}

const MIN_SECRET_LENGTH = 32;

/** Which peers' X-Forwarded-* headers are believed: none, the nearest `hops` peers, or peers at these addresses. */
export type TrustProxy = false | { hops: number } | { addresses: string[] };

// The names proxy-addr (Fastify's) understands besides addresses.
const PROXY_ADDRESS_NAMES = new Set(['loopback', 'linklocal', 'uniquelocal']);

function isAddressOrRange(entry: string): boolean {
  if (PROXY_ADDRESS_NAMES.has(entry) || ipaddr.isValid(entry)) return true;
  try {
    ipaddr.parseCIDR(entry);
    return true;
  } catch {
    return false;
  }
}

/**
 * TRUST_PROXY: `false` (or `0`), a hop count, or a comma-separated list of proxy addresses and CIDRs.
 * `true` is refused: behind a proxy that appends to X-Forwarded-For, trusting every hop lets a client
 * write its own address at the front of the header and have it taken as the client's.
 */
export function parseTrustProxy(raw: string): { value: TrustProxy; problem?: string } {
  const v = raw.trim().toLowerCase();
  if (v === '' || v === 'false' || v === '0') return { value: false };
  if (v === 'true') {
    return { value: false, problem: 'true would trust X-Forwarded-For from anyone, so a client could choose its own address; give the number of proxies in front of AllIN (e.g. 1) or their addresses (e.g. 10.0.0.0/8,127.0.0.1)' };
  }
  if (/^\d+$/.test(v)) {
    const hops = Number(v);
    return hops <= 16 ? { value: { hops } } : { value: false, problem: 'a hop count must be at most 16' };
  }
  const entries = v.split(',').map((e) => e.trim()).filter(Boolean);
  const bad = entries.filter((e) => !isAddressOrRange(e));
  if (bad.length > 0 || entries.length === 0) {
    return { value: false, problem: `"${bad[0] ?? raw}" is neither a hop count nor an IP address or CIDR (e.g. 1, or 10.0.0.0/8,127.0.0.1)` };
  }
  return { value: { addresses: entries } };
}

/** Parses ENCRYPTION_KEYS (`id:base64,id2:base64`); the first key is the current one. */
export function parseEncryptionKeys(raw: string): { keys: EncryptionKey[]; problems: string[] } {
  const problems: string[] = [];
  const keys: EncryptionKey[] = [];
  const seen = new Set<string>();
  for (const [i, part] of raw.split(',').map((p) => p.trim()).filter(Boolean).entries()) {
    const sep = part.indexOf(':');
    if (sep <= 0) {
      problems.push(`ENCRYPTION_KEYS: entry ${i + 1} must look like id:base64key`);
      continue;
    }
    const id = part.slice(0, sep);
    const key = Buffer.from(part.slice(sep + 1), 'base64');
    if (!/^[A-Za-z0-9_-]{1,32}$/.test(id)) problems.push(`ENCRYPTION_KEYS: key id "${id}" must be 1-32 letters, digits, _ or -`);
    if (key.length !== 32) problems.push(`ENCRYPTION_KEYS: key "${id}" must be 32 bytes of base64 (got ${key.length} bytes)`);
    else if (new Set(key).size < 16) problems.push(`ENCRYPTION_KEYS: key "${id}" is not random enough`);
    if (seen.has(id)) problems.push(`ENCRYPTION_KEYS: key id "${id}" appears twice`);
    seen.add(id);
    keys.push({ id, key });
  }
  if (keys.length === 0 && problems.length === 0) problems.push('ENCRYPTION_KEYS: no key given');
  return { keys, problems };
}

function describeError(path: string, message: string, raw: unknown): string {
  const name = path.replace(/^\//, '');
  const shown = raw === undefined ? '' : ` (got "${String(raw).slice(0, 40)}")`;
  return `${name}: ${message}${shown}`;
}

/**
 * Validates an environment (normally process.env) against the schema. Throws one ConfigError that
 * names every bad or missing variable. Pure: reads no files; development secrets are added by
 * `withDevSecrets` in dev-secrets.ts.
 */
export function readConfig(env: Record<string, string | undefined>): Config {
  const input: Record<string, unknown> = {};
  for (const key of Object.keys(ConfigSchema.properties)) {
    const v = env[key];
    if (v !== undefined && v !== '') input[key] = v;
  }
  const converted = Value.Convert(ConfigSchema, Value.Default(ConfigSchema, input));
  const problems: string[] = [];
  for (const err of Value.Errors(ConfigSchema, converted)) {
    const key = err.instancePath.replace(/^\//, '');
    const secret = (ConfigSchema.properties as unknown as Record<string, Meta>)[key]?.secret;
    problems.push(describeError(err.instancePath, err.message, secret ? undefined : env[key]));
  }
  const cfg = converted as Config;

  for (const url of ['DATABASE_URL', 'REDIS_URL', 'PUBLIC_URL', 'MAIL_URL', 'SIMULATOR_URL', 'X_API_URL', 'X_AUTH_URL', 'LINKEDIN_API_URL', 'LINKEDIN_AUTH_URL', 'FACEBOOK_GRAPH_URL', 'FACEBOOK_RUPLOAD_URL', 'FACEBOOK_AUTH_URL', 'INSTAGRAM_AUTH_URL', 'INSTAGRAM_API_URL', 'INSTAGRAM_GRAPH_URL', 'THREADS_AUTH_URL', 'THREADS_GRAPH_URL', 'BLUESKY_SERVICE_URL', 'TELEGRAM_API_URL', 'DISCORD_API_URL', 'SLACK_API_URL', 'SLACK_AUTH_URL', 'REDDIT_API_URL', 'REDDIT_AUTH_URL', 'YOUTUBE_API_URL', 'YOUTUBE_AUTH_URL', 'YOUTUBE_TOKEN_URL', 'PINTEREST_API_URL', 'PINTEREST_AUTH_URL', 'TIKTOK_API_URL', 'TIKTOK_AUTH_URL', 'TUMBLR_API_URL', 'TUMBLR_AUTH_URL'] as const) {
    const v = cfg[url];
    if (v !== undefined && !URL.canParse(v)) problems.push(`${url}: must be a URL`);
  }
  if (cfg.DATABASE_URL && URL.canParse(cfg.DATABASE_URL) && !/^postgres(ql)?:$/.test(new URL(cfg.DATABASE_URL).protocol)) {
    problems.push('DATABASE_URL: must start with postgres:// or postgresql://');
  }
  if (cfg.REDIS_URL && URL.canParse(cfg.REDIS_URL) && !/^rediss?:$/.test(new URL(cfg.REDIS_URL).protocol)) {
    problems.push('REDIS_URL: must start with redis:// or rediss://');
  }

  const production = cfg.NODE_ENV === 'production';
  if (cfg.AUTH_SECRET !== undefined) {
    if (cfg.AUTH_SECRET.length < MIN_SECRET_LENGTH) problems.push(`AUTH_SECRET: must be at least ${MIN_SECRET_LENGTH} characters`);
    else if (production && isWeakSecret(cfg.AUTH_SECRET)) problems.push('AUTH_SECRET: is a known or low-entropy value; generate one with `openssl rand -base64 48`');
  } else if (production) {
    problems.push('AUTH_SECRET: required in production (generate one with `openssl rand -base64 48`)');
  }
  if (cfg.ENCRYPTION_KEYS !== undefined) {
    problems.push(...parseEncryptionKeys(cfg.ENCRYPTION_KEYS).problems);
  } else if (production) {
    problems.push('ENCRYPTION_KEYS: required in production (e.g. `k1:` followed by `openssl rand -base64 32`)');
  }
  for (const [key, value] of Object.entries(cfg)) {
    if (key.startsWith('LIMIT_') && !/^\d+\/\d+$/.test(String(value))) problems.push(`${key}: must look like count/seconds, e.g. 10/900`);
  }
  if (cfg.MAIL_URL && URL.canParse(cfg.MAIL_URL) && !/^smtps?:$/.test(new URL(cfg.MAIL_URL).protocol)) {
    problems.push('MAIL_URL: must start with smtp:// or smtps://');
  }
  const trust = parseTrustProxy(cfg.TRUST_PROXY);
  if (trust.problem) problems.push(`TRUST_PROXY: ${trust.problem}`);
  if (cfg.HTTP_HEADERS_TIMEOUT_MS > cfg.HTTP_REQUEST_TIMEOUT_MS) problems.push('HTTP_HEADERS_TIMEOUT_MS: must not be longer than HTTP_REQUEST_TIMEOUT_MS');
  if (production && cfg.MASTODON_INSTANCE_URL) problems.push('MASTODON_INSTANCE_URL: must not be set in production (Mastodon instances are reached over HTTPS at the host the user typed)');
  if (production && cfg.LEMMY_INSTANCE_URL) problems.push('LEMMY_INSTANCE_URL: must not be set in production (Lemmy instances are reached over HTTPS at the host the user typed)');
  if (cfg.LEMMY_INSTANCE_URL && !cfg.LEMMY_INSTANCE_URL.includes('{host}')) problems.push('LEMMY_INSTANCE_URL: must contain {host}, e.g. http://{host}/lemmy');
  if (cfg.MASTODON_INSTANCE_URL && !cfg.MASTODON_INSTANCE_URL.includes('{host}')) problems.push('MASTODON_INSTANCE_URL: must contain {host}, e.g. http://{host}/mastodon');
  if (production && cfg.ALLOW_PRIVATE_HOSTS) problems.push('ALLOW_PRIVATE_HOSTS: must not be true in production (it lets users point AllIN at internal addresses)');
  if (production && cfg.METRICS_TOKEN !== undefined && cfg.METRICS_TOKEN.length < 16) {
    problems.push('METRICS_TOKEN: must be at least 16 characters in production');
  }

  if (problems.length > 0) throw new ConfigError(problems);
  cfg.PUBLIC_URL = (cfg.PUBLIC_URL ?? `http://localhost:${cfg.PORT}`).replace(/\/+$/, '');
  cfg.MEDIA_DIR ??= join(cfg.ALLIN_HOME, 'media');
  return cfg;
}
