// The one lock order for writes inside a workspace: the workspace row first, then the resource, then its
// children. Deleting a workspace locks its row FOR UPDATE and then cascades to everything in it; a write
// that locked a resource first and only reached the workspace row later (through the foreign key of its
// audit entry) would deadlock with it. Holding the workspace first also turns "deleted meanwhile" into 404.
import { eq } from 'drizzle-orm';
import type { Tx } from '../../infra/db/client.ts';
import { workspaceNotFound } from './not-found.ts';
import { workspaces } from './schema.ts';

/**
 * Takes FOR KEY SHARE on the workspace row until the transaction ends: the workspace cannot be deleted
 * meanwhile. Other writers holding it run side by side; changes that lock the row itself (a rename,
 * settings, membership) wait for them. Throws 404 when the workspace is gone.
 */
export async function holdWorkspace(tx: Tx, workspaceId: string): Promise<void> {
  const [ws] = await tx.select({ id: workspaces.id }).from(workspaces).where(eq(workspaces.id, workspaceId)).for('key share');
  if (!ws) throw workspaceNotFound();
}
