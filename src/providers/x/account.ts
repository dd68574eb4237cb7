// The account's own counts: GET /2/users/me with user.fields=public_metrics
// (https://docs.x.com/x-api/users/get-my-user) answers the user's public_metrics: followers_count,
// following_count, tweet_count (https://docs.x.com/x-api/users/follows/quickstart shows the object). The v2
// API gives no account-level impressions, reach or profile views, and no history of the counts: only today's
// are read. It needs users.read and tweet.read, the scopes AllIN asks for to connect.
import { accountFigures } from '../account-metrics.ts';
import type { AccountMetricsAnswer, AccountRef } from '../types.ts';
import type { XApi } from './api.ts';

export async function accountCounts(api: XApi, account: AccountRef): Promise<AccountMetricsAnswer> {
  const res = await api.call({ method: 'GET', url: `${api.base}/2/users/me?user.fields=public_metrics`, operation: 'account_metrics', headers: api.bearer(account.tokens) });
  const m = api.read<{ data?: { public_metrics?: { followers_count?: unknown; following_count?: unknown; tweet_count?: unknown } } }>(res, 'account_metrics').data?.public_metrics;
  return { now: accountFigures({ followers: m?.followers_count, following: m?.following_count, posts: m?.tweet_count }), days: [] };
}
