// The OpenAI-compatible Chat Completions API (OpenAI, Azure OpenAI's v1 endpoint, Ollama, vLLM, LM Studio,
// llama.cpp's server, OpenRouter, …): POST {base}/chat/completions with `Authorization: Bearer <key>`.
// https://platform.openai.com/docs/api-reference/chat/create
//   request: { model, messages: [{ role: "system"|"user"|"assistant", content }], max_tokens, temperature,
//   stream, stream_options: { include_usage: true } }
//   answer: { model, choices: [{ message: { content }, finish_reason }], usage: { prompt_tokens, completion_tokens } }
// Streaming (https://platform.openai.com/docs/api-reference/chat-streaming): data-only Server-Sent Events, each
//   a `chat.completion.chunk` with choices[0].delta.content; with include_usage a last chunk has `usage` and no
//   choices; the stream ends with `data: [DONE]`.
// Errors (https://platform.openai.com/docs/guides/error-codes): { error: { message, type, code } }; 429 rate
//   limits carry Retry-After (UNCONFIRMED for every compatible server: some send none, then backoff applies).
// `max_tokens` is the field every compatible server reads; OpenAI's newer `max_completion_tokens` is not sent
// (UNCONFIRMED whether each server ignores an unknown field, so only the common one goes).
import { callModel, endpoint, eventJson, type ModelHttp } from './call.ts';
import { ModelError, type ChatMessage, type ModelAnswer, type ModelProvider, type ModelRequest } from './types.ts';

export interface OpenAiSettings {
  baseUrl: string;
  apiKey: string;
  model: string;
}

interface Usage { prompt_tokens?: unknown; completion_tokens?: unknown }

const num = (v: unknown) => (typeof v === 'number' && Number.isFinite(v) && v >= 0 ? Math.round(v) : 0);

export function openAiErrorMessage(body: unknown): string | undefined {
  const e = (body as { error?: unknown } | null)?.error;
  if (typeof e === 'string') return e;
  const m = (e as { message?: unknown } | undefined)?.message;
  return typeof m === 'string' ? m : undefined;
}

/**
 * Parts as the Chat Completions API takes them: text parts and `image_url` parts whose URL is a data: URL of the
 * image (https://platform.openai.com/docs/guides/images-vision, "Passing a Base64 encoded image").
 */
function openAiContent(c: ChatMessage['content']) {
  if (typeof c === 'string') return c;
  return c.map((p) => (p.type === 'text' ? { type: 'text', text: p.text } : { type: 'image_url', image_url: { url: `data:${p.mediaType};base64,${p.base64}` } }));
}

export function createOpenAi(d: ModelHttp, s: OpenAiSettings): ModelProvider {
  const headers: Record<string, string> = s.apiKey ? { authorization: `Bearer ${s.apiKey}` } : {};
  const url = endpoint(s.baseUrl, 'chat/completions');
  const bodyOf = (req: ModelRequest, stream: boolean) => ({
    model: s.model,
    messages: [{ role: 'system', content: req.system }, ...req.messages.map((m) => ({ role: m.role, content: openAiContent(m.content) }))],
    max_tokens: req.maxOutputTokens,
    ...(req.temperature !== undefined ? { temperature: req.temperature } : {}),
    ...(stream ? { stream: true, stream_options: { include_usage: true } } : {}),
  });

  return {
    kind: 'openai',
    model: s.model,
    async complete(req, onDelta): Promise<ModelAnswer> {
      if (!onDelta) {
        const body = await callModel(d, { kind: 'openai', url, headers, body: bodyOf(req, false), secret: s.apiKey, errorMessage: openAiErrorMessage }) as {
          model?: unknown; choices?: { message?: { content?: unknown }; finish_reason?: unknown }[]; usage?: Usage;
        };
        const choice = Array.isArray(body?.choices) ? body.choices[0] : undefined;
        const text = choice?.message?.content;
        if (typeof text !== 'string') throw new ModelError('malformed', 'the OpenAI-compatible answer has no choices[0].message.content');
        return {
          text, inputTokens: num(body.usage?.prompt_tokens), outputTokens: num(body.usage?.completion_tokens),
          model: typeof body.model === 'string' ? body.model : s.model, finishReason: typeof choice?.finish_reason === 'string' ? choice.finish_reason : null,
        };
      }
      let text = '';
      let model = s.model;
      let finishReason: string | null = null;
      let usage: Usage | undefined;
      let done = false;
      await callModel(d, {
        kind: 'openai', url, headers, body: bodyOf(req, true), secret: s.apiKey, errorMessage: openAiErrorMessage,
        onEvent: (e) => {
          if (done) return;
          if (e.data === '[DONE]') {
            done = true;
            return;
          }
          const chunk = eventJson('openai', e.data);
          // Some servers report a failure inside the stream, after a 200.
          if (chunk.error !== undefined) throw new ModelError('unavailable', `the model provider failed while answering: ${openAiErrorMessage(chunk) ?? 'no message'}`.slice(0, 400));
          if (typeof chunk.model === 'string') model = chunk.model;
          if (chunk.usage && typeof chunk.usage === 'object') usage = chunk.usage as Usage;
          const choices = chunk.choices;
          if (!Array.isArray(choices)) {
            if (chunk.usage !== undefined) return;
            throw new ModelError('malformed', 'an OpenAI-compatible stream chunk has no choices');
          }
          const c = choices[0] as { delta?: { content?: unknown }; finish_reason?: unknown } | undefined;
          if (typeof c?.finish_reason === 'string') finishReason = c.finish_reason;
          const piece = c?.delta?.content;
          if (typeof piece === 'string' && piece !== '') {
            text += piece;
            onDelta(piece);
          }
        },
      });
      if (!done) throw new ModelError('malformed', 'the OpenAI-compatible stream ended before data: [DONE]');
      return { text, inputTokens: num(usage?.prompt_tokens), outputTokens: num(usage?.completion_tokens), model, finishReason };
    },
  };
}
