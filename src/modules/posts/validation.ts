// A post checked against each network's rules, with its accounts and media looked up in the workspace.
// The rules themselves are in validate.ts (no database, so the web composer runs the same code).
import { and, eq, inArray } from 'drizzle-orm';
import type { Db, DbOrTx } from '../../infra/db/client.ts';
import { Invalid, UnprocessableContent } from '../../domain/errors.ts';
import type { ProviderRegistry } from '../../providers/registry.ts';
import type { ProviderId, ProviderLimits } from '../../providers/types.ts';
import { socialAccounts } from '../accounts/index.ts';
import { checkTarget, type Count, type MediaFacts, type Problem, type TargetContent } from './validate.ts';
import { maxOccurrence, type Account, type MediaLookup, type Post, type PostInput, type Target } from './model.ts';

/** What a text becomes at publish time (short links in place of URLs), for counting it as the network will; null: as written. */
export interface PublishedText {
  /** `db`: the caller's transaction, when it holds one (a second connection from the pool could wait for ever on a busy pool). */
  countingText(workspaceId: string, db?: DbOrTx): Promise<((text: string) => string) | null>;
}

export interface ValidationDeps {
  db: Db;
  registry: ProviderRegistry;
  media: MediaLookup;
  links?: PublishedText;
}

export class PostValidator {
  constructor(private readonly d: ValidationDeps) {}

  /** Each target checked by its network's rules; problems name the account and the field. */
  async validate(workspaceId: string, input: PostInput, db: DbOrTx = this.d.db): Promise<{ problems: Problem[]; counts: { accountId: string; provider: string; counts: Count[] }[]; accounts: Account[] }> {
    const ids = [...new Set(input.targets.map((t) => t.accountId))];
    if (ids.length !== input.targets.length) throw new Invalid('VALIDATION_FAILED', 'Each account can be a target of a post only once.', [{ field: 'body.targets', message: 'duplicate accountId' }]);
    const accounts = ids.length ? await db.select().from(socialAccounts).where(and(eq(socialAccounts.workspaceId, workspaceId), inArray(socialAccounts.id, ids))) : [];
    for (const [i, t] of input.targets.entries()) {
      if (!accounts.some((a) => a.id === t.accountId)) {
        throw new Invalid('VALIDATION_FAILED', `targets[${i}].accountId: no such social account in this workspace.`, [{ field: `body.targets[${i}].accountId`, message: 'unknown account' }]);
      }
    }
    const allMedia = new Set<string>([...(input.mediaIds ?? [])]);
    for (const t of input.targets) {
      for (const m of t.mediaIds ?? []) allMedia.add(m);
      for (const p of t.thread ?? []) for (const m of p.mediaIds ?? []) allMedia.add(m);
    }
    // In a transaction the media rows stay locked FOR SHARE until it ends, so they cannot be deleted under the post.
    const facts = allMedia.size ? await this.d.media.describe(workspaceId, [...allMedia], db === this.d.db ? undefined : db) : [];
    return { ...this.check(input, accounts, facts, await this.publishedText(workspaceId, db)), accounts };
  }

  /** What texts become at publish time in this workspace (links shortened), for `check`; null: as written. */
  async publishedText(workspaceId: string, db: DbOrTx = this.d.db): Promise<((text: string) => string) | null> {
    return this.d.links ? this.d.links.countingText(workspaceId, db) : null;
  }

  /**
   * Each target checked by its network's rules, with its accounts and media facts already read (no
   * database); `published` turns a text into what will be published (see publishedText).
   */
  check(input: PostInput, accounts: Account[], facts: MediaFacts[], published: ((text: string) => string) | null = null): { problems: Problem[]; counts: { accountId: string; provider: string; counts: Count[] }[] } {
    const fact = (id: string) => facts.find((f) => f.id === id)!;
    const as = published ?? ((text: string) => text);
    const problems: Problem[] = [];
    const counts: { accountId: string; provider: string; counts: Count[] }[] = [];
    for (const t of input.targets) {
      const acc = accounts.find((a) => a.id === t.accountId)!;
      const provider = this.d.registry.get(acc.provider as ProviderId);
      const limits = (acc.data as { limits?: ProviderLimits }).limits ?? provider.meta.limits;
      const content: TargetContent = {
        parts: [
          { text: as(t.text ?? input.text), media: (t.mediaIds ?? input.mediaIds ?? []).map(fact) },
          ...(t.thread ?? []).map((p) => ({ text: as(p.text), media: (p.mediaIds ?? []).map(fact) })),
        ],
        ...(t.firstComment !== undefined ? { firstComment: as(t.firstComment) } : {}),
        ...(t.options !== undefined ? { options: t.options } : {}),
      };
      const r = checkTarget(acc.id, acc.provider, `${provider.meta.displayName} (${acc.username})`, limits, content);
      problems.push(...r.problems);
      counts.push({ accountId: acc.id, provider: acc.provider, counts: r.counts });
    }
    return { problems, counts };
  }

  /** The post's accounts, when it breaks no rule of their networks. */
  async assertValid(workspaceId: string, input: PostInput, db: DbOrTx): Promise<Account[]> {
    const { problems, accounts } = await this.validate(workspaceId, input, db);
    assertNoProblems(problems);
    return accounts;
  }
}

/** A post that breaks rules of its networks; `problems` name each network and field. */
export class PostInvalid extends UnprocessableContent {
  constructor(readonly problems: Problem[]) {
    super('POST_INVALID', problems.length === 1 ? problems[0]!.message : `${problems.length} problems: ${problems.map((p) => p.message).join(' ')}`, problems);
  }
}

export function assertNoProblems(problems: Problem[]): void {
  if (problems.length) throw new PostInvalid(problems);
}

/** A stored post as the input that would write it again (each account's latest occurrence). */
export function inputOf(post: Post, targets: Target[]): PostInput {
  return {
    text: post.text, mediaIds: post.mediaIds,
    targets: targets.filter((t) => t.occurrence === maxOccurrence(targets, t.accountId)).map((t) => ({ accountId: t.accountId, ...t.variant })),
  };
}
