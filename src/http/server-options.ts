// How the HTTP server treats its peers: whose X-Forwarded-* headers are believed, and how long a slow or
// stalled client may hold a connection. Node's own defaults suit neither an API behind a proxy (it waits
// 60 s for headers) nor Fastify's (no limit at all on a request), so each is set here from the config.
import type { ServerOptions } from 'node:http';
import type { FastifyServerOptions } from 'fastify';

/** Parsed TRUST_PROXY (see config.ts): none, the nearest `hops` peers, or peers at these addresses. */
export type TrustProxy = false | { hops: number } | { addresses: string[] };

export interface Timeouts {
  headersMs: number;
  requestMs: number;
  idleMs: number;
  keepAliveMs: number;
}

/**
 * Fastify's `trustProxy`. A hop count becomes a function: Fastify 5 refuses to trust anything for a plain
 * number (a hop count cannot tell a proxy from a client that reached the server directly), which is the
 * operator's choice to make here, documented with the setting.
 */
export function trustProxyOption(trust: TrustProxy): FastifyServerOptions['trustProxy'] {
  if (trust === false) return false;
  if ('hops' in trust) {
    const { hops } = trust;
    return (_address: string, index: number) => index < hops;
  }
  return trust.addresses;
}

/**
 * Fastify's and Node's timeout options. Node checks the header and request timeouts only every
 * `connectionsCheckingInterval` (30 s by default), so it is tied to the shortest of them: a slow client
 * is ended within a quarter of its allowance after it runs out, not up to 30 s later.
 */
export function timeoutOptions(t: Timeouts): { connectionTimeout: number; keepAliveTimeout: number; requestTimeout: number; http: ServerOptions } {
  const checkEvery = Math.max(50, Math.min(5_000, Math.floor(Math.min(t.headersMs, t.requestMs) / 4)));
  return {
    // Idle socket: nothing sent or read for this long while a request is in progress (a client that
    // stops sending, or never reads its answer so the server's writes stall). Between requests,
    // keepAliveTimeout applies instead.
    connectionTimeout: t.idleMs,
    keepAliveTimeout: t.keepAliveMs,
    requestTimeout: t.requestMs,
    http: { headersTimeout: t.headersMs, requestTimeout: t.requestMs, connectionsCheckingInterval: checkEvery },
  };
}
