// Who an account is and where it lives (https://atproto.com/specs/did, https://atproto.com/specs/handle):
// a handle resolves to a DID (com.atproto.identity.resolveHandle), the DID document (from the PLC directory
// for did:plc, from https://{host}/.well-known/did.json for did:web) names the account's PDS.
import { isHandle } from './facets.ts';
import type { BlueskyHosts } from './hosts.ts';
import type { Xrpc } from './xrpc.ts';

export interface BlueskyIdentity {
  /** The PDS a DID document names (the service with id #atproto_pds), or null. */
  pdsOf(doc: unknown): string | null;
  /** The DID document of a did:plc or did:web; null when there is none. */
  didDocument(did: string): Promise<unknown>;
  /** Handle → DID through the configured service (which resolves any handle); null when it cannot. */
  resolveHandle(handle: string): Promise<string | null>;
  /** Where to sign in when the user named no server (see the function). */
  loginServiceFor(identifier: string): Promise<string>;
}

export function blueskyIdentity(x: Xrpc, hosts: BlueskyHosts): BlueskyIdentity {
  const pdsOf = (doc: unknown): string | null => {
    const services = (doc as { service?: unknown } | null)?.service;
    if (!Array.isArray(services)) return null;
    for (const s of services as { id?: unknown; type?: unknown; serviceEndpoint?: unknown }[]) {
      if (typeof s.id === 'string' && s.id.endsWith('#atproto_pds') && s.type === 'AtprotoPersonalDataServer' && typeof s.serviceEndpoint === 'string') {
        return hosts.serviceUrl(s.serviceEndpoint);
      }
    }
    return null;
  };

  const didDocument = async (did: string): Promise<unknown> => {
    let url: string;
    let guarded: boolean;
    if (did.startsWith('did:plc:')) {
      url = `${hosts.plc}/${encodeURIComponent(did)}`;
      guarded = false;
    } else if (did.startsWith('did:web:')) {
      const host = decodeURIComponent(did.slice('did:web:'.length));
      if (host.includes(':') && !/^[^:]+:\d+$/.test(host)) return null; // did:web with a path is not used by atproto
      url = `https://${host}/.well-known/did.json`;
      guarded = true;
    } else {
      return null;
    }
    const res = await x.send({ method: 'GET', url, operation: 'did_document', headers: { accept: 'application/json' }, userSuppliedHost: guarded });
    if (res.status === 404 || res.status === 410) return null;
    if (res.status < 200 || res.status >= 300) throw x.fail('did_document', res);
    return x.read<unknown>(res, 'did_document');
  };

  const resolveHandle = async (handle: string): Promise<string | null> => {
    const res = await x.xrpcSend({ method: 'GET', base: hosts.service, nsid: 'com.atproto.identity.resolveHandle', what: 'resolve_handle', query: { handle } });
    if (res.status === 400 || res.status === 404) return null;
    if (res.status < 200 || res.status >= 300) throw x.fail('resolve_handle', res);
    const { did } = x.read<{ did?: unknown }>(res, 'resolve_handle');
    return typeof did === 'string' && did.startsWith('did:') ? did : null;
  };

  return {
    pdsOf,
    didDocument,
    resolveHandle,
    /**
     * The PDS of the handle's DID document. Accounts on Bluesky's own PDSes (*.host.bsky.network) sign in
     * at the entryway, i.e. the configured service (https://docs.bsky.app/docs/advanced-guides/api-directory),
     * as do e-mail identifiers and handles that do not resolve; so a password is only ever sent to the
     * configured service or to the account's own PDS.
     */
    async loginServiceFor(identifier) {
      if (identifier.includes('@')) return hosts.service;
      const did = identifier.startsWith('did:') ? identifier : isHandle(identifier) ? await resolveHandle(identifier) : null;
      if (!did) return hosts.service;
      const pds = pdsOf(await didDocument(did));
      if (!pds) return hosts.service;
      const host = new URL(pds).host;
      if (host.endsWith('.host.bsky.network') || host === new URL(hosts.service).host) return hosts.service;
      return pds;
    },
  };
}
