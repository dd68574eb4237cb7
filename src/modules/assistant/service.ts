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
import { createModelProvider, withModelRetries, ModelError, type ChatMessage, type ModelProvider } from '../../infra/ai/index.ts';
import type { ProviderRegistry } from '../../providers/registry.ts';
import type { ProviderId } from '../../providers/types.ts';
import { audit } from '../audit/index.ts';
import type { Account, PostValidator } from '../posts/index.ts';
import type { ReplyContext } from '../inbox/index.ts';
import { data, type PromptBook } from './prompts.ts';
import { HOW_TO_ENABLE, type Actor, type AssistantSettings, type SettingsRow } from './settings.ts';
import { assistantUsage } from './schema.ts';

export const FEATURES = ['draft', 'rewrite', 'adapt', 'hashtags', 'translate', 'reply'] as const;
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
  | Common & { feature: 'reply'; conversationId: string; messageId?: string };

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
  now?: () => Date;
}

/** The first instant of the UTC month of `d`, and of the next one. */
export function monthBounds(d: Date): { start: Date; end: Date } {
  return { start: new Date(Date.UTC(d.getUTCFullYear(), d.getUTCMonth(), 1)), end: new Date(Date.UTC(d.getUTCFullYear(), d.getUTCMonth() + 1, 1)) };
}

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
    await this.assertBudget(settings, feature, 0);
    return settings;
  }

  async monthUsed(workspaceId: string, at: Date = this.now()): Promise<number> {
    const { start, end } = monthBounds(at);
    const [row] = await this.d.db.select({ total: sql<string>`coalesce(sum(${assistantUsage.inputTokens} + ${assistantUsage.outputTokens}), 0)` })
      .from(assistantUsage)
      .where(and(eq(assistantUsage.workspaceId, workspaceId), gte(assistantUsage.createdAt, start), lt(assistantUsage.createdAt, end)));
    return Number(row?.total ?? 0);
  }

  private async assertBudget(settings: SettingsRow, feature: Feature, spentInRequest: number): Promise<void> {
    const used = await this.monthUsed(settings.workspaceId) + spentInRequest;
    if (used < settings.monthlyTokenBudget) return;
    this.d.metrics.aiRequests.labels(settings.provider, feature, 'budget_exhausted').inc();
    const { end } = monthBounds(this.now());
    const seconds = Math.max(1, Math.ceil((end.getTime() - this.now().getTime()) / 1000));
    throw new RateLimited('AI_BUDGET_EXHAUSTED',
      `This workspace has used its ${settings.monthlyTokenBudget} assistant tokens for this month (${used} used); nothing was sent to the model. `
      + `The budget renews on ${end.toISOString().slice(0, 10)} (UTC), or an owner or admin can raise monthlyTokenBudget in the assistant settings.`,
      seconds, undefined, { budget: settings.monthlyTokenBudget, used, renewsAt: end.toISOString() });
  }

  /** Suggestions for the composer; `signal` ends the model calls (the person closed the stream). */
  async suggest(workspaceId: string, actor: Actor, input: SuggestInput, events: SuggestEvents = {}, signal?: AbortSignal): Promise<SuggestResult> {
    const settings = await this.ready(workspaceId, input.feature);
    // A reply is checked by the inbox's own rules for its account, not as a post.
    const reply = input.feature === 'reply' ? await this.d.replyContext(workspaceId, input.conversationId, input.messageId) : null;
    const base = input.feature === 'draft' || input.feature === 'reply' ? '' : input.text;
    // The accounts (and media) are checked before anything is sent: an unknown one is the caller's mistake.
    const first = await this.d.validator.validate(workspaceId, this.postInput(base || '.', reply ? [] : input.accountIds, reply ? undefined : input.mediaIds));
    const accounts = reply ? [] : input.accountIds.map((id) => first.accounts.find((a) => a.id === id)!);
    const maxOf = (id: string) => first.counts.find((c) => c.accountId === id)?.counts.find((c) => c.field === 'text')?.max ?? Infinity;

    const provider = withModelRetries(createModelProvider({
      http: this.d.http, allowPrivateHosts: this.d.options.allowPrivateHosts, timeoutMs: this.d.options.timeoutMs, maxResponseBytes: this.d.options.maxResponseBytes,
    }, this.d.settings.modelSettings(settings)), {
      retries: this.d.options.retries, backoff: this.d.options.backoff,
      onRetry: (e) => this.d.log.info({ workspaceId, provider: settings.provider, reason: e.reason }, 'model provider busy; trying again'),
    });
    const system = this.systemPrompt(settings);
    const spent = { input: 0, output: 0 };
    let model = settings.model;
    let outcome = 'error';
    const started = process.hrtime.bigint();
    try {
      const run = async () => {
        const suggestions: Suggestion[] = [];
        const jobs: { accounts: Account[]; task: string }[] = input.feature === 'adapt'
          ? accounts.map((a) => ({ accounts: [a], task: this.adaptTask(input.text, a, maxOf(a.id)) }))
          : input.feature === 'reply' ? [{ accounts: [], task: this.replyTask(reply!) }]
            : [{ accounts, task: this.task(input, accounts, maxOf) }];
        for (const [index, job] of jobs.entries()) {
          const ask = async (messages: ChatMessage[]) => {
            await this.assertBudget(settings, input.feature, spent.input + spent.output);
            const answer = await this.call(provider, settings.provider, { system, messages, maxOutputTokens: this.d.options.maxOutputTokens },
              events.delta ? (t) => events.delta!(index, t) : undefined);
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

  /** One usage row and one audit entry per request: who, feature, model, tokens, outcome; never the text. */
  private async record(workspaceId: string, actor: Actor, feature: Feature, provider: string, model: string, spent: { input: number; output: number }, outcome: string): Promise<void> {
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

  private async call(provider: ModelProvider, kind: string, req: Parameters<ModelProvider['complete']>[0], onDelta?: (t: string) => void) {
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

  private task(input: Exclude<SuggestInput, { feature: 'adapt' | 'reply' }>, accounts: Account[], maxOf: (id: string) => number): string {
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
