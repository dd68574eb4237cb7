// A workspace's model provider and brand voice: read, set and removed by its admins. The key is encrypted
// with the token cipher (the workspace id as the row key) and never leaves this file in the clear except
// to build the provider; answers carry `hasApiKey` only.
import { and, eq, isNotNull } from 'drizzle-orm';
import { Invalid } from '../../domain/errors.ts';
import type { Db } from '../../infra/db/client.ts';
import type { TokenCipher } from '../../infra/crypto/token-cipher.ts';
import { assertHostAllowed } from '../../infra/http/guard.ts';
import { ANTHROPIC_BASE_URL, type ModelProviderKind, type ModelSettings } from '../../infra/ai/index.ts';
import { audit, type AuditEntry } from '../audit/index.ts';
import { assistantSettings } from './schema.ts';

export type Actor = Pick<AuditEntry, 'actorUserId' | 'actorApiKeyId' | 'ip' | 'userAgent'>;
export type SettingsRow = typeof assistantSettings.$inferSelect;

export const DEFAULT_BASE_URLS: Record<ModelProviderKind, string> = { openai: 'https://api.openai.com/v1', anthropic: ANTHROPIC_BASE_URL };
export const MAX_EXAMPLE_POSTS = 10;

export const HOW_TO_ENABLE = 'The assistant is off in this workspace. An owner or admin turns it on by choosing a model provider: '
  + 'PUT /api/workspaces/{workspaceId}/assistant/settings with {"provider": "openai", "baseUrl": "https://api.openai.com/v1", "model": "…", "apiKey": "…"} '
  + '(any OpenAI-compatible server: Ollama, vLLM, LM Studio, OpenRouter, Azure OpenAI) or {"provider": "anthropic", "model": "…", "apiKey": "…"}. See docs/ASSISTANT.md.';

export interface SettingsInput {
  provider: ModelProviderKind;
  baseUrl?: string;
  model: string;
  /** Omitted: keep the stored key (only while provider and base URL stay the same); null: none. */
  apiKey?: string | null;
  monthlyTokenBudget?: number;
  voiceNotes?: string;
  examplePosts?: string[];
  vision?: boolean;
}

export interface PublicSettings {
  provider: ModelProviderKind;
  baseUrl: string;
  model: string;
  hasApiKey: boolean;
  monthlyTokenBudget: number;
  voiceNotes: string;
  examplePosts: string[];
  vision: boolean;
  updatedAt: string;
}

export interface SettingsOptions {
  /** AI_ALLOW_PRIVATE_HOSTS: a base URL may be a private or loopback address (a local model server). */
  allowPrivateHosts: boolean;
  /** Plain http is refused in production, except for private addresses the operator allowed. */
  production: boolean;
  defaultMonthlyTokenBudget: number;
}

export function publicSettings(r: SettingsRow): PublicSettings {
  return {
    provider: r.provider, baseUrl: r.baseUrl, model: r.model, hasApiKey: r.apiKeyEnc !== null, monthlyTokenBudget: r.monthlyTokenBudget,
    voiceNotes: r.voiceNotes, examplePosts: r.examplePosts, vision: r.vision, updatedAt: r.updatedAt.toISOString(),
  };
}

const bad = (field: string, message: string) => new Invalid('VALIDATION_FAILED', `${field}: ${message}`, [{ field: `body.${field}`, message }]);

export class AssistantSettings {
  constructor(private readonly d: { db: Db; cipher: TokenCipher; options: SettingsOptions }) {}

  async get(workspaceId: string): Promise<SettingsRow | null> {
    const [row] = await this.d.db.select().from(assistantSettings).where(eq(assistantSettings.workspaceId, workspaceId));
    return row ?? null;
  }

  /** What the adapter needs, the key decrypted. */
  modelSettings(r: SettingsRow): ModelSettings {
    return { kind: r.provider, baseUrl: r.baseUrl, model: r.model, apiKey: r.apiKeyEnc ? this.d.cipher.decrypt(r.apiKeyEnc, r.workspaceId) : '' };
  }

  /** A base URL the adapters may call: http(s), no credentials, query or fragment; not private unless allowed. */
  checkBaseUrl(raw: string): string {
    let u: URL;
    try {
      u = new URL(raw);
    } catch {
      throw bad('baseUrl', 'is not a URL; write it like https://api.openai.com/v1');
    }
    if (u.protocol !== 'https:' && u.protocol !== 'http:') throw bad('baseUrl', 'must start with https:// (or http:// for a model server on this network)');
    if (u.username || u.password) throw bad('baseUrl', 'must not carry a user name or password; put the key in apiKey');
    if (u.search || u.hash) throw bad('baseUrl', 'must not have a query or fragment; give the API\'s base, like https://api.openai.com/v1');
    if (!this.d.options.allowPrivateHosts) {
      try {
        assertHostAllowed(u.hostname);
      } catch {
        throw bad('baseUrl', `${u.hostname} is a private or loopback address; AllIN calls model providers there only when the operator sets AI_ALLOW_PRIVATE_HOSTS=true (for a local Ollama, vLLM or LM Studio)`);
      }
      if (this.d.options.production && u.protocol === 'http:') throw bad('baseUrl', 'must be https:// in production (the API key would travel in the clear)');
    }
    return u.href.replace(/\/+$/, '');
  }

  async put(workspaceId: string, input: SettingsInput, actor: Actor): Promise<SettingsRow> {
    const baseUrl = this.checkBaseUrl(input.baseUrl ?? DEFAULT_BASE_URLS[input.provider]);
    const model = input.model.trim();
    if (!model) throw bad('model', 'is empty; name the model, like gpt-4o-mini, llama3.1 or claude-sonnet-4-5');
    const examples = (input.examplePosts ?? []).map((p) => p.trim()).filter(Boolean);
    const before = await this.get(workspaceId);
    let apiKeyEnc: string | null;
    if (input.apiKey === undefined) {
      if (before && (before.provider !== input.provider || before.baseUrl !== baseUrl)) {
        // A key goes only to the host it was given for.
        throw bad('apiKey', 'is needed again when the provider or base URL changes (send null for a server that needs no key)');
      }
      apiKeyEnc = before?.apiKeyEnc ?? null;
    } else if (input.apiKey === null || input.apiKey.trim() === '') {
      apiKeyEnc = null;
    } else {
      apiKeyEnc = this.d.cipher.encrypt(input.apiKey.trim(), workspaceId);
    }
    if (input.provider === 'anthropic' && apiKeyEnc === null) throw bad('apiKey', 'is required by Anthropic\'s API');
    const values = {
      provider: input.provider, baseUrl, model, apiKeyEnc,
      monthlyTokenBudget: input.monthlyTokenBudget ?? before?.monthlyTokenBudget ?? this.d.options.defaultMonthlyTokenBudget,
      voiceNotes: input.voiceNotes ?? before?.voiceNotes ?? '',
      examplePosts: input.examplePosts !== undefined ? examples : before?.examplePosts ?? [],
      vision: input.vision ?? before?.vision ?? false,
      updatedBy: actor.actorUserId ?? null, updatedAt: new Date(),
    };
    return this.d.db.transaction(async (tx) => {
      const [row] = await tx.insert(assistantSettings).values({ workspaceId, ...values })
        .onConflictDoUpdate({ target: assistantSettings.workspaceId, set: values }).returning();
      await audit(tx, {
        action: 'assistant.settings.update', workspaceId, ...actor, targetType: 'workspace', targetId: workspaceId,
        details: { provider: values.provider, baseUrl, model, apiKeyChanged: input.apiKey !== undefined, monthlyTokenBudget: values.monthlyTokenBudget },
      });
      return row!;
    });
  }

  /**
   * `allin keys rotate`: re-encrypts every stored key under the current master key. One no configured key can
   * decrypt is left as it is and counted: its workspace's admins set the key again.
   */
  async rotateKeys(): Promise<{ rotated: number; unreadable: number }> {
    let rotated = 0;
    let unreadable = 0;
    const rows = await this.d.db.select({ workspaceId: assistantSettings.workspaceId, apiKeyEnc: assistantSettings.apiKeyEnc })
      .from(assistantSettings).where(isNotNull(assistantSettings.apiKeyEnc));
    for (const row of rows) {
      if (!row.apiKeyEnc || !this.d.cipher.isStale(row.apiKeyEnc)) continue;
      let again: string;
      try {
        again = this.d.cipher.encrypt(this.d.cipher.decrypt(row.apiKeyEnc, row.workspaceId), row.workspaceId);
      } catch {
        unreadable++;
        continue;
      }
      // Only if no admin saved a new key meanwhile (that one is already under the current key).
      await this.d.db.update(assistantSettings).set({ apiKeyEnc: again })
        .where(and(eq(assistantSettings.workspaceId, row.workspaceId), eq(assistantSettings.apiKeyEnc, row.apiKeyEnc)));
      rotated++;
    }
    return { rotated, unreadable };
  }

  /** Turns the assistant off; the key is deleted with the row. */
  async remove(workspaceId: string, actor: Actor): Promise<boolean> {
    return this.d.db.transaction(async (tx) => {
      const gone = await tx.delete(assistantSettings).where(eq(assistantSettings.workspaceId, workspaceId)).returning({ id: assistantSettings.workspaceId });
      if (gone.length) await audit(tx, { action: 'assistant.settings.delete', workspaceId, ...actor, targetType: 'workspace', targetId: workspaceId });
      return gone.length > 0;
    });
  }
}
