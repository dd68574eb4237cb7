// Model providers behind one interface (types.ts): an adapter per API, chosen by a workspace's settings,
// each call retried by the one retry loop when the provider said it was busy and nothing reached the user yet.
import { withRetries, type Backoff } from '../retry.ts';
import { createAnthropic } from './anthropic.ts';
import { createOpenAi } from './openai.ts';
import type { ModelHttp } from './call.ts';
import { ModelError, type ModelProvider, type ModelProviderKind } from './types.ts';

export { ModelError, MODEL_PROVIDER_KINDS } from './types.ts';
export type { ChatMessage, ContentPart, ModelAnswer, ModelErrorReason, ModelProvider, ModelProviderKind, ModelRequest } from './types.ts';
export type { ModelHttp } from './call.ts';
export { ANTHROPIC_BASE_URL } from './anthropic.ts';

export interface ModelSettings {
  kind: ModelProviderKind;
  baseUrl: string;
  apiKey: string;
  model: string;
}

export function createModelProvider(d: ModelHttp, s: ModelSettings): ModelProvider {
  return s.kind === 'anthropic' ? createAnthropic(d, s) : createOpenAi(d, s);
}

/**
 * Tries again on a 429 or an outage, waiting what the provider asked (up to maxRetryAfterMs; a longer wait
 * goes back to the caller with its retryAfterMs), but only while no text has been streamed: a second try
 * after the person saw half an answer would show them two.
 */
export function withModelRetries(p: ModelProvider, opts: { retries: number; backoff: Backoff; onRetry?: (err: ModelError) => void }): ModelProvider {
  return {
    kind: p.kind,
    model: p.model,
    complete(req, onDelta) {
      let streamed = false;
      const relay = onDelta ? (t: string) => {
        streamed = true;
        onDelta(t);
      } : undefined;
      return withRetries(() => p.complete(req, relay), {
        retries: opts.retries,
        backoff: opts.backoff,
        retryOn: (r) => {
          if (r.ok || streamed || !(r.error instanceof ModelError)) return false;
          const e = r.error;
          if (e.reason !== 'rate_limited' && e.reason !== 'unavailable') return false;
          // A 429 without Retry-After (a spent monthly allowance at Anthropic) will not pass by waiting.
          if (e.reason === 'rate_limited' && e.retryAfterMs === undefined) return false;
          opts.onRetry?.(e);
          return { retryAfterMs: e.retryAfterMs };
        },
      });
    },
  };
}
