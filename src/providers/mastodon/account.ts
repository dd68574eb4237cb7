// The account's own counts: GET /api/v1/accounts/verify_credentials
// (https://docs.joinmastodon.org/methods/accounts/#verify_credentials) answers the token's CredentialAccount,
// whose followers_count, following_count and statuses_count are the Account entity's
// (https://docs.joinmastodon.org/entities/Account/#followers_count). Mastodon's client API has no reach,
// impressions or profile views, and no history of the counts (the admin measures API needs admin scopes),
// so only today's counts are read. It needs the read:accounts scope (or profile, or read): without it the
// instance answers 403, a refusal.
import { accountFigures } from '../account-metrics.ts';
import type { AccountMetricsAnswer, AccountRef } from '../types.ts';
import type { MastodonApi } from './api.ts';

export async function accountCounts(api: MastodonApi, account: AccountRef, host: string): Promise<AccountMetricsAnswer> {
  const res = await api.call({ method: 'GET', url: `${api.base(host)}/api/v1/accounts/verify_credentials`, operation: 'account_metrics', headers: api.bearer(account.tokens) });
  const a = api.read<{ followers_count?: unknown; following_count?: unknown; statuses_count?: unknown }>(res, 'account_metrics');
  return { now: accountFigures({ followers: a.followers_count, following: a.following_count, posts: a.statuses_count }), days: [] };
}
