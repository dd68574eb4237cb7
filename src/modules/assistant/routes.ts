// /api/workspaces/:workspaceId/assistant: the writing assistant (docs/ASSISTANT.md). Its settings and usage
// need assistant.manage; suggestions need assistant.use. A suggestion answers JSON, or Server-Sent Events when
// the request accepts text/event-stream (the text as it is written, then the checked result). Nothing here
// publishes: a suggestion goes back to the person, who may put it in a post.
import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import type { FastifyReply, FastifyRequest } from 'fastify';
import { Type, type TSchema } from 'typebox';
import { DomainError, Invalid } from '../../domain/errors.ts';
import { answerOfDomainError } from '../../http/errors.ts';
import type { AuthGuards } from '../auth/index.ts';
import { auditActor, errors, Uuid, WorkspaceParams, type WorkspaceAccessFactory } from '../workspaces/index.ts';
import { MODEL_PROVIDER_KINDS } from '../../infra/ai/index.ts';
import { FEATURES, REWRITE_MODES, type AssistantService, type Feature, type SuggestInput, type SuggestResult } from './service.ts';
import { HOW_TO_ENABLE, MAX_EXAMPLE_POSTS, publicSettings, type AssistantSettings } from './settings.ts';

export interface AssistantRouteDeps {
  assistant: AssistantService;
  settings: AssistantSettings;
  guards: AuthGuards;
  workspaceAccess: WorkspaceAccessFactory;
}

const ProviderKind = Type.Enum([...MODEL_PROVIDER_KINDS], { description: 'openai: any OpenAI-compatible Chat Completions server; anthropic: Anthropic\'s Messages API' });
const SettingsSchema = Type.Object({
  provider: Type.String(),
  baseUrl: Type.String(),
  model: Type.String(),
  hasApiKey: Type.Boolean({ description: 'Whether a key is stored (it is never shown)' }),
  monthlyTokenBudget: Type.Integer(),
  voiceNotes: Type.String(),
  examplePosts: Type.Array(Type.String()),
  vision: Type.Boolean({ description: 'The model can see images: alt text suggestions are offered' }),
  updatedAt: Type.String({ format: 'date-time' }),
});
const Tokens = { requests: Type.Integer(), inputTokens: Type.Integer(), outputTokens: Type.Integer() };
const StatusSchema = Type.Object({
  enabled: Type.Boolean(),
  provider: Type.Union([Type.String(), Type.Null()]),
  model: Type.Union([Type.String(), Type.Null()]),
  monthlyTokenBudget: Type.Union([Type.Integer(), Type.Null()]),
  usedThisMonth: Type.Integer({ description: 'Tokens (input and output) used this UTC month' }),
  howToEnable: Type.Union([Type.String(), Type.Null()], { description: 'When off: how an owner or admin turns the assistant on' }),
});
const ProblemSchema = Type.Object({
  accountId: Type.Union([Type.String(), Type.Null()]), provider: Type.Union([Type.String(), Type.Null()]), field: Type.String(), message: Type.String(),
});
const ResultSchema = Type.Object({
  feature: Type.String(), provider: Type.String(), model: Type.String({ description: 'The model that answered, as the provider named it' }),
  suggestions: Type.Array(Type.Object({
    accountId: Type.Union([Type.String(), Type.Null()], { description: 'adapt: the account this version is for; otherwise null' }),
    provider: Type.Union([Type.String(), Type.Null()]),
    text: Type.String(),
    hashtags: Type.Optional(Type.Array(Type.String())),
    problems: Type.Array(ProblemSchema, { description: 'Empty when the text fits every selected network; otherwise what still does not fit after one retry' }),
    retried: Type.Boolean({ description: 'The first answer did not fit and the model was asked again with the reason' }),
  })),
  usage: Type.Object({ inputTokens: Type.Integer(), outputTokens: Type.Integer() }),
});

const Text = Type.String({ minLength: 1, maxLength: 10_000, description: 'The post text to work on' });
const common = {
  accountIds: Type.Optional(Type.Array(Uuid('Social account id'), { maxItems: 20, uniqueItems: true, description: 'The selected accounts: every suggestion is checked against their networks\' rules' })),
  mediaIds: Type.Optional(Type.Array(Uuid('Media id'), { maxItems: 20, uniqueItems: true, description: 'The post\'s media, for networks whose text limit changes with media (captions)' })),
};
const BODIES: Record<Feature, TSchema> = {
  draft: Type.Object({ brief: Type.String({ minLength: 1, maxLength: 4000, description: 'What the post should say' }), ...common }, { additionalProperties: false }),
  rewrite: Type.Object({
    text: Text, mode: Type.Enum([...REWRITE_MODES], { description: REWRITE_MODES.join(', ') }),
    tone: Type.Optional(Type.String({ minLength: 1, maxLength: 100, description: 'mode "tone": the tone wanted (e.g. playful, formal)' })), ...common,
  }, { additionalProperties: false }),
  adapt: Type.Object({ text: Text, accountIds: Type.Array(Uuid('Social account id'), { minItems: 1, maxItems: 20, uniqueItems: true, description: 'One version is written for each account\'s network' }), mediaIds: common.mediaIds }, { additionalProperties: false }),
  hashtags: Type.Object({ text: Text, count: Type.Optional(Type.Integer({ minimum: 1, maximum: 30, default: 5 })), ...common }, { additionalProperties: false }),
  translate: Type.Object({ text: Text, language: Type.String({ minLength: 2, maxLength: 60, description: 'The language to translate into, e.g. German or pt-BR' }), ...common }, { additionalProperties: false }),
  'alt-text': Type.Object({
    mediaId: Uuid('An image of the workspace\'s media library'),
    text: Type.Optional(Type.String({ maxLength: 10_000, description: 'The post the image goes with, as context' })),
    language: Type.Optional(Type.String({ minLength: 2, maxLength: 60, description: 'The language to write in (default: the post\'s, or English)' })),
  }, { additionalProperties: false }),
  reply: Type.Object({
    conversationId: Uuid('Inbox conversation id'),
    messageId: Type.Optional(Uuid('The message to answer (default: the newest one from someone else)')),
  }, { additionalProperties: false }),
};
const SUMMARIES: Record<Feature, string> = {
  draft: 'Draft a post from a brief',
  rewrite: 'Rewrite a post: shorter, longer, simpler or in another tone',
  adapt: 'Adapt a post to each selected account\'s network (one version per account)',
  hashtags: 'Suggest hashtags for a post',
  translate: 'Translate a post',
  'alt-text': 'Suggest alt text for an image, from a model that can see (409 AI_NO_VISION when the workspace\'s model is not marked so)',
  reply: 'Suggest a reply to an inbox conversation (nothing is sent: a person uses it in the reply box)',
};

const frame = (event: string, payload: unknown) => `event: ${event}\ndata: ${JSON.stringify(payload)}\n\n`;

export const assistantRoutes: FastifyPluginAsyncTypebox<AssistantRouteDeps> = async (app, d) => {
  const tags = ['assistant'];
  const manage = [d.guards.any, d.workspaceAccess('assistant.manage')];
  const use = [d.guards.any, d.workspaceAccess('assistant.use')];

  app.get('/assistant', {
    preHandler: use,
    schema: { tags, summary: 'Whether the assistant is on here, its model, and this month\'s tokens', params: WorkspaceParams, response: { 200: StatusSchema, ...errors(400, 401, 403, 404, 429) } },
  }, async (req) => {
    const s = await d.settings.get(req.params.workspaceId);
    return {
      enabled: s !== null, provider: s?.provider ?? null, model: s?.model ?? null, monthlyTokenBudget: s?.monthlyTokenBudget ?? null,
      usedThisMonth: await d.assistant.monthUsed(req.params.workspaceId), howToEnable: s ? null : HOW_TO_ENABLE,
    };
  });

  app.get('/assistant/settings', {
    preHandler: manage,
    schema: {
      tags, summary: 'The assistant\'s settings (never the key)', params: WorkspaceParams,
      response: { 200: Type.Object({ settings: Type.Union([SettingsSchema, Type.Null()]), howToEnable: Type.Union([Type.String(), Type.Null()]) }), ...errors(400, 401, 403, 404, 429) },
    },
  }, async (req) => {
    const s = await d.settings.get(req.params.workspaceId);
    return { settings: s ? publicSettings(s) : null, howToEnable: s ? null : HOW_TO_ENABLE };
  });

  app.put('/assistant/settings', {
    preHandler: manage,
    schema: {
      tags, summary: 'Turn the assistant on, or change its provider, model, key, budget or brand voice',
      description: 'The key is stored encrypted and never shown again. Leave apiKey out to keep the stored one (refused when provider or baseUrl change: a key goes only to the host it was given for); null removes it. '
        + 'A private or loopback baseUrl (a local Ollama) is refused unless the operator set AI_ALLOW_PRIVATE_HOSTS=true.',
      params: WorkspaceParams,
      body: Type.Object({
        provider: ProviderKind,
        baseUrl: Type.Optional(Type.String({ minLength: 1, maxLength: 500, description: 'The API\'s base URL (default https://api.openai.com/v1 or https://api.anthropic.com); for Ollama e.g. http://localhost:11434/v1' })),
        model: Type.String({ minLength: 1, maxLength: 200, description: 'The model name the provider knows, e.g. gpt-4o-mini, llama3.1, claude-sonnet-4-5' }),
        apiKey: Type.Optional(Type.Union([Type.String({ maxLength: 500 }), Type.Null()])),
        monthlyTokenBudget: Type.Optional(Type.Integer({ minimum: 0, maximum: 1_000_000_000, description: 'Input and output tokens the workspace may use per UTC month' })),
        voiceNotes: Type.Optional(Type.String({ maxLength: 4000, description: 'How the brand writes: tone, words to use and avoid, emoji, audience' })),
        examplePosts: Type.Optional(Type.Array(Type.String({ maxLength: 3000 }), { maxItems: MAX_EXAMPLE_POSTS, description: 'Posts that sound right, given to the model as examples of the voice' })),
        vision: Type.Optional(Type.Boolean({ description: 'The model can see images (e.g. gpt-4o, Claude, llava): alt text suggestions send it the image; without it they are refused (409 AI_NO_VISION)' })),
      }, { additionalProperties: false }),
      response: { 200: SettingsSchema, ...errors(400, 401, 403, 404, 429) },
    },
  }, async (req, reply) => {
    const b = req.body;
    for (const [field, v] of [['voiceNotes', b.voiceNotes], ['apiKey', b.apiKey], ...(b.examplePosts ?? []).map((p, i) => [`examplePosts[${i}]`, p])] as [string, unknown][]) {
      if (typeof v === 'string' && v.includes('\u0000')) throw new Invalid('VALIDATION_FAILED', `${field} must not contain NUL characters`, [{ field: `body.${field}`, message: 'contains NUL' }]);
    }
    const row = await d.settings.put(req.params.workspaceId, {
      provider: b.provider, model: b.model,
      ...(b.baseUrl !== undefined ? { baseUrl: b.baseUrl } : {}), ...(b.apiKey !== undefined ? { apiKey: b.apiKey } : {}),
      ...(b.monthlyTokenBudget !== undefined ? { monthlyTokenBudget: b.monthlyTokenBudget } : {}),
      ...(b.voiceNotes !== undefined ? { voiceNotes: b.voiceNotes } : {}), ...(b.examplePosts !== undefined ? { examplePosts: b.examplePosts } : {}),
      ...(b.vision !== undefined ? { vision: b.vision } : {}),
    }, auditActor(req));
    reply.header('cache-control', 'no-store');
    return publicSettings(row);
  });

  app.delete('/assistant/settings', {
    preHandler: manage,
    schema: { tags, summary: 'Turn the assistant off (its key is deleted; usage history stays)', params: WorkspaceParams, response: { 204: Type.Null(), ...errors(400, 401, 403, 404, 429) } },
  }, async (req, reply) => {
    await d.settings.remove(req.params.workspaceId, auditActor(req));
    return reply.status(204).send(null);
  });

  app.get('/assistant/usage', {
    preHandler: manage,
    schema: {
      tags, summary: 'Tokens used in a month, per member (or API key) and per feature', params: WorkspaceParams,
      querystring: Type.Object({ month: Type.Optional(Type.String({ pattern: '^\\d{4}-(0[1-9]|1[0-2])$', description: 'YYYY-MM (UTC); default: this month' })) }, { additionalProperties: false }),
      response: {
        200: Type.Object({
          month: Type.String(), from: Type.String({ format: 'date-time' }), to: Type.String({ format: 'date-time' }),
          monthlyTokenBudget: Type.Union([Type.Integer(), Type.Null()]),
          total: Type.Object(Tokens),
          byUser: Type.Array(Type.Object({ userId: Type.Union([Type.String(), Type.Null()]), apiKeyId: Type.Union([Type.String(), Type.Null()]), ...Tokens })),
          byFeature: Type.Array(Type.Object({ feature: Type.String(), ...Tokens })),
        }),
        ...errors(400, 401, 403, 404, 429),
      },
    },
  }, async (req) => {
    const month = req.query.month ? new Date(`${req.query.month}-01T00:00:00Z`) : new Date();
    const s = await d.settings.get(req.params.workspaceId);
    return { ...(await d.assistant.usage(req.params.workspaceId, month)), monthlyTokenBudget: s?.monthlyTokenBudget ?? null };
  });

  for (const feature of FEATURES) {
    app.post(`/assistant/${feature}`, {
      preHandler: use,
      schema: {
        tags, summary: SUMMARIES[feature],
        description: 'Each suggestion is checked by the same rules as a post for the selected accounts; one that does not fit is sent back to the model once with the reason, then returned with `problems` named. '
          + 'Nothing is published or saved. With `Accept: text/event-stream` the answer is Server-Sent Events: `delta` {index, text} as the text is written, `retry` {index, problems} when a suggestion is asked again, '
          + 'then `result` (the JSON answer below) or `error` (the error body). 409 ASSISTANT_OFF: not configured (the message says how to turn it on); 429 AI_BUDGET_EXHAUSTED: the month\'s tokens are spent (nothing was sent to the model).',
        params: WorkspaceParams,
        body: BODIES[feature],
        produces: ['application/json', 'text/event-stream'],
        response: { 200: ResultSchema, ...errors(400, 401, 403, 404, 409, 422, 429, 503) },
      },
    }, async (req, reply) => {
      const workspaceId = (req.params as { workspaceId: string }).workspaceId;
      const body = req.body as Record<string, unknown>;
      const input = { ...body, feature, accountIds: (body.accountIds as string[] | undefined) ?? [] } as SuggestInput;
      if (input.feature === 'rewrite' && input.mode === 'tone' && !input.tone) {
        throw new Invalid('VALIDATION_FAILED', 'body.tone: mode "tone" needs the tone wanted (e.g. "playful")', [{ field: 'body.tone', message: 'required with mode "tone"' }]);
      }
      const actor = auditActor(req);
      if (!/\btext\/event-stream\b/.test(req.headers.accept ?? '')) return d.assistant.suggest(workspaceId, actor, input);
      // Refusals that need no model (off, budget spent) answer as ordinary errors, before the stream starts.
      await d.assistant.ready(workspaceId, feature);
      return stream(req, reply, (events, signal) => d.assistant.suggest(workspaceId, actor, input, events, signal));
    });
  }
};

/** The suggestion as Server-Sent Events; the model calls end when the client goes away. */
async function stream(req: FastifyRequest, reply: FastifyReply,
  run: (events: { delta(i: number, t: string): void; retry(i: number, p: unknown): void }, signal: AbortSignal) => Promise<SuggestResult>): Promise<void> {
  const ac = new AbortController();
  const raw = reply.raw;
  reply.hijack();
  raw.on('close', () => ac.abort(new Error('the client closed the stream')));
  raw.writeHead(200, {
    'content-type': 'text/event-stream; charset=utf-8', 'cache-control': 'no-cache, no-transform', 'x-accel-buffering': 'no', 'x-request-id': req.id,
  });
  // The head goes now: the client knows the stream started before the model writes anything.
  raw.flushHeaders();
  const write = (s: string) => { if (!raw.destroyed) raw.write(s); };
  try {
    const result = await run({
      delta: (index, text) => write(frame('delta', { index, text })),
      retry: (index, problems) => write(frame('retry', { index, problems })),
    }, ac.signal);
    write(frame('result', result));
  } catch (err) {
    if (err instanceof DomainError) {
      const { status, headers } = answerOfDomainError(err);
      write(frame('error', { statusCode: status, code: err.code, message: err.message, ...(err.details !== undefined ? { details: err.details } : {}),
        ...(headers['retry-after'] ? { retryAfterSeconds: Number(headers['retry-after']) } : {}), requestId: req.id }));
    } else {
      if (!ac.signal.aborted) req.log.error({ err }, 'assistant stream failed');
      write(frame('error', { statusCode: 500, code: 'INTERNAL', message: 'Something went wrong on our side; try again.', requestId: req.id }));
    }
  } finally {
    raw.end();
  }
}
