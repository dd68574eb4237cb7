// Whom an X token posts as: the user it was issued to (GET /2/users/me: https://docs.x.com/x-api/users/get-my-user).
import { malformed } from '../errors.ts';
import type { ConnectedIdentity, TokenSet } from '../types.ts';
import { PROVIDER, type XApi } from './api.ts';

export async function xIdentities(api: XApi, tokens: TokenSet): Promise<ConnectedIdentity[]> {
  const res = await api.call({
    method: 'GET', url: `${api.base}/2/users/me?user.fields=id,name,username,profile_image_url,verified,verified_type`, operation: 'profile', headers: api.bearer(tokens),
  });
  const me = api.read<{ data?: { id?: string; name?: string; username?: string; profile_image_url?: string; verified_type?: string } }>(res, 'profile').data;
  if (!me?.id || !me.username) throw malformed(PROVIDER, 'profile', false);
  return [{
    externalId: me.id, kind: 'person', username: me.username, displayName: me.name ?? me.username,
    // _normal is 48x48; _400x400 is the same image larger.
    ...(me.profile_image_url ? { avatarUrl: me.profile_image_url.replace(/_normal(\.\w+)$/, '_400x400$1') } : {}),
    profileUrl: `https://x.com/${me.username}`,
    ...(me.verified_type ? { data: { verifiedType: me.verified_type } } : {}),
  }];
}
