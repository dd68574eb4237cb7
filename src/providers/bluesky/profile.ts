// The account's own counts: app.bsky.actor.getProfile (https://docs.bsky.app/docs/api/app-bsky-actor-get-profile)
// answers a profileViewDetailed whose followersCount, followsCount and postsCount are optional in the lexicon
// (an absent one stays absent). Counts live in the AppView; the public one needs no session. Bluesky has no
// reach, impressions or profile views, and no history of the counts: only today's are read.
import { accountFigures } from '../account-metrics.ts';
import type { AccountMetricsAnswer, AccountRef } from '../types.ts';
import type { BlueskyHosts } from './hosts.ts';
import type { Xrpc } from './xrpc.ts';

export async function profileCounts(x: Xrpc, hosts: BlueskyHosts, account: AccountRef): Promise<AccountMetricsAnswer> {
  const res = await x.xrpcCall({ method: 'GET', base: hosts.appview, nsid: 'app.bsky.actor.getProfile', what: 'account_metrics', query: { actor: account.externalId } });
  const p = x.read<{ followersCount?: unknown; followsCount?: unknown; postsCount?: unknown }>(res, 'account_metrics');
  return { now: accountFigures({ followers: p.followersCount, following: p.followsCount, posts: p.postsCount }), days: [] };
}
