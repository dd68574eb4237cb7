// A chat's members, as its followers: getChatMemberCount (https://core.telegram.org/bots/api#getchatmembercount)
// answers "the number of members in a chat", a channel's subscribers. The Bot API has no following, no post
// count, no views per day and no history: only today's count is read.
import { accountFigures } from '../account-metrics.ts';
import type { AccountMetricsAnswer, AccountRef } from '../types.ts';
import type { BotApi } from './api.ts';

export async function chatMembers(api: BotApi, account: AccountRef): Promise<AccountMetricsAnswer> {
  const count = await api.read<unknown>(account.tokens.accessToken, 'getChatMemberCount', { chat_id: account.externalId });
  return { now: accountFigures({ followers: count }), days: [] };
}
