// Labels a workspace sorts its conversations with. Deleting a label takes it off every conversation.
import { randomUUID } from 'node:crypto';
import { and, eq, sql } from 'drizzle-orm';
import type { Db } from '../../infra/db/client.ts';
import { NotFound } from '../../domain/errors.ts';
import { audit } from '../audit/index.ts';
import { holdWorkspace } from '../workspaces/index.ts';
import { inboxLabels } from './schema.ts';
import { assertRoom, cleanItemName, pageByName, uniqueName } from './named.ts';
import type { Actor } from './triage.ts';

export const LABELS_MAX = 200;
export const LABEL_NAME_MAX = 50;

export interface Label {
  id: string;
  name: string;
  color: string | null;
  createdAt: Date;
  updatedAt: Date;
}

const notFound = () => new NotFound('NOT_FOUND', 'No such label in this workspace.');
const COLUMNS = sql`id, name, color, created_at, updated_at`;
const labelOf = (r: Record<string, unknown>): Label => ({
  id: String(r.id), name: String(r.name), color: r.color === null ? null : String(r.color), createdAt: new Date(r.created_at as Date), updatedAt: new Date(r.updated_at as Date),
});

export class InboxLabels {
  constructor(private readonly d: { db: Db }) {}

  list(workspaceId: string, page: { limit: number; cursor?: string }) {
    return pageByName(this.d.db, inboxLabels, workspaceId, page, COLUMNS, labelOf);
  }

  async create(workspaceId: string, input: { name: string; color?: string | null }, actor: Actor): Promise<Label> {
    const name = cleanItemName(input.name);
    return uniqueName('a label', name, () => this.d.db.transaction(async (tx) => {
      await holdWorkspace(tx, workspaceId);
      await assertRoom(tx, inboxLabels, workspaceId, LABELS_MAX, 'labels');
      const [row] = await tx.insert(inboxLabels).values({ id: randomUUID(), workspaceId, name, color: input.color ?? null }).returning();
      await audit(tx, { action: 'inbox.label.created', workspaceId, targetType: 'inbox_label', targetId: row!.id, details: { name }, ...actor });
      return row!;
    }));
  }

  async update(workspaceId: string, labelId: string, patch: { name?: string; color?: string | null }, actor: Actor): Promise<Label> {
    const name = patch.name !== undefined ? cleanItemName(patch.name) : undefined;
    return uniqueName('a label', name ?? '', () => this.d.db.transaction(async (tx) => {
      await holdWorkspace(tx, workspaceId);
      const [row] = await tx.update(inboxLabels).set({ ...(name !== undefined ? { name } : {}), ...(patch.color !== undefined ? { color: patch.color } : {}), updatedAt: sql`now()` })
        .where(and(eq(inboxLabels.id, labelId), eq(inboxLabels.workspaceId, workspaceId))).returning();
      if (!row) throw notFound();
      await audit(tx, { action: 'inbox.label.updated', workspaceId, targetType: 'inbox_label', targetId: labelId, details: { name: row.name, color: row.color }, ...actor });
      return row;
    }));
  }

  async delete(workspaceId: string, labelId: string, actor: Actor): Promise<void> {
    await this.d.db.transaction(async (tx) => {
      await holdWorkspace(tx, workspaceId);
      const [row] = await tx.delete(inboxLabels).where(and(eq(inboxLabels.id, labelId), eq(inboxLabels.workspaceId, workspaceId))).returning({ name: inboxLabels.name });
      if (!row) throw notFound();
      await audit(tx, { action: 'inbox.label.deleted', workspaceId, targetType: 'inbox_label', targetId: labelId, details: { name: row.name }, ...actor });
    });
  }
}
