// A relay's answers as ProviderError kinds. NIP-01: an EVENT is answered ["OK", <id>, <true|false>,
// <message>], where a refusal's message starts with a machine-readable prefix: "duplicate:" (it already
// has the event: accepted), "pow:", "blocked:", "rate-limited:", "invalid:", "restricted:", "mute:",
// "error:"; NIP-42 adds "auth-required:". A REQ ends with ["EOSE", <sub>] or is refused with
// ["CLOSED", <sub>, <message>] under the same prefixes. (https://github.com/nostr-protocol/nips/blob/master/01.md,
// https://github.com/nostr-protocol/nips/blob/master/42.md)
import { DeadlineError, TransportError } from '../../infra/http/client.ts';
import { ProviderError, type ProviderErrorKind } from '../types.ts';

export const PROVIDER = 'nostr';

/** What one relay said to one event. */
export type RelayVerdict =
  | { relay: string; accepted: true; message: string }
  | { relay: string; accepted: false; kind: ProviderErrorKind; message: string };

/** The kind of a refusal, by its NIP-01 prefix; a prefix nobody wrote down is taken as permanent. */
export function refusalKind(message: string): ProviderErrorKind {
  const prefix = /^([a-z-]+):/.exec(message)?.[1] ?? '';
  if (prefix === 'rate-limited') return 'rate_limited';
  if (prefix === 'error') return 'transient';
  return 'permanent';
}

/** A conversation with a relay that ended without an answer: unknown after the event was sent, else transient. */
export function transportVerdict(relay: string, err: unknown, creates: boolean): RelayVerdict {
  if (err instanceof TransportError) {
    if (err.reason === 'blocked_host') return { relay, accepted: false, kind: 'permanent', message: `blocked: ${err.message}` };
    const kind: ProviderErrorKind = creates && err.sent ? 'unknown_outcome' : 'transient';
    return { relay, accepted: false, kind, message: `${err instanceof DeadlineError ? 'timeout' : err.reason}: ${err.message}` };
  }
  if (err instanceof ProviderError) return { relay, accepted: false, kind: err.kind, message: err.message };
  return { relay, accepted: false, kind: creates ? 'unknown_outcome' : 'transient', message: `error: ${(err as Error).message ?? String(err)}` };
}

/**
 * The outcome of sending one event to every relay: published when any relay took it. Otherwise the
 * most hopeful failure decides: a relay that may have stored it (unknown), then a passing one (rate
 * limited, transient), and only when every relay refused for good, permanent with each relay's reason.
 */
export function combine(verdicts: RelayVerdict[], what: string): ProviderError | null {
  if (verdicts.some((v) => v.accepted)) return null;
  const failed = verdicts.filter((v): v is Extract<RelayVerdict, { accepted: false }> => !v.accepted);
  const reasons = failed.map((v) => `${v.relay}: ${v.message.slice(0, 160)}`).join('; ');
  for (const kind of ['unknown_outcome', 'rate_limited', 'transient', 'auth_expired'] as const) {
    if (failed.some((v) => v.kind === kind)) {
      return new ProviderError(kind, `Nostr: ${what}: no relay confirmed it (${reasons})`, { provider: PROVIDER, reason: reasons.slice(0, 300) });
    }
  }
  return new ProviderError('permanent', `Nostr: every relay refused ${what} (${reasons})`, { provider: PROVIDER, reason: reasons.slice(0, 300) });
}
