// Anthropic's Messages API: POST {base}/v1/messages with `x-api-key` and `anthropic-version: 2023-06-01`.
// https://docs.anthropic.com/en/api/messages
//   request: { model, system, messages: [{ role: "user"|"assistant", content }], max_tokens, temperature, stream }
//   answer: { type: "message", model, content: [{ type: "text", text }], stop_reason, usage: { input_tokens, output_tokens } }
// Streaming (https://docs.anthropic.com/en/docs/build-with-claude/streaming): named events message_start
//   (message.usage.input_tokens), content_block_start, content_block_delta (delta.type "text_delta", delta.text),
//   content_block_stop, message_delta (delta.stop_reason, usage.output_tokens, cumulative), message_stop; ping;
//   and `error` ({ type: "error", error: { type: "overloaded_error", message } }) in the middle of a stream.
// Errors (https://docs.anthropic.com/en/api/errors): { type: "error", error: { type, message } }; 429
//   rate_limit_error with retry-after; 529 overloaded_error. A 429 for a spent monthly limit has no retry-after.
import { callModel, endpoint, eventJson, type ModelHttp } from './call.ts';
import { ModelError, type ChatMessage, type ModelAnswer, type ModelProvider, type ModelRequest } from './types.ts';

export const ANTHROPIC_VERSION = '2023-06-01';
export const ANTHROPIC_BASE_URL = 'https://api.anthropic.com';

export interface AnthropicSettings {
  baseUrl: string;
  apiKey: string;
  model: string;
}

const num = (v: unknown) => (typeof v === 'number' && Number.isFinite(v) && v >= 0 ? Math.round(v) : 0);

export function anthropicErrorMessage(body: unknown): string | undefined {
  const e = (body as { error?: { type?: unknown; message?: unknown } } | null)?.error;
  if (!e || typeof e !== 'object') return undefined;
  const type = typeof e.type === 'string' ? e.type : undefined;
  const message = typeof e.message === 'string' ? e.message : undefined;
  return [type, message].filter(Boolean).join(': ') || undefined;
}

/**
 * Content blocks as the Messages API takes them: `text` blocks and `image` blocks with a base64 source
 * (https://docs.anthropic.com/en/docs/build-with-claude/vision: JPEG, PNG, GIF or WebP).
 */
function anthropicContent(c: ChatMessage['content']) {
  if (typeof c === 'string') return c;
  return c.map((p) => (p.type === 'text' ? { type: 'text', text: p.text } : { type: 'image', source: { type: 'base64', media_type: p.mediaType, data: p.base64 } }));
}

export function createAnthropic(d: ModelHttp, s: AnthropicSettings): ModelProvider {
  const headers = { 'x-api-key': s.apiKey, 'anthropic-version': ANTHROPIC_VERSION };
  // The base URL is the API's origin (https://api.anthropic.com); one typed with /v1 works too.
  const url = endpoint(s.baseUrl.replace(/\/v1\/?$/, ''), 'v1/messages');
  const bodyOf = (req: ModelRequest, stream: boolean) => ({
    model: s.model, system: req.system, messages: req.messages.map((m) => ({ role: m.role, content: anthropicContent(m.content) })),
    max_tokens: req.maxOutputTokens,
    ...(req.temperature !== undefined ? { temperature: req.temperature } : {}),
    ...(stream ? { stream: true } : {}),
  });

  return {
    kind: 'anthropic',
    model: s.model,
    async complete(req, onDelta): Promise<ModelAnswer> {
      if (!onDelta) {
        const body = await callModel(d, { kind: 'anthropic', url, headers, body: bodyOf(req, false), secret: s.apiKey, errorMessage: anthropicErrorMessage }) as {
          model?: unknown; content?: { type?: unknown; text?: unknown }[]; stop_reason?: unknown; usage?: { input_tokens?: unknown; output_tokens?: unknown };
        };
        if (!Array.isArray(body?.content)) throw new ModelError('malformed', 'the Anthropic answer has no content array');
        const text = body.content.filter((b) => b?.type === 'text' && typeof b.text === 'string').map((b) => b.text as string).join('');
        return {
          text, inputTokens: num(body.usage?.input_tokens), outputTokens: num(body.usage?.output_tokens),
          model: typeof body.model === 'string' ? body.model : s.model, finishReason: typeof body.stop_reason === 'string' ? body.stop_reason : null,
        };
      }
      let text = '';
      let model = s.model;
      let finishReason: string | null = null;
      let inputTokens = 0;
      let outputTokens = 0;
      let started = false;
      let stopped = false;
      await callModel(d, {
        kind: 'anthropic', url, headers, body: bodyOf(req, true), secret: s.apiKey, errorMessage: anthropicErrorMessage,
        onEvent: (e) => {
          if (e.event === 'ping' || stopped) return;
          const ev = eventJson('anthropic', e.data);
          const type = typeof ev.type === 'string' ? ev.type : e.event;
          if (type === 'error') {
            const msg = anthropicErrorMessage(ev) ?? 'no message';
            throw new ModelError(/overloaded/.test(msg) ? 'unavailable' : /rate_limit/.test(msg) ? 'rate_limited' : 'unavailable',
              `the model provider failed while answering: ${msg}`.slice(0, 400));
          }
          if (type === 'message_start') {
            started = true;
            const m = ev.message as { model?: unknown; usage?: { input_tokens?: unknown; output_tokens?: unknown } } | undefined;
            if (typeof m?.model === 'string') model = m.model;
            inputTokens = num(m?.usage?.input_tokens);
            outputTokens = num(m?.usage?.output_tokens);
          } else if (type === 'content_block_delta') {
            const delta = ev.delta as { type?: unknown; text?: unknown } | undefined;
            if (delta?.type === 'text_delta' && typeof delta.text === 'string' && delta.text !== '') {
              text += delta.text;
              onDelta(delta.text);
            }
          } else if (type === 'message_delta') {
            const delta = ev.delta as { stop_reason?: unknown } | undefined;
            if (typeof delta?.stop_reason === 'string') finishReason = delta.stop_reason;
            // The usage of message_delta is cumulative: it replaces, not adds.
            const u = ev.usage as { output_tokens?: unknown; input_tokens?: unknown } | undefined;
            if (u?.output_tokens !== undefined) outputTokens = num(u.output_tokens);
            if (u?.input_tokens !== undefined) inputTokens = num(u.input_tokens);
          } else if (type === 'message_stop') stopped = true;
        },
      });
      if (!started || !stopped) throw new ModelError('malformed', 'the Anthropic stream ended without message_start and message_stop');
      return { text, inputTokens, outputTokens, model, finishReason };
    },
  };
}
