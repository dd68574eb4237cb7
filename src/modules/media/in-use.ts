// Which posts use which media files: for "where is this used", and to refuse deleting a file a post needs.
//
// This reads the posts module's tables (posts, post_targets) directly, read-only: an exception to
// "modules talk through services", kept to this file so that the media module does not depend on the
// posts service (which uses media to validate and publish). A media id is in use when it appears in
//   - posts.media_ids (GIN index posts_media_ids_idx), or
//   - a target's variant: variant->'mediaIds', or variant->'thread'[*]->'mediaIds' (the Variant type in
//     src/modules/posts/schema.ts), gathered in lower case by allin_media_refs() (drizzle/0019_media_library.sql),
//     whose GIN index post_targets_media_refs_idx finds them; JSON not shaped as expected counts as none.
// Whatever the state of the post or target (draft, published, failed…): a published post's media stay, as
// long as the post does.
import { sql } from 'drizzle-orm';
import type { DbOrTx } from '../../infra/db/client.ts';
import type { MediaInUse, MediaUsers, PostUse } from './service.ts';

/** At most this many posts are named per file (a file in more is still in use). */
const USES_MAX = 50;

export function mediaInUse(db: DbOrTx): MediaInUse {
  return async (ids, tx = db) => {
    const wanted = [...new Set(ids.map((i) => i.toLowerCase()))];
    if (wanted.length === 0) return new Set();
    const result = await tx.execute<{ id: string }>(sql`
      select distinct ref::text as id from (
        select unnest(p.media_ids) as ref from posts p where p.media_ids && ${sql.param(wanted)}::uuid[]
        union all
        select unnest(allin_media_refs(t.variant))::uuid from post_targets t where allin_media_refs(t.variant) && ${sql.param(wanted)}::text[]
      ) refs
      where ref = any(${sql.param(wanted)}::uuid[])`);
    return new Set(result.rows.map((r) => r.id));
  };
}

/** The posts that use one file, soonest to publish first (then newest), at most 50. */
export function mediaUsers(db: DbOrTx): MediaUsers {
  return async (mediaId, tx = db) => {
    const id = mediaId.toLowerCase();
    // Two steps, each on its index (the GIN ones, then the posts' primary key), rather than one join whose
    // plan could walk a whole index.
    const ids = await tx.execute<{ id: string }>(sql`
      select p.id from posts p where p.media_ids && array[${id}::uuid]
      union
      select t.post_id from post_targets t where allin_media_refs(t.variant) && array[${id}::text]`);
    if (ids.rows.length === 0) return { uses: [], more: false };
    const result = await tx.execute<{ id: string; workspace_id: string; status: string; text: string; publish_at: string | null; created_at: string }>(sql`
      select p.id, p.workspace_id, p.status, p.text, p.publish_at, p.created_at from posts p
       where p.id = any(${sql.param(ids.rows.slice(0, USES_MAX + 1).map((r) => r.id))}::uuid[])`);
    const posts: PostUse[] = result.rows.map((r) => ({
      kind: 'post', id: r.id, workspaceId: r.workspace_id, status: r.status, text: r.text,
      publishAt: r.publish_at === null ? null : new Date(r.publish_at), createdAt: new Date(r.created_at),
    }));
    posts.sort((a, b) => (a.publishAt?.getTime() ?? Infinity) - (b.publishAt?.getTime() ?? Infinity) || b.createdAt.getTime() - a.createdAt.getTime());
    return { uses: posts.slice(0, USES_MAX), more: posts.length > USES_MAX };
  };
}
