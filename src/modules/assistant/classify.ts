// Classification of incoming inbox messages (docs/ASSISTANT.md, Classifying the inbox): each new inbound
// message collected while the assistant is on gets an intent (question, complaint, praise, spam, other), a
// sentiment and an urgency from the workspace's model. Ingest queues a classify_inbox_messages job in the
// transaction that stores the messages; the job asks the model once per batch, inside the workspace's token
// budget, and stores only what matches the schema below: whatever a message talks a model into, the answer
// can only be these labels, and a label is never acted on by AllIN (people filter and sort by it).
import { and, eq, inArray, isNull, sql } from 'drizzle-orm';
import { Type, type Static } from 'typebox';
import { Value } from 'typebox/value';
import { DomainError, RateLimited } from '../../domain/errors.ts';
import type { Db, Tx } from '../../infra/db/client.ts';
import type { Logger } from '../../infra/logger.ts';
import type { Metrics } from '../../infra/metrics.ts';
import { addJob } from '../../infra/queue/add-job.ts';
import { inboxConversations, inboxMessages, MESSAGE_INTENTS, MESSAGE_SENTIMENTS, MESSAGE_URGENCIES } from '../inbox/schema.ts';
import { data, type PromptBook } from './prompts.ts';
import { cleanAnswer, type AssistantService } from './service.ts';
import type { AssistantSettings } from './settings.ts';

export const CLASSIFY_INBOX_TASK = 'classify_inbox_messages';
/** Messages per model call: one prompt, one answer. */
export const CLASSIFY_BATCH = 20;
/** A message's text is cut to this many characters for the model (a label needs no more). */
const TEXT_MAX = 2000;
/** Answer tokens per message in a batch: one short JSON object each, with room. */
const TOKENS_PER_VERDICT = 40;

const Verdict = Type.Object({
  n: Type.Integer({ minimum: 1, maximum: CLASSIFY_BATCH }),
  intent: Type.Enum([...MESSAGE_INTENTS]),
  sentiment: Type.Enum([...MESSAGE_SENTIMENTS]),
  urgency: Type.Enum([...MESSAGE_URGENCIES]),
}, { additionalProperties: false });
const Verdicts = Type.Array(Verdict, { maxItems: CLASSIFY_BATCH });
export type Verdict = Static<typeof Verdict>;

/**
 * The model's answer as labels, or null when it is not exactly the schema (not JSON, another shape, an unknown
 * label, a field more): then nothing is stored. A number outside the batch, or one given twice, is dropped.
 */
export function readVerdicts(raw: string, count: number): Verdict[] | null {
  let parsed: unknown;
  try {
    parsed = JSON.parse(cleanAnswer(raw));
  } catch {
    return null;
  }
  if (!Value.Check(Verdicts, parsed)) return null;
  const seen = new Set<number>();
  return parsed.filter((v) => v.n <= count && !seen.has(v.n) && seen.add(v.n));
}

/**
 * Ingest's hook: queues the classification of new inbound messages when the workspace's assistant is on, in
 * the transaction that stored them (so a rollback queues nothing). Messages that arrive while it is off are
 * not classified later.
 */
export async function enqueueClassification(tx: Tx, workspaceId: string, messageIds: string[]): Promise<void> {
  const on = await tx.execute(sql`select 1 from assistant_settings where workspace_id = ${workspaceId}`);
  if (on.rows.length === 0) return;
  for (let i = 0; i < messageIds.length; i += CLASSIFY_BATCH) {
    await addJob(tx, CLASSIFY_INBOX_TASK, { workspaceId, messageIds: messageIds.slice(i, i + CLASSIFY_BATCH) }, { maxAttempts: 5 });
  }
}

export type ClassifyOutcome = 'classified' | 'rejected' | 'off' | 'nothing' | 'over_budget' | 'failed';

export class InboxClassifier {
  constructor(private readonly d: { db: Db; assistant: AssistantService; settings: AssistantSettings; prompts: PromptBook; log: Logger; metrics: Metrics; maxOutputTokens: number }) {}

  /** The job: one batch of a workspace's messages, those still unclassified. */
  async run(workspaceId: string, messageIds: string[]): Promise<ClassifyOutcome> {
    const settings = await this.d.settings.get(workspaceId);
    if (!settings) return 'off';
    const ids = messageIds.slice(0, CLASSIFY_BATCH);
    if (ids.length === 0) return 'nothing';
    const messages = await this.d.db.select({ id: inboxMessages.id, text: inboxMessages.text, authorName: inboxMessages.authorName, authorHandle: inboxMessages.authorHandle })
      .from(inboxMessages)
      .where(and(eq(inboxMessages.workspaceId, workspaceId), inArray(inboxMessages.id, ids), eq(inboxMessages.direction, 'inbound'),
        eq(inboxMessages.deleted, false), isNull(inboxMessages.aiClassifiedAt)));
    if (messages.length === 0) return 'nothing';

    const provider = this.d.assistant.modelFor(settings);
    const req = {
      system: this.d.prompts.render('classifier', {}),
      messages: [{
        role: 'user' as const,
        content: this.d.prompts.render('classify', {
          count: String(messages.length),
          messages: messages.map((m, i) => data(m.text.slice(0, TEXT_MAX), `message ${i + 1}`)).join('\n'),
        }),
      }],
      maxOutputTokens: Math.min(this.d.maxOutputTokens, 64 + TOKENS_PER_VERDICT * messages.length),
      temperature: 0,
    };
    const actor = { actorUserId: null, actorApiKeyId: null, ip: null, userAgent: null };
    const spent = { input: 0, output: 0 };
    let model = settings.model;
    let outcome: ClassifyOutcome = 'failed';
    const started = process.hrtime.bigint();
    try {
      const answer = await this.d.assistant.budgeted(settings, 'classify', req, () => this.d.assistant.call(provider, settings.provider, req));
      spent.input = answer.inputTokens;
      spent.output = answer.outputTokens;
      model = answer.model;
      const verdicts = readVerdicts(answer.text, messages.length);
      if (!verdicts) {
        outcome = 'rejected';
        this.d.log.warn({ workspaceId, messages: messages.length }, 'the model\'s classification did not match the schema; nothing stored');
        return outcome;
      }
      await this.store(workspaceId, verdicts.map((v) => ({ ...v, id: messages[v.n - 1]!.id })));
      outcome = 'classified';
      return outcome;
    } catch (err) {
      if (err instanceof RateLimited && err.code === 'AI_BUDGET_EXHAUSTED') {
        outcome = 'over_budget';
        this.d.log.info({ workspaceId }, 'the assistant\'s budget is spent; inbox messages left unclassified');
        return outcome;
      }
      // The provider's refusals (key, model, address) would be refused again: logged, not retried. Busy or
      // down: the queue runs the job again later (its attempts and backoff).
      if (err instanceof DomainError && err.kind === 'conflict') {
        this.d.log.warn({ workspaceId, code: err.code }, 'inbox classification refused by the model provider');
        return outcome;
      }
      throw err;
    } finally {
      if (outcome !== 'over_budget') {
        const result = outcome === 'classified' ? 'ok' : outcome === 'rejected' ? 'rejected' : 'error';
        const m = this.d.metrics;
        m.aiRequests.labels(settings.provider, 'classify', result).inc();
        m.aiDuration.labels(settings.provider, 'classify').observe(Number(process.hrtime.bigint() - started) / 1e9);
        m.aiTokens.labels(settings.provider, 'classify', 'input').inc(spent.input);
        m.aiTokens.labels(settings.provider, 'classify', 'output').inc(spent.output);
        await this.d.assistant.record(workspaceId, actor, 'classify', settings.provider, model, spent, result);
      }
    }
  }

  /**
   * The labels on their messages, and each conversation's filter columns from its newest classified inbound
   * message (an older message classified later does not replace a newer one's labels).
   */
  private async store(workspaceId: string, verdicts: (Verdict & { id: string })[]): Promise<void> {
    if (verdicts.length === 0) return;
    await this.d.db.transaction(async (tx) => {
      const rows = await tx.execute<{ conversation_id: string; created_on_network: Date | string; ai_intent: string; ai_urgency: string }>(sql`
        update inbox_messages m set ai_intent = v.intent, ai_sentiment = v.sentiment, ai_urgency = v.urgency, ai_classified_at = now()
          from jsonb_to_recordset(${JSON.stringify(verdicts)}::jsonb) as v(id uuid, intent text, sentiment text, urgency text)
         where m.id = v.id and m.workspace_id = ${workspaceId}
        returning m.conversation_id, m.created_on_network, m.ai_intent, m.ai_urgency`);
      const newest = new Map<string, { at: Date; intent: string; urgency: string }>();
      for (const r of rows.rows) {
        const at = new Date(r.created_on_network);
        const n = newest.get(r.conversation_id);
        if (!n || at > n.at) newest.set(r.conversation_id, { at, intent: r.ai_intent, urgency: r.ai_urgency });
      }
      for (const [conversationId, n] of newest) {
        await tx.update(inboxConversations).set({
          aiIntent: n.intent as Verdict['intent'], aiUrgency: n.urgency as Verdict['urgency'], aiClassifiedMessageAt: n.at,
        }).where(and(eq(inboxConversations.id, conversationId), eq(inboxConversations.workspaceId, workspaceId),
          sql`(${inboxConversations.aiClassifiedMessageAt} is null or ${inboxConversations.aiClassifiedMessageAt} <= ${n.at.toISOString()}::timestamptz)`));
      }
    });
  }
}

/** The classify_inbox_messages task. */
export function classifyInboxTask(classifier: InboxClassifier) {
  return async (payload: unknown): Promise<void> => {
    const p = payload as { workspaceId?: unknown; messageIds?: unknown } | null;
    if (typeof p?.workspaceId !== 'string' || !Array.isArray(p.messageIds)) return;
    await classifier.run(p.workspaceId, p.messageIds.filter((x): x is string => typeof x === 'string' && /^[0-9a-f-]{36}$/i.test(x)));
  };
}
