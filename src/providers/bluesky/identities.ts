// The account a Bluesky session belongs to (com.atproto.server.getSession:
// https://docs.bsky.app/docs/api/com-atproto-server-create-session), where it lives (its PDS, from the
// session's DID document or the DID's own: https://atproto.com/specs/did), and its display name, from its
// profile record (app.bsky.actor.profile/self; a new account may have none).
import { malformed } from '../errors.ts';
import { ProviderError, type ConnectedIdentity, type TokenSet } from '../types.ts';
import type { BlueskyHosts } from './hosts.ts';
import type { BlueskyIdentity } from './identity.ts';
import type { Session } from './session.ts';
import { xrpcBody, type RecordAnswer, type Xrpc } from './xrpc.ts';

const PROVIDER = 'bluesky';

export async function blueskyIdentities(x: Xrpc, hosts: BlueskyHosts, identity: BlueskyIdentity, tokens: TokenSet, host?: string): Promise<ConnectedIdentity[]> {
  const base = host ? hosts.serviceUrl(host) : hosts.service;
  const res = await x.xrpcCall({ method: 'GET', base, nsid: 'com.atproto.server.getSession', what: 'profile', token: tokens.accessToken });
  const s = x.read<Session>(res, 'profile');
  if (typeof s.did !== 'string' || typeof s.handle !== 'string') throw malformed(PROVIDER, 'profile', false);
  if (s.active === false) {
    throw new ProviderError('permanent', `bluesky: the account is ${typeof s.status === 'string' ? s.status : 'not active'}`, { provider: PROVIDER, reason: 'inactive_account' });
  }
  const pds = identity.pdsOf(s.didDoc) ?? identity.pdsOf(await identity.didDocument(s.did)) ?? base;
  // The display name is in the account's own profile record; a new account may have none.
  const prof = await x.xrpcSend({ method: 'GET', base: pds, nsid: 'com.atproto.repo.getRecord', what: 'profile', query: { repo: s.did, collection: 'app.bsky.actor.profile', rkey: 'self' } });
  let displayName = s.handle;
  if (prof.status >= 200 && prof.status < 300) {
    const name = x.read<RecordAnswer>(prof, 'profile').value?.displayName;
    if (typeof name === 'string' && name.trim()) displayName = name;
  } else if (!(prof.status === 400 && xrpcBody(prof).error === 'RecordNotFound')) {
    throw x.fail('profile', prof);
  }
  return [{
    externalId: s.did, kind: 'person', username: s.handle, displayName, profileUrl: `${hosts.web}/profile/${s.did}`,
    data: { did: s.did, handle: s.handle, pds, service: base },
  }];
}
