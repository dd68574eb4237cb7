// Talking to relays (NIP-01, https://github.com/nostr-protocol/nips/blob/master/01.md), each conversation a
// WebSocket opened through the HttpClient (private-address guard on the relay's host, a deadline, a cap on
// each message and on how many are read):
// - publish: ["EVENT", <event>], answered ["OK", <id>, <accepted>, <message>];
// - query: ["REQ", <sub>, <filters…>], answered by ["EVENT", <sub>, <event>]… then ["EOSE", <sub>] (the
//   stored events are all sent), or refused with ["CLOSED", <sub>, <message>]; then ["CLOSE", <sub>].
// ["NOTICE", …] and ["AUTH", …] (NIP-42, which AllIN does not answer) are read past. Every event a relay
// returns is checked (id and signature, with nostr-tools) before it is believed.
import { randomBytes } from 'node:crypto';
import { verifyEvent, type Event } from 'nostr-tools/pure';
import type { HttpClient } from '../../infra/http/client.ts';
import { ProviderError } from '../types.ts';
import { PROVIDER, refusalKind, transportVerdict, type RelayVerdict } from './errors.ts';

export interface Filter {
  ids?: string[];
  authors?: string[];
  kinds?: number[];
  '#e'?: string[];
  '#p'?: string[];
  since?: number;
  until?: number;
  limit?: number;
}

/** Most events believed from one relay for one query. */
export const MAX_EVENTS_PER_QUERY = 500;

export interface QueryResult {
  events: Event[];
  answered: number;
  /**
   * When a relay gave `fullAt` events or more (it may hold older ones it did not send): the newest of the
   * oldest events such relays gave, below which a next page must look. Absent: every relay gave all it had.
   */
  fullFloor?: number;
}

export interface Relays {
  /** Sends the event to every relay at once; one verdict per relay. */
  publish(relays: string[], event: Event): Promise<RelayVerdict[]>;
  /**
   * The events the relays hold that match, each once, verified, newest first. Relays that fail are left
   * out; when none answered, the first failure is thrown (transient).
   */
  query(relays: string[], filters: Filter[], operation: string, fullAt?: number): Promise<QueryResult>;
}

const parse = (raw: string): unknown[] | null => {
  try {
    const v = JSON.parse(raw) as unknown;
    return Array.isArray(v) ? v : null;
  } catch {
    return null;
  }
};

export function nostrRelays(http: HttpClient): Relays {
  const publishOne = async (relay: string, event: Event): Promise<RelayVerdict> => {
    try {
      return await http.webSocket({ url: relay, provider: PROVIDER, operation: 'EVENT', userSuppliedHost: true }, async (c) => {
        c.send(JSON.stringify(['EVENT', event]));
        for (;;) {
          const m = parse(await c.next());
          // An answer that is not NIP-01 after the event went out: the relay may have stored it.
          if (!m) return { relay, accepted: false, kind: 'unknown_outcome', message: 'error: the relay answered something that is not a NIP-01 message' } as const;
          if (m[0] !== 'OK' || m[1] !== event.id) continue;
          const message = typeof m[3] === 'string' ? m[3].slice(0, 300) : '';
          if (m[2] === true) return { relay, accepted: true, message } as const;
          return { relay, accepted: false, kind: refusalKind(message), message } as const;
        }
      });
    } catch (err) {
      return transportVerdict(relay, err, true);
    }
  };

  const queryOne = async (relay: string, filters: Filter[], operation: string): Promise<Event[]> => {
    const sub = randomBytes(8).toString('hex');
    return http.webSocket({ url: relay, provider: PROVIDER, operation, userSuppliedHost: true, maxMessages: MAX_EVENTS_PER_QUERY * filters.length + 10 }, async (c) => {
      c.send(JSON.stringify(['REQ', sub, ...filters]));
      const events: Event[] = [];
      for (;;) {
        const m = parse(await c.next());
        if (!m) throw new ProviderError('transient', `Nostr: ${relay} answered something that is not a NIP-01 message`, { provider: PROVIDER, reason: 'malformed_response' });
        if (m[1] !== sub) continue;
        if (m[0] === 'EVENT' && m[2] && typeof m[2] === 'object') {
          const e = m[2] as Event;
          if (verifyEvent({ id: e.id, pubkey: e.pubkey, created_at: e.created_at, kind: e.kind, tags: e.tags, content: e.content, sig: e.sig })) events.push(e);
        } else if (m[0] === 'EOSE') {
          try { c.send(JSON.stringify(['CLOSE', sub])); } catch { /* closing anyway */ }
          return events;
        } else if (m[0] === 'CLOSED') {
          const message = typeof m[2] === 'string' ? m[2].slice(0, 300) : '';
          throw new ProviderError(refusalKind(message) === 'permanent' ? 'permanent' : 'transient', `Nostr: ${relay} refused to answer (${message})`, { provider: PROVIDER, reason: message });
        }
      }
    });
  };

  return {
    publish: (relays, event) => Promise.all(relays.map((r) => publishOne(r, event))),
    async query(relays, filters, operation, fullAt) {
      const results = await Promise.allSettled(relays.map((r) => queryOne(r, filters, operation)));
      const byId = new Map<string, Event>();
      let answered = 0;
      let fullFloor: number | undefined;
      for (const r of results) {
        if (r.status !== 'fulfilled') continue;
        answered++;
        if (fullAt !== undefined && r.value.length >= fullAt) {
          const oldest = Math.min(...r.value.map((e) => e.created_at));
          fullFloor = fullFloor === undefined ? oldest : Math.max(fullFloor, oldest);
        }
        for (const e of r.value) byId.set(e.id, e);
      }
      if (answered === 0) {
        const first = results.find((r): r is PromiseRejectedResult => r.status === 'rejected')?.reason as unknown;
        if (first instanceof ProviderError) throw first;
        const v = transportVerdict(relays[0] ?? '', first, false);
        throw new ProviderError(v.accepted ? 'transient' : v.kind, `Nostr: no relay answered (${v.message.slice(0, 200)})`, { provider: PROVIDER, reason: v.message.slice(0, 300) });
      }
      return { events: [...byId.values()].sort((a, b) => b.created_at - a.created_at || a.id.localeCompare(b.id)), answered, ...(fullFloor !== undefined ? { fullFloor } : {}) };
    },
  };
}
