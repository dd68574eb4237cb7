// The workspace a bot token posts in (auth.test: https://docs.slack.dev/reference/methods/auth.test), which is the
// AllIN account, and the channels the app is a member of (users.conversations, public and private, archived left
// out, paged by cursor: https://docs.slack.dev/reference/methods/users.conversations), which a post names in its
// `channel` option. The channel is chosen per post, not per account: one installation has one token, and with token
// rotation its refresh token is single-use, so one account per workspace keeps one owner of that token.
import { ProviderError, type ConnectedIdentity, type TokenSet } from '../types.ts';
import type { SlackApi } from './api.ts';
import { PROVIDER } from './errors.ts';

interface AuthTest { url?: string; team?: string; team_id?: string; user_id?: string; bot_id?: string }
export interface SlackChannel { id: string; name: string; is_private?: boolean; is_archived?: boolean }

const MAX_PAGES = 20;

export async function slackIdentities(api: SlackApi, tokens: TokenSet): Promise<ConnectedIdentity[]> {
  const me = await api.write<AuthTest>(tokens.accessToken, 'auth.test', {});
  if (!me.team_id) throw new ProviderError('transient', 'Slack: auth.test answered without the team', { provider: PROVIDER, reason: 'malformed_response' });
  const domain = me.url ? /^https:\/\/([^./]+)\.slack\.com\/?$/.exec(me.url)?.[1] : undefined;
  return [{
    externalId: me.team_id, kind: 'organization', username: domain ?? me.team_id, displayName: me.team ?? domain ?? me.team_id,
    ...(me.url ? { profileUrl: me.url } : {}),
    data: { teamId: me.team_id, ...(me.url ? { url: me.url } : {}), ...(me.user_id ? { botUserId: me.user_id } : {}), ...(me.bot_id ? { botId: me.bot_id } : {}) },
  }];
}

/** The channels the app is in, for finding a channel named by name. */
export async function memberChannels(api: SlackApi, token: string): Promise<SlackChannel[]> {
  const out: SlackChannel[] = [];
  let cursor = '';
  for (let page = 0; page < MAX_PAGES; page++) {
    const r = await api.read<{ channels?: SlackChannel[]; response_metadata?: { next_cursor?: string } }>(token, 'users.conversations', {
      types: 'public_channel,private_channel', exclude_archived: 'true', limit: '200', ...(cursor ? { cursor } : {}),
    });
    out.push(...(r.channels ?? []).filter((c) => typeof c.id === 'string'));
    cursor = r.response_metadata?.next_cursor ?? '';
    if (!cursor) break;
  }
  return out;
}
