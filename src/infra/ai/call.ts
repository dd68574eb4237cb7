// One call to a model provider through AllIN's outbound HTTP client: the base URL is the workspace admin's,
// so it goes through the private-address guard unless the operator allowed private addresses for AI
// providers (AI_ALLOW_PRIVATE_HOSTS: a local Ollama); under the AI deadline and size cap; streamed answers
// handed over event by event. Every failure comes back as a ModelError, with the provider's key never in it.
import { DeadlineError, ResponseTooLargeError, TransportError, type HttpClient } from '../http/client.ts';
import { parseRetryAfter } from '../retry-after.ts';
import { SseParser, type SseEvent } from './sse.ts';
import { ModelError, type ModelProviderKind } from './types.ts';

export interface ModelHttp {
  http: HttpClient;
  /** The operator's AI_ALLOW_PRIVATE_HOSTS: a base URL may then be a private or loopback address. */
  allowPrivateHosts: boolean;
  timeoutMs: number;
  maxResponseBytes: number;
}

export interface ModelCall {
  kind: ModelProviderKind;
  url: string;
  headers: Record<string, string>;
  body: Record<string, unknown>;
  /** The key, to be cut out of any text that could reach a log or an answer. */
  secret: string;
  /** Streamed: each event of a 2xx answer; the call ends when the stream does. */
  onEvent?: (e: SseEvent) => void;
  /** Reads the provider's error body into its message (each API has its own shape). */
  errorMessage(body: unknown): string | undefined;
}

/** The parsed JSON of a 2xx answer (undefined for a streamed one). */
export async function callModel(d: ModelHttp, c: ModelCall): Promise<unknown> {
  const parser = c.onEvent ? new SseParser(c.onEvent) : undefined;
  let res;
  try {
    res = await d.http.request({
      method: 'POST', url: c.url, provider: `ai_${c.kind}`, operation: c.onEvent ? 'stream' : 'complete',
      headers: { ...c.headers, accept: c.onEvent ? 'text/event-stream' : 'application/json' }, body: c.body,
      timeoutMs: d.timeoutMs, maxBodyBytes: d.maxResponseBytes, userSuppliedHost: !d.allowPrivateHosts,
      // Nothing sent means nothing generated nor billed: safe to try again.
      retryUnsent: true,
      ...(parser ? { onBody: (chunk: Buffer) => parser.push(chunk) } : {}),
    });
  } catch (err) {
    throw transportFailure(err, c.secret);
  }
  if (res.status >= 200 && res.status < 300) {
    if (parser) {
      parser.end();
      return undefined;
    }
    try {
      return res.json();
    } catch {
      throw new ModelError('malformed', `the model provider answered ${res.status} with a body that is not JSON`, undefined, res.status);
    }
  }
  let detail: string | undefined;
  try {
    detail = c.errorMessage(res.json());
  } catch {
    detail = undefined;
  }
  const said = detail ? `: ${redact(detail, c.secret).slice(0, 300)}` : '';
  const retryAfterMs = parseRetryAfter(res.headers['retry-after']);
  if (res.status === 429) throw new ModelError('rate_limited', `the model provider's rate limit was reached (429)${said}`, retryAfterMs, 429);
  if (res.status === 401 || res.status === 403) throw new ModelError('auth', `the model provider refused the API key (${res.status})${said}`, undefined, res.status);
  if (res.status >= 500) throw new ModelError('unavailable', `the model provider is unavailable (${res.status})${said}`, retryAfterMs, res.status);
  throw new ModelError('refused', `the model provider refused the request (${res.status})${said}`, undefined, res.status);
}

function transportFailure(err: unknown, secret: string): unknown {
  if (err instanceof ModelError) return err;
  if (err instanceof ResponseTooLargeError) return new ModelError('too_large', 'the model provider\'s answer was larger than AI_MAX_RESPONSE_BYTES');
  if (err instanceof DeadlineError) return new ModelError('timeout', `the model provider did not answer in time (${err.message})`);
  if (err instanceof TransportError) {
    if (err.reason === 'blocked_host') {
      return new ModelError('blocked_host', `${redact(err.message, secret)}. A model server on a private address (a local Ollama) needs the operator setting AI_ALLOW_PRIVATE_HOSTS=true`);
    }
    if (err.reason === 'timeout') return new ModelError('timeout', 'the model provider did not answer in time');
    return new ModelError('network', `could not reach the model provider: ${redact(err.message, secret)}`);
  }
  // The stream's own parsing failed (a line too long, an event that is not JSON).
  if (err instanceof Error) return new ModelError('malformed', `the model provider's stream was malformed: ${redact(err.message, secret)}`);
  return err;
}

/** Text without the key, nor anything shaped like a provider key. */
export function redact(text: string, secret: string): string {
  let out = secret.length >= 4 ? text.split(secret).join('[redacted]') : text;
  out = out.replace(/\b(sk|sk-ant|sk-proj)-[A-Za-z0-9_-]{6,}/g, '[redacted]');
  return out;
}

/** The base URL with the API path appended, whatever slashes the admin typed. */
export function endpoint(baseUrl: string, path: string): string {
  return `${baseUrl.replace(/\/+$/, '')}/${path.replace(/^\/+/, '')}`;
}

/** JSON of one stream event, or a malformed-answer error naming the API. */
export function eventJson(kind: ModelProviderKind, data: string): Record<string, unknown> {
  try {
    const v = JSON.parse(data) as unknown;
    if (v && typeof v === 'object' && !Array.isArray(v)) return v as Record<string, unknown>;
  } catch { /* reported below */ }
  throw new ModelError('malformed', `the ${kind === 'openai' ? 'OpenAI-compatible' : 'Anthropic'} stream carried an event that is not a JSON object`);
}
