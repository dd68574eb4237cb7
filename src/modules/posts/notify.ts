// A failed or unknown target is told to the person who wrote the post (and to whoever submitted it
// for approval), by mail in the transaction that records the outcome: no silent failures.
import { eq, inArray } from 'drizzle-orm';
import type { DbOrTx } from '../../infra/db/client.ts';
import { users } from '../auth/schema.ts';
import { socialAccounts } from '../accounts/index.ts';
import { queueMail, templates } from '../mail/index.ts';
import { posts } from './schema.ts';

export async function mailPostProblem(db: DbOrTx, publicUrl: string, t: { postId: string; accountId: string; provider: string; workspaceId: string }, state: 'failed' | 'unknown', reason: string): Promise<void> {
  const [post] = await db.select({ text: posts.text, createdBy: posts.createdBy, submittedBy: posts.submittedBy }).from(posts).where(eq(posts.id, t.postId));
  if (!post) return;
  const ids = [...new Set([post.createdBy, post.submittedBy].filter((x): x is string => Boolean(x)))];
  if (ids.length === 0) return;
  const [acc] = await db.select({ username: socialAccounts.username }).from(socialAccounts).where(eq(socialAccounts.id, t.accountId));
  const people = await db.select({ email: users.email, name: users.name }).from(users).where(inArray(users.id, ids));
  const excerpt = [...post.text].length > 140 ? `${[...post.text].slice(0, 139).join('')}…` : post.text;
  for (const p of people) {
    await queueMail(db, p.email, templates.postProblem(p.name, state, t.provider, acc?.username ?? '', excerpt, reason, `${publicUrl}/posts/${t.postId}`));
  }
}
