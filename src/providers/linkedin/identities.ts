// Whom a LinkedIn token can post as: the member (GET /v2/userinfo, OpenID Connect:
// https://learn.microsoft.com/en-us/linkedin/consumer/integrations/self-serve/sign-in-with-linkedin-v2) and the
// organisation Pages where the member holds a posting role
// (https://learn.microsoft.com/en-us/linkedin/marketing/community-management/organizations/organization-access-control-by-role).
// An account is an author URN: urn:li:person:{sub} for the member, urn:li:organization:{id} for a Page.
import { malformed } from '../errors.ts';
import type { ConnectedIdentity, TokenSet } from '../types.ts';
import { PROVIDER, type LinkedInApi } from './api.ts';

/** Page roles that may post as the Page (Super admin and Content admin). */
const POSTING_ROLES = new Set(['ADMINISTRATOR', 'CONTENT_ADMINISTRATOR']);

export async function linkedInIdentities(api: LinkedInApi, tokens: TokenSet): Promise<ConnectedIdentity[]> {
  const res = await api.call({ method: 'GET', url: `${api.base}/v2/userinfo`, operation: 'profile', headers: api.bearer(tokens) });
  const me = api.read<{ sub?: string; name?: string; given_name?: string; family_name?: string; picture?: string }>(res, 'profile');
  if (!me.sub) throw malformed(PROVIDER, 'profile', false);
  const name = me.name ?? [me.given_name, me.family_name].filter(Boolean).join(' ');
  // OpenID Connect gives no handle (the vanity name needs the restricted r_basicprofile): the name stands in.
  const member: ConnectedIdentity = {
    externalId: `urn:li:person:${me.sub}`, kind: 'person', username: name || me.sub, displayName: name || me.sub,
    ...(me.picture ? { avatarUrl: me.picture } : {}),
  };
  const scope = tokens.scope;
  if (scope && !scope.some((s) => s === 'rw_organization_admin' || s === 'r_organization_admin')) return [member];
  const orgs = await postingPages(api, tokens);
  if (!orgs) return [member];
  return [member, ...await pages(api, tokens, orgs)];
}

/** Pages the member may post as (approved ADMINISTRATOR or CONTENT_ADMINISTRATOR roles), by URN; null without access. */
async function postingPages(api: LinkedInApi, tokens: TokenSet): Promise<Map<string, string> | null> {
  const orgs = new Map<string, string>();
  for (let start = 0; ; start += 100) {
    const acl = await api.send({
      method: 'GET', url: `${api.base}/rest/organizationAcls?q=roleAssignee&state=APPROVED&start=${start}&count=100`, operation: 'profile', headers: api.rest(tokens),
    });
    // Without the Community Management product the member is all there is.
    if (acl.status === 403) return null;
    if (acl.status < 200 || acl.status >= 300) throw api.fail('profile', acl);
    const els = api.read<{ elements?: { organization?: string; organizationTarget?: string; role?: string; state?: string }[] }>(acl, 'profile').elements ?? [];
    for (const e of els) {
      const org = e.organization ?? e.organizationTarget;
      if (org && e.role && POSTING_ROLES.has(e.role) && (e.state ?? 'APPROVED') === 'APPROVED' && !orgs.has(org)) orgs.set(org, e.role);
    }
    if (els.length < 100) return orgs;
  }
}

async function pages(api: LinkedInApi, tokens: TokenSet, orgs: Map<string, string>): Promise<ConnectedIdentity[]> {
  const out: ConnectedIdentity[] = [];
  for (const [urn, role] of orgs) {
    const id = urn.slice('urn:li:organization:'.length);
    const res = await api.send({ method: 'GET', url: `${api.base}/rest/organizations/${encodeURIComponent(id)}`, operation: 'profile', headers: api.rest(tokens) });
    // A Page deleted since, or one the token may not look up, is not offered.
    if (res.status === 403 || res.status === 404) continue;
    if (res.status < 200 || res.status >= 300) throw api.fail('profile', res);
    const o = api.read<{ localizedName?: string; vanityName?: string }>(res, 'profile');
    out.push({
      externalId: urn, kind: 'organization', username: o.vanityName ?? id, displayName: o.localizedName ?? o.vanityName ?? id,
      profileUrl: `https://www.linkedin.com/company/${encodeURIComponent(o.vanityName ?? id)}`, data: { role },
    });
  }
  return out;
}
