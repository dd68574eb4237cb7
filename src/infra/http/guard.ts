// Outbound requests to hosts a user chose (a Mastodon instance, a Bluesky PDS, a webhook, a media URL)
// must not reach this machine or its private network: the check runs on the addresses the connection
// will actually use (at connect time, so a DNS answer cannot change between check and connect).
import { lookup as dnsLookup, type LookupAddress } from 'node:dns';
import type { LookupFunction } from 'node:net';
import ipaddr from 'ipaddr.js';

/** Ranges never reachable through a user-supplied host (ipaddr.js range names). */
const BLOCKED = new Set(['unspecified', 'broadcast', 'multicast', 'linkLocal', 'loopback', 'private', 'uniqueLocal', 'carrierGradeNat', 'reserved', 'ipv4Mapped', 'rfc6145', 'rfc6052', '6to4', 'teredo', 'benchmarking', 'amt', 'as112', 'as112v6', 'orchid2', 'droneRemoteIdProtocolEntityTags', 'deprecated']);

export function isBlockedAddress(address: string): boolean {
  if (!ipaddr.isValid(address)) return true;
  let ip = ipaddr.parse(address);
  if (ip.kind() === 'ipv6' && (ip as ipaddr.IPv6).isIPv4MappedAddress()) ip = (ip as ipaddr.IPv6).toIPv4Address();
  return BLOCKED.has(ip.range());
}

export class BlockedHostError extends Error {
  readonly code = 'ALLIN_BLOCKED_HOST';
  constructor(readonly host: string, readonly address: string) {
    super(`${host} resolves to ${address}, a private, loopback or link-local address; AllIN does not connect there`);
    this.name = 'BlockedHostError';
  }
}

/** A net.connect lookup that refuses blocked addresses. */
export function guardedLookup(): LookupFunction {
  return ((hostname: string, options: object, callback: (err: Error | null, address: string | LookupAddress[], family?: number) => void) => {
    dnsLookup(hostname, { ...options, all: true }, (err, addresses) => {
      if (err) return callback(err, '', 0);
      const list = addresses as LookupAddress[];
      const bad = list.find((a) => isBlockedAddress(a.address));
      if (bad) return callback(new BlockedHostError(hostname, bad.address), '', 0);
      if ((options as { all?: boolean }).all) return callback(null, list);
      const first = list[0]!;
      callback(null, first.address, first.family);
    });
  }) as LookupFunction;
}

/** For hosts typed as IP literals: lookup is skipped by the socket layer for those. */
export function assertHostAllowed(hostname: string): void {
  const bare = hostname.replace(/^\[|\]$/g, '');
  if (ipaddr.isValid(bare) && isBlockedAddress(bare)) throw new BlockedHostError(hostname, bare);
  if (/^localhost\.?$/i.test(bare) || /\.localhost\.?$/i.test(bare)) throw new BlockedHostError(hostname, '127.0.0.1');
}
