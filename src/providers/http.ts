// Reading a network's answer as JSON: the one reader every adapter uses. It parses only the bytes the
// HttpClient already read, so the client's body cap (OUTBOUND_MAX_RESPONSE_BYTES) holds for every adapter:
// an answer past it never gets here (ResponseTooLargeError, mapped by transportError). A 2xx body that is
// not JSON is a MalformedResponseError naming the network, the call and the status, and never quoting the
// body (an error page may echo the request URL with its access_token). Error text that does quote a body
// goes through redactSecrets first.
import type { HttpResponse } from '../infra/http/client.ts';
import { ProviderError } from './types.ts';

/** A 2xx answer AllIN cannot read. For a call that creates something, the thing may exist: an unknown outcome. */
export class MalformedResponseError extends ProviderError {
  readonly code = 'ALLIN_PROVIDER_MALFORMED_RESPONSE';
  constructor(provider: string, operation: string, creates: boolean, status?: number, why = 'something unreadable') {
    super(creates ? 'unknown_outcome' : 'transient', `${provider}: ${operation} answered ${status !== undefined ? `HTTP ${status} with ` : ''}${why}`,
      { provider, ...(status !== undefined ? { status } : {}), reason: 'malformed_response' });
    this.name = 'MalformedResponseError';
  }
}

export interface ReadJsonOptions {
  provider: string;
  operation: string;
  /** The call creates something (a post): an unreadable answer is then an unknown outcome, not transient. */
  creates?: boolean;
  /** Refuse a JSON array (Graph answers are always objects). */
  objectOnly?: boolean;
}

const NOT_PARSED = Symbol('not JSON');

function parse(res: HttpResponse): unknown {
  if (res.bytes.length === 0) return NOT_PARSED;
  try {
    return JSON.parse(res.text) as unknown;
  } catch {
    // The parser's message quotes the body on newer Node versions: it is dropped, not passed on.
    return NOT_PARSED;
  }
}

/** The JSON value of an answer (an error answer's body is a hint only), or undefined when it is not JSON. */
export function parseJson(res: HttpResponse): unknown {
  const v = parse(res);
  return v === NOT_PARSED ? undefined : v;
}

/** The JSON object (or array) of an answer, else a MalformedResponseError. */
export function readJson<T>(res: HttpResponse, o: ReadJsonOptions): T {
  const v = parse(res);
  const creates = o.creates ?? false;
  if (v === NOT_PARSED) throw new MalformedResponseError(o.provider, o.operation, creates, res.status, 'a body that is not JSON');
  if (v === null || typeof v !== 'object' || (o.objectOnly && Array.isArray(v))) {
    throw new MalformedResponseError(o.provider, o.operation, creates, res.status, 'JSON that is not an object');
  }
  return v as T;
}

// Parameters and headers that carry credentials, as they may be echoed in an error page or a message.
const SECRET_PARAM = /\b(access_token|refresh_token|client_secret|fb_exchange_token|id_token|code_verifier|password|input_token)=[^&\s"'<>]+/gi;
const SECRET_HEADER = /\b(Bearer|OAuth|Basic|DPoP)\s+[A-Za-z0-9._~+/=-]{8,}/g;
// A Telegram bot token, which travels in the URL path (…/bot<id>:<secret>/sendMessage), or on its own.
const BOT_TOKEN_PATH = /\bbot\d{1,20}:[A-Za-z0-9_-]+/g;
const BOT_TOKEN = /\b\d{5,20}:[A-Za-z0-9_-]{30,}/g;
// A Discord webhook's token, which travels in the URL path (…/webhooks/<id>/<token>).
const WEBHOOK_TOKEN_PATH = /\b(webhooks\/\d{1,21}\/)[A-Za-z0-9_-]{8,}/g;
// A Nostr secret key in its NIP-19 form (nsec1 and bech32 characters), and a Blossom upload's signed event.
const NSEC = /\bnsec1[02-9ac-hj-np-z]{20,}/g;
const NOSTR_AUTH = /\b(Nostr)\s+[A-Za-z0-9+/=]{16,}/g;

/** `text` with credential values replaced by `[redacted]`, for quoting a network's body or message in an error. */
export function redactSecrets(text: string): string {
  return text.replace(SECRET_PARAM, '$1=[redacted]').replace(SECRET_HEADER, '$1 [redacted]')
    .replace(BOT_TOKEN_PATH, 'bot[redacted]').replace(BOT_TOKEN, '[redacted]').replace(WEBHOOK_TOKEN_PATH, '$1[redacted]')
    .replace(NSEC, 'nsec1[redacted]').replace(NOSTR_AUTH, '$1 [redacted]');
}
