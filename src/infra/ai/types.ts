// What the assistant asks of a language model, whoever serves it: a system text, a conversation, a cap on
// the answer's tokens; back comes the text (streamed piece by piece when asked) and the tokens counted.
// Each adapter (openai.ts, anthropic.ts) turns its API's failures into one ModelError with a reason.

export type ModelProviderKind = 'openai' | 'anthropic';
export const MODEL_PROVIDER_KINDS: readonly ModelProviderKind[] = ['openai', 'anthropic'];

/** A piece of a message: text, or an image given inline (base64) to a model that can see. */
export type ContentPart = { type: 'text'; text: string } | { type: 'image'; mediaType: string; base64: string };

export interface ChatMessage {
  role: 'user' | 'assistant';
  /** Text, or parts for a message with an image (only for a vision-capable model). */
  content: string | ContentPart[];
}

export interface ModelRequest {
  system: string;
  messages: ChatMessage[];
  maxOutputTokens: number;
  temperature?: number;
}

export interface ModelAnswer {
  text: string;
  /** Tokens as the provider counted them; 0 when it did not say (some OpenAI-compatible servers). */
  inputTokens: number;
  outputTokens: number;
  /** The model that answered, as the provider named it. */
  model: string;
  /** Why it stopped: "stop"/"end_turn" (done), "length"/"max_tokens" (cut short), … as the provider says. */
  finishReason: string | null;
}

export interface ModelProvider {
  readonly kind: ModelProviderKind;
  readonly model: string;
  /** One answer; `onDelta` receives its text as it streams in. */
  complete(req: ModelRequest, onDelta?: (text: string) => void): Promise<ModelAnswer>;
}

export type ModelErrorReason =
  /** The provider's rate limit (429): retryAfterMs says when, when it said. */
  | 'rate_limited'
  /** Overloaded or down (5xx, 529, connection refused). */
  | 'unavailable'
  /** The key was refused (401, 403). */
  | 'auth'
  /** The provider refused the request itself (400, 404: no such model, context too long). */
  | 'refused'
  /** The answer was not what the API documents (not JSON, no text, a broken stream). */
  | 'malformed'
  /** No complete answer within the deadline. */
  | 'timeout'
  /** The base URL is a private or loopback address, and the operator did not allow those for AI providers. */
  | 'blocked_host'
  /** The answer was larger than the size cap. */
  | 'too_large'
  /** The connection failed in another way. */
  | 'network';

export class ModelError extends Error {
  constructor(
    readonly reason: ModelErrorReason,
    message: string,
    /** When the provider said how long to wait (Retry-After), in milliseconds. */
    readonly retryAfterMs?: number,
    /** The provider's HTTP status, when there was an answer. */
    readonly status?: number,
  ) {
    super(message);
    this.name = 'ModelError';
  }
}
