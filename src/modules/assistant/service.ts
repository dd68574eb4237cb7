// The writing assistant: drafts, rewrites, adaptations per network, hashtags and translations, from the
// workspace's model provider. Every suggestion is checked by the posts module's own validation (each network's
// counting and limits); one that does not fit is sent back to the model once with the reason, then returned
// with its problems named. Nothing here publishes, schedules or saves a post: a person chooses.
// Each request is budgeted (the workspace's monthly tokens, checked before anything is sent), counted
// (assistant_usage, Prometheus) and audited (who, feature, model, tokens; never the content).
import { and, eq, gte, lt, sql } from 'drizzle-orm';
import { Conflict, RateLimited, Unavailable } from '../../domain/errors.ts';
import type { Db } from '../../infra/db/client.ts';
import type { HttpClient } from '../../infra/http/client.ts';
import type { Logger } from '../../infra/logger.ts';
import type { Metrics } from '../../infra/metrics.ts';
import type { Backoff } from '../../infra/retry.ts';
import { createModelProvider, withModelRetries, ModelError, type ChatMessage, type ContentPart, type ModelProvider, type ModelRequest } from '../../infra/ai/index.ts';
import type { ProviderRegistry } from '../../providers/registry.ts';
import type { ProviderId } from '../../providers/types.ts';
import { audit } from '../audit/index.ts';
import type { Account, PostValidator } from '../posts/index.ts';
import type { ReplyContext } from '../inbox/index.ts';
import { data, type PromptBook } from './prompts.ts';
import { HOW_TO_ENABLE, type Actor, type AssistantSettings, type SettingsRow } from './settings.ts';
import { assistantBudget, assistantUsage } from './schema.ts';

export const FEATURES = ['draft', 'rewrite', 'adapt', 'hashtags', 'translate', 'reply', 'alt-text'] as const;
export type Feature = (typeof FEATURES)[number];
export const REWRITE_MODES = ['shorter', 'longer', 'simpler', 'tone'] as const;
export type RewriteMode = (typeof REWRITE_MODES)[number];

interface Common { accountIds: string[]; mediaIds?: string[] }
export type SuggestInput =
  | Common & { feature: 'draft'; brief: string }
  | Common & { feature: 'rewrite'; text: string; mode: RewriteMode; tone?: string }
  | Common & { feature: 'adapt'; text: string }
  | Common & { feature: 'hashtags'; text: string; count?: number }
  | Common & { feature: 'translate'; text: string; language: string }
  /** A reply to a message of an inbox conversation (the newest inbound one unless `messageId` says). */
  | Common & { feature: 'reply'; conversationId: string; messageId?: string }
  /** Alt text for one of the workspace's images, by a model that can see (the post's text as context). */
  | Common & { feature: 'alt-text'; mediaId: string; text?: string; language?: string };

export interface SuggestionProblem {
  /** The account whose network the suggestion breaks a rule of; null for a problem of its own (empty). */
  accountId: string | null;
  provider: string | null;
  field: string;
  message: string;
}

export interface Suggestion {
  /** adapt: the account this version is for; otherwise null (one text for every selected account). */
  accountId: string | null;
  provider: string | null;
  text: string;
  /** hashtags: the tags suggested (also appended to `text`). */
  hashtags?: string[];
  /** Empty when it fits every selected network; otherwise what still does not fit after the retry. */
  problems: SuggestionProblem[];
  /** Whether the first answer did not fit and the model was asked again with the reason. */
  retried: boolean;
}

export interface SuggestResult {
  feature: Feature;
  provider: string;
  model: string;
  suggestions: Suggestion[];
  usage: { inputTokens: number; outputTokens: number };
}

export interface SuggestEvents {
  /** Text of suggestion `index` as it streams in (a retry streams its text again from the start). */
  delta?(index: number, text: string): void;
  /** Suggestion `index` did not fit; the model is asked again. */
  retry?(index: number, problems: SuggestionProblem[]): void;
}

export interface AssistantOptions {
  timeoutMs: number;
  maxResponseBytes: number;
  maxOutputTokens: number;
  allowPrivateHosts: boolean;
  /** Retries of one model call when the provider is busy (429 with Retry-After, 5xx, 529). */
  retries: number;
  backoff: Backoff;
}

export interface AssistantDeps {
  db: Db;
  http: HttpClient;
  metrics: Metrics;
  log: Logger;
  settings: AssistantSettings;
  validator: PostValidator;
  registry: ProviderRegistry;
  prompts: PromptBook;
  options: AssistantOptions;
  /** The inbox's conversation, saved replies and reply check, for suggested replies. */
  replyContext: (workspaceId: string, conversationId: string, messageId?: string) => Promise<ReplyContext>;
  /** One of the workspace's images as the model's image input (404 for another workspace's). */
  image: (workspaceId: string, mediaId: string) => Promise<Extract<ContentPart, { type: 'image' }>>;
  /** The most characters of alt text the media library keeps. */
  altTextMax: number;
  now?: () => Date;
}

/** The first instant of the UTC month of `d`, and of the next one. */
export function monthBounds(d: Date): { start: Date; end: Date } {
  return { start: new Date(Date.UTC(d.getUTCFullYear(), d.getUTCMonth(), 1)), end: new Date(Date.UTC(d.getUTCFullYear(), d.getUTCMonth() + 1, 1)) };
}

/** The month's key in assistant_budget: its first day, UTC. */
export const monthKey = (d: Date): string => monthBounds(d).start.toISOString().slice(0, 10);

/**
 * What a call may cost, reserved before it is sent: the answer's cap, and the prompt at about four characters
 * a token (a common rule of thumb for English; the provider's own count settles it afterwards).
 */
export function estimateTokens(req: ModelRequest): number {
  let chars = req.system.length;
  let images = 0;
  for (const m of req.messages) {
    if (typeof m.content === 'string') chars += m.content.length;
    else for (const p of m.content) if (p.type === 'text') chars += p.text.length; else images++;
  }
  // An image counts as about 1,600 tokens at most on both APIs once scaled (their vision pages' cost notes).
  return req.maxOutputTokens + Math.ceil(chars / 4) + images * IMAGE_TOKENS;
}

const IMAGE_TOKENS = 1600;

export interface Reservation { workspaceId: string; month: string; estimate: number }

/** The model's answer as a post: no surrounding blank lines, code fence or quotation marks. */
export function cleanAnswer(text: string): string {
  let t = text.trim();
  const fence = /^```[\w-]*\n([\s\S]*?)\n?```$/.exec(t);
  if (fence) t = fence[1]!.trim();
  const pairs: [string, string][] = [['"', '"'], ['“', '”'], ['«', '»'], ["'", "'"]];
  for (const [a, b] of pairs) {
    if (t.length >= 2 && t.startsWith(a) && t.endsWith(b) && !t.slice(1, -1).includes(b)) t = t.slice(1, -1).trim();
  }
  return t;
}

/** Hashtags in an answer, each once, in order. */
export function hashtagsOf(text: string, max: number): string[] {
  const seen = new Set<string>();
  const out: string[] = [];
  for (const m of text.matchAll(/#[\p{L}\p{N}_]+/gu)) {
    const key = m[0].toLowerCase();
    if (!seen.has(key)) {
      seen.add(key);
      out.push(m[0]);
    }
  }
  return out.slice(0, max);
}

const INSTRUCTIONS: Record<RewriteMode, string> = {
  shorter: 'make it shorter and tighter, keeping its point',
  longer: 'make it longer, with more detail or context, without inventing facts',
  simpler: 'make it simpler: plain words, short sentences, easy to read',
  tone: 'change its tone to the one asked for, keeping its content',
};

export class AssistantService {
  private readonly now: () => Date;

  constructor(private readonly d: AssistantDeps) {
    this.now = d.now ?? (() => new Date());
  }

  /**
   * The workspace's settings when a request may go to its model now: refused when the assistant is off or
   * the month's tokens are spent (then nothing is sent). Routes call it before they start a stream.
   */
  async ready(workspaceId: string, feature: Feature): Promise<SettingsRow> {
    const settings = await this.d.settings.get(workspaceId);
    if (!settings) throw new Conflict('ASSISTANT_OFF', HOW_TO_ENABLE);
    if (feature === 'alt-text' && !settings.vision) {
      throw new Conflict('AI_NO_VISION', `The workspace's model (${settings.model}) is not marked as able to see images, so it cannot describe one; nothing was sent. `
        + 'An owner or admin can choose a vision-capable model and turn on "Vision: it can see images" (vision: true) in the assistant settings.');
    }
    await this.assertBudget(settings, feature);
    return settings;
  }

  /** Tokens the providers counted this month (calls in flight not included). */
  async monthUsed(workspaceId: string, at: Date = this.now()): Promise<number> {
    const [row] = await this.d.db.select({ used: assistantBudget.used }).from(assistantBudget)
      .where(and(eq(assistantBudget.workspaceId, workspaceId), eq(assistantBudget.month, monthKey(at))));
    return row?.used ?? 0;
  }

  /** Refuses when the month's tokens, counting calls in flight, are spent; reads only (ready() uses it before a stream starts). */
  private async assertBudget(settings: SettingsRow, feature: Feature): Promise<void> {
    const [row] = await this.d.db.select({ used: assistantBudget.used, reserved: assistantBudget.reserved }).from(assistantBudget)
      .where(and(eq(assistantBudget.workspaceId, settings.workspaceId), eq(assistantBudget.month, monthKey(this.now()))));
    if ((row?.used ?? 0) + (row?.reserved ?? 0) < settings.monthlyTokenBudget) return;
    throw this.budgetExhausted(settings, feature, row?.used ?? 0);
  }

  /**
   * Takes `estimate` tokens of the month's budget for one model call, or refuses (nothing is sent then). One
   * statement checks and reserves: the upsert locks the month's row and tests the newest `used + reserved`, so
   * of two calls racing for the last token one passes and the other sees its reservation. The first call of a
   * month inserts the row (when the budget is not 0); two such inserts meet on the key and the second updates.
   */
  async reserve(settings: SettingsRow, feature: Feature | 'classify', estimate: number): Promise<Reservation> {
    const month = monthKey(this.now());
    const budget = settings.monthlyTokenBudget;
    const res = await this.d.db.execute<{ used: string }>(sql`
      insert into assistant_budget as b (workspace_id, month, used, reserved)
      select ${settings.workspaceId}::uuid, ${month}::date, 0, ${estimate} where ${budget}::bigint > 0
      on conflict (workspace_id, month) do update set reserved = b.reserved + excluded.reserved
       where b.used + b.reserved < ${budget}::bigint
      returning b.used`);
    if (res.rows.length === 0) throw this.budgetExhausted(settings, feature, await this.monthUsed(settings.workspaceId));
    return { workspaceId: settings.workspaceId, month, estimate };
  }

  /** The call is over: its reservation is given back and the tokens the provider counted are added. */
  async settle(r: Reservation, used: number): Promise<void> {
    await this.d.db.update(assistantBudget)
      .set({ used: sql`${assistantBudget.used} + ${used}`, reserved: sql`greatest(${assistantBudget.reserved} - ${r.estimate}, 0)` })
      .where(and(eq(assistantBudget.workspaceId, r.workspaceId), eq(assistantBudget.month, r.month)));
  }

  /** One model call inside the budget: reserved before anything is sent, settled however it ends. */
  async budgeted<T extends { inputTokens: number; outputTokens: number }>(settings: SettingsRow, feature: Feature | 'classify', req: ModelRequest, call: () => Promise<T>): Promise<T> {
    const r = await this.reserve(settings, feature, estimateTokens(req));
    let used = 0;
    try {
      const answer = await call();
      used = answer.inputTokens + answer.outputTokens;
      return answer;
    } finally {
      await this.settle(r, used);
    }
  }

  private budgetExhausted(settings: SettingsRow, feature: Feature | 'classify', used: number): RateLimited {
    this.d.metrics.aiRequests.labels(settings.provider, feature, 'budget_exhausted').inc();
    const { end } = monthBounds(this.now());
    const seconds = Math.max(1, Math.ceil((end.getTime() - this.now().getTime()) / 1000));
    return new RateLimited('AI_BUDGET_EXHAUSTED',
      `This workspace has used its ${settings.monthlyTokenBudget} assistant tokens for this month (${used} used, the rest taken by requests in progress if any); nothing was sent to the model. `
      + `The budget renews on ${end.toISOString().slice(0, 10)} (UTC), or an owner or admin can raise monthlyTokenBudget in the assistant settings.`,
      seconds, undefined, { budget: settings.monthlyTokenBudget, used, renewsAt: end.toISOString() });
  }

  /** Suggestions for the composer; `signal` ends the model calls (the person closed the stream). */
  async suggest(workspaceId: string, actor: Actor, input: SuggestInput, events: SuggestEvents = {}, signal?: AbortSignal): Promise<SuggestResult> {
    const settings = await this.ready(workspaceId, input.feature);
    // A reply is checked by the inbox's own rules for its account, not as a post.
    const reply = input.feature === 'reply' ? await this.d.replyContext(workspaceId, input.conversationId, input.messageId) : null;
    const image = input.feature === 'alt-text' ? await this.d.image(workspaceId, input.mediaId) : null;
    const base = input.feature === 'draft' || input.feature === 'reply' || input.feature === 'alt-text' ? '' : input.text;
    // The accounts (and media) are checked before anything is sent: an unknown one is the caller's mistake.
    const first = await this.d.validator.validate(workspaceId, this.postInput(base || '.', reply ? [] : input.accountIds, reply ? undefined : input.mediaIds));
    const accounts = reply ? [] : input.accountIds.map((id) => first.accounts.find((a) => a.id === id)!);
    const maxOf = (id: string) => first.counts.find((c) => c.accountId === id)?.counts.find((c) => c.field === 'text')?.max ?? Infinity;

    const provider = this.modelFor(settings);
    const system = this.systemPrompt(settings);
    const spent = { input: 0, output: 0 };
    let model = settings.model;
    let outcome = 'error';
    const started = process.hrtime.bigint();
    try {
      const run = async () => {
        const suggestions: Suggestion[] = [];
        const jobs: { accounts: Account[]; task: ChatMessage['content'] }[] = input.feature === 'adapt'
          ? accounts.map((a) => ({ accounts: [a], task: this.adaptTask(input.text, a, maxOf(a.id)) }))
          : input.feature === 'reply' ? [{ accounts: [], task: this.replyTask(reply!) }]
            : input.feature === 'alt-text' ? [{ accounts: [], task: [image!, { type: 'text', text: this.altTextTask(input) }] }]
              : [{ accounts, task: this.task(input, accounts, maxOf) }];
        for (const [index, job] of jobs.entries()) {
          const ask = async (messages: ChatMessage[]) => {
            const req = { system, messages, maxOutputTokens: this.d.options.maxOutputTokens };
            const answer = await this.budgeted(settings, input.feature, req,
              () => this.call(provider, settings.provider, req, events.delta ? (t) => events.delta!(index, t) : undefined));
            spent.input += answer.inputTokens;
            spent.output += answer.outputTokens;
            model = answer.model;
            return answer.text;
          };
          const messages: ChatMessage[] = [{ role: 'user', content: job.task }];
          const raw = await ask(messages);
          let s = await this.shape(workspaceId, input, job.accounts, raw, reply);
          if (s.problems.length) {
            events.retry?.(index, s.problems);
            const again = await ask([...messages, { role: 'assistant', content: raw },
              { role: 'user', content: this.d.prompts.render('retry', { problems: s.problems.map((p) => p.message).join(' ') }) }]);
            s = { ...(await this.shape(workspaceId, input, job.accounts, again, reply)), retried: true };
          }
          suggestions.push(s);
        }
        return suggestions;
      };
      const suggestions = signal ? await this.d.http.withSignal(signal, run) : await run();
      outcome = suggestions.some((s) => s.problems.length) ? 'flagged' : 'ok';
      return { feature: input.feature, provider: settings.provider, model, suggestions, usage: { inputTokens: spent.input, outputTokens: spent.output } };
    } catch (err) {
      if (err instanceof RateLimited && err.code === 'AI_BUDGET_EXHAUSTED') outcome = 'budget_exhausted';
      throw err;
    } finally {
      const m = this.d.metrics;
      if (outcome !== 'budget_exhausted' || spent.input + spent.output > 0) {
        if (outcome !== 'budget_exhausted') m.aiRequests.labels(settings.provider, input.feature, outcome).inc();
        m.aiDuration.labels(settings.provider, input.feature).observe(Number(process.hrtime.bigint() - started) / 1e9);
        m.aiTokens.labels(settings.provider, input.feature, 'input').inc(spent.input);
        m.aiTokens.labels(settings.provider, input.feature, 'output').inc(spent.output);
        await this.record(workspaceId, actor, input.feature, settings.provider, model, spent, outcome);
      }
    }
  }

  /** The workspace's model, through the one HTTP client, tried again while the provider is busy. */
  modelFor(settings: SettingsRow): ModelProvider {
    return withModelRetries(createModelProvider({
      http: this.d.http, allowPrivateHosts: this.d.options.allowPrivateHosts, timeoutMs: this.d.options.timeoutMs, maxResponseBytes: this.d.options.maxResponseBytes,
    }, this.d.settings.modelSettings(settings)), {
      retries: this.d.options.retries, backoff: this.d.options.backoff,
      onRetry: (e) => this.d.log.info({ workspaceId: settings.workspaceId, provider: settings.provider, reason: e.reason }, 'model provider busy; trying again'),
    });
  }

  /** One usage row and one audit entry per request: who, feature, model, tokens, outcome; never the text. */
  async record(workspaceId: string, actor: Actor, feature: Feature | 'classify', provider: string, model: string, spent: { input: number; output: number }, outcome: string): Promise<void> {
    try {
      await this.d.db.transaction(async (tx) => {
        await tx.insert(assistantUsage).values({
          workspaceId, userId: actor.actorUserId ?? null, apiKeyId: actor.actorApiKeyId ?? null, feature, provider, model,
          inputTokens: spent.input, outputTokens: spent.output, outcome, createdAt: this.now(),
        });
        await audit(tx, {
          action: 'assistant.request', workspaceId, ...actor, targetType: 'workspace', targetId: workspaceId,
          details: { feature, provider, model, inputTokens: spent.input, outputTokens: spent.output, outcome },
        });
      });
    } catch (err) {
      // The answer stands; a lost usage row under-counts the budget, which the log shows.
      this.d.log.error({ err, workspaceId, feature }, 'could not record the assistant\'s usage');
    }
  }

  async call(provider: ModelProvider, kind: string, req: Parameters<ModelProvider['complete']>[0], onDelta?: (t: string) => void) {
    try {
      return await provider.complete(req, onDelta);
    } catch (err) {
      if (!(err instanceof ModelError)) throw err;
      this.d.metrics.aiErrors.labels(kind, err.reason).inc();
      throw domainErrorOf(err);
    }
  }

  private systemPrompt(s: SettingsRow): string {
    const voice = [
      s.voiceNotes.trim() ? data(s.voiceNotes.trim(), 'voice notes') : 'No voice notes were given: write clearly and warmly, in the language of the material.',
      ...s.examplePosts.map((p, i) => data(p, `example post ${i + 1}`)),
    ];
    if (s.examplePosts.length) voice.splice(1, 0, 'Posts this workspace published, to match in tone and style (not to copy):');
    return this.d.prompts.render('system', { voice: voice.join('\n') });
  }

  private networkName(a: Account): string {
    return `${this.d.registry.get(a.provider as ProviderId).meta.displayName} (${a.username})`;
  }

  private limits(accounts: Account[], maxOf: (id: string) => number): string {
    if (!accounts.length) return '';
    const max = Math.min(...accounts.map((a) => maxOf(a.id)));
    return this.d.prompts.render('limits', {
      networks: accounts.map((a) => `${this.networkName(a)}, at most ${maxOf(a.id)} characters`).join('; '),
      maxLength: String(max), target: String(Math.floor(max * 0.9)),
    });
  }

  /** The post's text, if given, is context (fenced): what in the image matters to it. */
  private altTextTask(input: Extract<SuggestInput, { feature: 'alt-text' }>): string {
    const max = this.d.altTextMax;
    return this.d.prompts.render('alt-text', {
      context: input.text?.trim() ? `The post the image goes with:\n${data(input.text, 'post')}\n` : '',
      language: input.language ? data(input.language, 'language') : 'the language of the post, or English when there is none',
      maxLength: String(max), target: String(Math.min(400, Math.floor(max * 0.9))),
    });
  }

  private task(input: Exclude<SuggestInput, { feature: 'adapt' | 'reply' | 'alt-text' }>, accounts: Account[], maxOf: (id: string) => number): string {
    const limits = this.limits(accounts, maxOf);
    switch (input.feature) {
      case 'draft': return this.d.prompts.render('draft', { brief: data(input.brief, 'brief'), limits });
      case 'rewrite': {
        const instruction = input.mode === 'tone' ? `${INSTRUCTIONS.tone}: ${data(input.tone ?? 'friendly', 'tone')}` : INSTRUCTIONS[input.mode];
        return this.d.prompts.render('rewrite', { instruction, text: data(input.text, 'post'), limits });
      }
      case 'hashtags': return this.d.prompts.render('hashtags', { count: String(input.count ?? 5), text: data(input.text, 'post'), limits });
      case 'translate': return this.d.prompts.render('translate', { language: data(input.language, 'language'), text: data(input.text, 'post'), limits });
    }
  }

  /** The conversation, the message and the saved replies go in as fenced material: people on a network wrote them. */
  private replyTask(r: ReplyContext): string {
    const who = (from: string) => from.replace(/\s+/g, ' ').slice(0, 40);
    return this.d.prompts.render('reply', {
      network: r.networkName, maxLength: String(r.maxLength), target: String(Math.floor(r.maxLength * 0.9)),
      conversation: r.messages.map((m) => data(m.text, m.ours ? 'our reply' : `message from ${who(m.from)}`)).join('\n') || '(only the message below)',
      message: data(r.answering.text, `message from ${who(r.answering.from)}`),
      savedReplies: r.savedReplies.map((x) => data(x.text, `saved reply ${who(x.name)}`)).join('\n') || '(none)',
    });
  }

  private adaptTask(text: string, a: Account, max: number): string {
    return this.d.prompts.render('adapt', { network: this.networkName(a), maxLength: String(max), target: String(Math.floor(max * 0.9)), text: data(text, 'post') });
  }

  /** The answer as a suggestion, checked by each of its accounts' network rules. */
  private async shape(workspaceId: string, input: SuggestInput, accounts: Account[], raw: string, reply: ReplyContext | null): Promise<Suggestion> {
    const one = input.feature === 'adapt' ? accounts[0]! : reply ? { id: reply.accountId, provider: reply.provider } : null;
    let text = cleanAnswer(raw);
    let hashtags: string[] | undefined;
    const problems: SuggestionProblem[] = [];
    if (input.feature === 'hashtags') {
      hashtags = hashtagsOf(text, input.count ?? 5);
      if (!hashtags.length) problems.push({ accountId: null, provider: null, field: 'hashtags', message: 'The answer held no hashtags (words starting with #).' });
      text = hashtags.length ? `${input.text.trimEnd()}\n\n${hashtags.join(' ')}` : input.text;
    } else if (!text) {
      problems.push({ accountId: null, provider: null, field: 'text', message: 'The answer was empty.' });
    }
    if (input.feature === 'alt-text' && [...text].length > this.d.altTextMax) {
      problems.push({ accountId: null, provider: null, field: 'altText', message: `Alt text allows ${this.d.altTextMax} characters; this is ${[...text].length} (${[...text].length - this.d.altTextMax} too many).` });
    }
    const replyProblem = reply && text ? reply.problem(text) : null;
    if (replyProblem) problems.push({ accountId: reply!.accountId, provider: reply!.provider, field: 'text', message: replyProblem });
    if (text && accounts.length) {
      const r = await this.d.validator.validate(workspaceId, this.postInput(text, accounts.map((a) => a.id), input.mediaIds));
      for (const p of r.problems) if (p.field === 'text') problems.push({ accountId: p.accountId, provider: p.provider, field: p.field, message: p.message });
    }
    return { accountId: one?.id ?? null, provider: one?.provider ?? null, text, ...(hashtags ? { hashtags } : {}), problems, retried: false };
  }

  private postInput(text: string, accountIds: string[], mediaIds: string[] | undefined) {
    return { text, ...(mediaIds?.length ? { mediaIds } : {}), targets: accountIds.map((accountId) => ({ accountId })) };
  }

  /** This month's (or another month's) usage: totals, per member or API key, per feature. */
  async usage(workspaceId: string, month: Date) {
    const { start, end } = monthBounds(month);
    const range = and(eq(assistantUsage.workspaceId, workspaceId), gte(assistantUsage.createdAt, start), lt(assistantUsage.createdAt, end));
    const sums = {
      requests: sql<string>`count(*)`, inputTokens: sql<string>`coalesce(sum(${assistantUsage.inputTokens}), 0)`,
      outputTokens: sql<string>`coalesce(sum(${assistantUsage.outputTokens}), 0)`,
    };
    const [byUser, byFeature] = await Promise.all([
      this.d.db.select({ userId: assistantUsage.userId, apiKeyId: assistantUsage.apiKeyId, ...sums }).from(assistantUsage).where(range)
        .groupBy(assistantUsage.userId, assistantUsage.apiKeyId),
      this.d.db.select({ feature: assistantUsage.feature, ...sums }).from(assistantUsage).where(range).groupBy(assistantUsage.feature),
    ]);
    const n = (r: { requests: string; inputTokens: string; outputTokens: string }) => ({
      requests: Number(r.requests), inputTokens: Number(r.inputTokens), outputTokens: Number(r.outputTokens),
    });
    const total = byFeature.map(n).reduce((a, b) => ({ requests: a.requests + b.requests, inputTokens: a.inputTokens + b.inputTokens, outputTokens: a.outputTokens + b.outputTokens }),
      { requests: 0, inputTokens: 0, outputTokens: 0 });
    return {
      month: start.toISOString().slice(0, 7), from: start.toISOString(), to: end.toISOString(), total,
      byUser: byUser.map((r) => ({ userId: r.userId, apiKeyId: r.apiKeyId, ...n(r) })).sort((a, b) => b.inputTokens + b.outputTokens - a.inputTokens - a.outputTokens),
      byFeature: byFeature.map((r) => ({ feature: r.feature, ...n(r) })).sort((a, b) => a.feature.localeCompare(b.feature)),
    };
  }
}

/** A provider's failure in the assistant's own terms, saying what to do. */
export function domainErrorOf(e: ModelError): Error {
  const wait = Math.max(1, Math.ceil((e.retryAfterMs ?? 30_000) / 1000));
  switch (e.reason) {
    case 'rate_limited': return new RateLimited('AI_PROVIDER_RATE_LIMITED', `The model provider is limiting requests; try again in ${wait} s. (${e.message})`, wait);
    case 'unavailable': case 'network': return new Unavailable('AI_PROVIDER_UNAVAILABLE', `The model provider cannot answer now; try again shortly. (${e.message})`, wait);
    case 'timeout': return new Unavailable('AI_PROVIDER_TIMEOUT', `The model provider did not answer in time; try again, or ask for something shorter. (${e.message})`, 5);
    case 'malformed': case 'too_large': return new Unavailable('AI_PROVIDER_BAD_ANSWER', `The model provider's answer could not be read; try again, or an admin can choose another model. (${e.message})`, 5);
    case 'auth': return new Conflict('AI_PROVIDER_AUTH', `The model provider refused the workspace's API key; an owner or admin should set a valid key in the assistant settings. (${e.message})`);
    case 'blocked_host': return new Conflict('AI_PROVIDER_BLOCKED_HOST', `The assistant's base URL points at a private or loopback address. (${e.message})`);
    case 'refused': return new Conflict('AI_PROVIDER_REFUSED', `The model provider refused the request; check the model name in the assistant settings. (${e.message})`);
  }
}
