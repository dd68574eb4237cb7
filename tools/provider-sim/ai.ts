// Model providers, simulated: an OpenAI-compatible Chat Completions server under /ai/openai/v1 and Anthropic's
// Messages API under /ai/anthropic, with the request, answer, stream and error shapes of src/infra/ai/openai.ts
// and anthropic.ts (and the pages cited there). A test scripts the next answers (text, an error status with
// Retry-After, a malformed body or stream, a stream cut short, an answer that never comes) and reads back
// every request. Unscripted, it answers with the post it was given, cut to the length the prompt asks for
// (and a classification prompt with labels chosen by a few words), so the assistant can be tried with no model anywhere.
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';

export interface AiStep {
  /** The answer's text (default: the unscripted answer). */
  text?: string;
  /** Answer this status with the API's error body instead. */
  status?: number;
  retryAfter?: string;
  errorType?: string;
  /** A body that is not JSON (or, streamed, an event that is not). */
  malformed?: boolean;
  /** Streamed: the stream ends before its last event. */
  truncate?: boolean;
  /** Streamed: an error event in the middle of the stream (Anthropic's overloaded_error, or an OpenAI-style error chunk). */
  midStreamError?: boolean;
  /** Never answer (until the client gives up). */
  hang?: boolean;
  inputTokens?: number;
  outputTokens?: number;
}

export interface AiRequest {
  api: 'openai' | 'anthropic';
  headers: Record<string, string | undefined>;
  body: Record<string, unknown>;
}

export class AiSimState {
  script: AiStep[] = [];
  requests: AiRequest[] = [];
  private readonly hanging = new Set<FastifyReply>();

  reset(): void {
    this.script = [];
    this.requests = [];
    for (const r of this.hanging) r.raw.destroy();
    this.hanging.clear();
  }

  /** Answers held open (steps with `hang`) whose client is still connected. */
  holding(): number {
    return this.hanging.size;
  }

  hold(reply: FastifyReply): void {
    this.hanging.add(reply);
    reply.raw.on('close', () => this.hanging.delete(reply));
  }
}

const tokens = (s: string) => Math.max(1, Math.ceil(s.length / 4));

/** The unscripted answer: the material it was given (or a line for a brief), within the length asked. */
export function defaultAnswer(prompt: string): string {
  if (/^Label each of the \d+ messages/.test(prompt)) return classifyAnswer(prompt);
  if (/^Write the alt text for the image/.test(prompt)) return 'A plain grey square with nothing else in it.';
  if (/Suggest up to \d+ hashtags/.test(prompt)) return '#AllIN #SocialMedia #Scheduling';
  if (/^Suggest one reply/.test(prompt)) return 'Thank you for writing to us! We will look into it and get back to you.';
  const post = /<data label="(?:post|brief)">\n([\s\S]*?)\n<\/data>/.exec(prompt)?.[1] ?? 'A post written by the simulated model.';
  const target = Number(/aim for no more than (\d+)/.exec(prompt)?.[1] ?? 'NaN');
  const text = post.trim();
  return Number.isFinite(target) && [...text].length > target ? [...text].slice(0, Math.max(1, target - 1)).join('').trimEnd() + '…' : text;
}

/** The unscripted labels of a classification prompt: by a few words, so a demo inbox gets believable ones. */
function classifyAnswer(prompt: string): string {
  const verdicts = [...prompt.matchAll(/<data label="message (\d+)">\n([\s\S]*?)\n<\/data>/g)].map(([, n, text]) => {
    const t = text!.toLowerCase();
    const intent = /https?:\/\/|crypto|free money|ignore your/.test(t) ? 'spam' : /broken|refund|terrible|angry|worst|late/.test(t) ? 'complaint'
      : /\?/.test(t) ? 'question' : /love|thank|great|amazing/.test(t) ? 'praise' : 'other';
    const sentiment = intent === 'complaint' ? 'negative' : intent === 'praise' ? 'positive' : 'neutral';
    const urgency = intent === 'complaint' || /urgent|asap|today/.test(t) ? 'high' : intent === 'spam' || intent === 'praise' ? 'low' : 'normal';
    return { n: Number(n), intent, sentiment, urgency };
  });
  return JSON.stringify(verdicts);
}

const chunksOf = (s: string) => s.match(/[\s\S]{1,8}/g) ?? [];

export function registerAi(app: FastifyInstance, state: AiSimState): void {
  const take = (api: 'openai' | 'anthropic', req: FastifyRequest): AiStep => {
    state.requests.push({ api, headers: { ...req.headers } as Record<string, string | undefined>, body: (req.body ?? {}) as Record<string, unknown> });
    return state.script.shift() ?? {};
  };
  const lastUser = (body: Record<string, unknown>) => {
    const messages = Array.isArray(body.messages) ? body.messages as { role?: string; content?: unknown }[] : [];
    const c = [...messages].reverse().find((m) => m.role === 'user')?.content ?? '';
    // Parts (a message with an image): its text parts.
    return Array.isArray(c) ? c.filter((p: { type?: string }) => p.type === 'text').map((p: { text?: unknown }) => String(p.text ?? '')).join('\n') : String(c);
  };
  /** An image among the messages' parts: image_url (OpenAI) or image (Anthropic). A model named *text-only* cannot see. */
  const hasImage = (body: Record<string, unknown>) => (Array.isArray(body.messages) ? body.messages as { content?: unknown }[] : [])
    .some((m) => Array.isArray(m.content) && m.content.some((p: { type?: string }) => p.type === 'image_url' || p.type === 'image'));
  const blind = (body: Record<string, unknown>) => typeof body.model === 'string' && body.model.includes('text-only') && hasImage(body);
  const sse = (reply: FastifyReply) => {
    reply.hijack();
    reply.raw.writeHead(200, { 'content-type': 'text/event-stream', 'cache-control': 'no-cache' });
    return (s: string) => reply.raw.write(s);
  };

  // https://platform.openai.com/docs/api-reference/chat/create
  app.post('/ai/openai/v1/chat/completions', async (req, reply) => {
    const step = take('openai', req);
    const body = (req.body ?? {}) as Record<string, unknown>;
    if (step.hang) return state.hold(reply), new Promise(() => {});
    const auth = req.headers.authorization;
    if (!auth?.startsWith('Bearer ') || auth === 'Bearer wrong') {
      return reply.status(401).send({ error: { message: `Incorrect API key provided: ${auth?.slice(7) ?? ''}`, type: 'invalid_request_error', code: 'invalid_api_key' } });
    }
    if (step.status) {
      if (step.retryAfter) reply.header('retry-after', step.retryAfter);
      return reply.status(step.status).send({ error: { message: `Simulated ${step.status}`, type: step.errorType ?? (step.status === 429 ? 'rate_limit_error' : 'server_error'), code: null } });
    }
    if (typeof body.model !== 'string' || !Array.isArray(body.messages) || typeof body.max_tokens !== 'number') {
      return reply.status(400).send({ error: { message: 'model, messages and max_tokens are required', type: 'invalid_request_error', code: null } });
    }
    if (blind(body)) return reply.status(400).send({ error: { message: 'Invalid content type. image_url is only supported by certain models.', type: 'invalid_request_error', code: null } });
    const text = step.text ?? defaultAnswer(lastUser(body));
    const prompt = JSON.stringify(body.messages);
    const usage = { prompt_tokens: step.inputTokens ?? tokens(prompt), completion_tokens: step.outputTokens ?? tokens(text) };
    const model = `${body.model}-sim`;
    if (body.stream !== true) {
      if (step.malformed) return reply.type('application/json').send('{"choices": [');
      return { id: 'chatcmpl-sim', object: 'chat.completion', model, choices: [{ index: 0, message: { role: 'assistant', content: text }, finish_reason: 'stop' }], usage: { ...usage, total_tokens: usage.prompt_tokens + usage.completion_tokens } };
    }
    const write = sse(reply);
    const chunk = (delta: object, finish: string | null) => `data: ${JSON.stringify({ id: 'chatcmpl-sim', object: 'chat.completion.chunk', model, choices: [{ index: 0, delta, finish_reason: finish }] })}\n\n`;
    write(chunk({ role: 'assistant', content: '' }, null));
    const parts = chunksOf(text);
    parts.forEach((p, i) => {
      write(chunk({ content: p }, null));
      if (i === 0 && step.malformed) write('data: {not json\n\n');
      if (i === 0 && step.midStreamError) write(`data: ${JSON.stringify({ error: { message: 'Simulated failure while streaming', type: 'server_error' } })}\n\n`);
    });
    if (!step.truncate) {
      write(chunk({}, 'stop'));
      if ((body.stream_options as { include_usage?: boolean } | undefined)?.include_usage) write(`data: ${JSON.stringify({ id: 'chatcmpl-sim', object: 'chat.completion.chunk', model, choices: [], usage })}\n\n`);
      write('data: [DONE]\n\n');
    }
    reply.raw.end();
  });

  // https://docs.anthropic.com/en/api/messages and https://docs.anthropic.com/en/docs/build-with-claude/streaming
  app.post('/ai/anthropic/v1/messages', async (req, reply) => {
    const step = take('anthropic', req);
    const body = (req.body ?? {}) as Record<string, unknown>;
    if (step.hang) return state.hold(reply), new Promise(() => {});
    const err = (status: number, type: string, message: string) => reply.status(status).send({ type: 'error', error: { type, message } });
    if (!req.headers['x-api-key'] || req.headers['x-api-key'] === 'wrong') return err(401, 'authentication_error', 'invalid x-api-key');
    if (req.headers['anthropic-version'] !== '2023-06-01') return err(400, 'invalid_request_error', 'anthropic-version header is required');
    if (step.status) {
      if (step.retryAfter) reply.header('retry-after', step.retryAfter);
      return err(step.status, step.errorType ?? (step.status === 429 ? 'rate_limit_error' : step.status === 529 ? 'overloaded_error' : 'api_error'), `Simulated ${step.status}`);
    }
    if (typeof body.model !== 'string' || !Array.isArray(body.messages) || typeof body.max_tokens !== 'number') return err(400, 'invalid_request_error', 'model, messages and max_tokens are required');
    if ((body.messages as { role?: string }[]).some((m) => m.role === 'system')) return err(400, 'invalid_request_error', 'messages: role must be user or assistant (the system prompt goes in `system`)');
    if (blind(body)) return err(400, 'invalid_request_error', 'This model does not support image input.');
    const text = step.text ?? defaultAnswer(lastUser(body));
    const input = step.inputTokens ?? tokens(JSON.stringify(body.messages) + String(body.system ?? ''));
    const output = step.outputTokens ?? tokens(text);
    const model = `${body.model}-sim`;
    if (body.stream !== true) {
      if (step.malformed) return reply.type('application/json').send('{"content": [');
      return { id: 'msg_sim', type: 'message', role: 'assistant', model, content: [{ type: 'text', text }], stop_reason: 'end_turn', stop_sequence: null, usage: { input_tokens: input, output_tokens: output } };
    }
    const write = sse(reply);
    const ev = (name: string, payload: object) => write(`event: ${name}\ndata: ${JSON.stringify({ type: name, ...payload })}\n\n`);
    ev('message_start', { message: { id: 'msg_sim', type: 'message', role: 'assistant', model, content: [], stop_reason: null, usage: { input_tokens: input, output_tokens: 1 } } });
    ev('content_block_start', { index: 0, content_block: { type: 'text', text: '' } });
    write('event: ping\ndata: {"type": "ping"}\n\n');
    chunksOf(text).forEach((p, i) => {
      ev('content_block_delta', { index: 0, delta: { type: 'text_delta', text: p } });
      if (i === 0 && step.malformed) write('event: content_block_delta\ndata: {not json\n\n');
      if (i === 0 && step.midStreamError) ev('error', { error: { type: 'overloaded_error', message: 'Overloaded' } });
    });
    if (!step.truncate) {
      ev('content_block_stop', { index: 0 });
      ev('message_delta', { delta: { stop_reason: 'end_turn', stop_sequence: null }, usage: { output_tokens: output } });
      ev('message_stop', {});
    }
    reply.raw.end();
  });
}
