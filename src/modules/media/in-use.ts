// Which posts use which media files: for "where is this used", and to refuse deleting a file a post needs.
//
// This reads the posts module's tables (posts, post_targets) directly, read-only: an exception to
// "modules talk through services", kept to this file so that the media module does not depend on the
// posts service (which uses media to validate and publish). A media id is in use when it appears in
//   - posts.media_ids (GIN index posts_media_ids_idx), or
//   - a target's variant: variant->'mediaIds', or variant->'thread'[*]->'mediaIds' (the Variant type in
//     src/modules/posts/schema.ts), gathered in lower case by allin_media_refs() (drizzle/0019_media_library.sql),
//     whose GIN index post_targets_media_refs_idx finds them; JSON not shaped as expected counts as none.
//   - a template's media_ids (the templates module's post_templates, GIN index post_templates_media_ids_idx).
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
        union all
        select unnest(pt.media_ids) from post_templates pt where pt.media_ids && ${sql.param(wanted)}::uuid[]
      ) refs
      where ref = any(${sql.param(wanted)}::uuid[])`);
    return new Set(result.rows.map((r) => r.id));
  };
}

/** The posts that use one file, soonest to publish first (then newest), then the templates, at most 50 in all. */
export function mediaUsers(db: DbOrTx): MediaUsers {
  return async (mediaId, tx = db) => {
    const id = mediaId.toLowerCase();
    // Two steps, each on its index (the GIN ones, then the posts' primary key), rather than one join whose
    // plan could walk a whole index.
    const ids = await tx.execute<{ id: string }>(sql`
      select p.id from posts p where p.media_ids && array[${id}::uuid]
      union
      select t.post_id from post_targets t where allin_media_refs(t.variant) && array[${id}::text]`);
    const templates = await tx.execute<{ id: string; workspace_id: string; name: string; personal: boolean; created_at: string }>(sql`
      select id, workspace_id, name, owner_id is not null as personal, created_at from post_templates where media_ids && array[${id}::uuid]`);
    // At most a workspace's templates (TEMPLATES_MAX), sorted here: no index orders a GIN lookup.
    templates.rows.sort((a, b) => a.name.toLowerCase().localeCompare(b.name.toLowerCase()));
    // A personal template is its member's: others learn that one exists, not its name.
    const templateUses: PostUse[] = templates.rows.map((r) => ({
      kind: 'template', id: r.id, workspaceId: r.workspace_id, status: r.personal ? 'personal' : 'shared', text: r.personal ? 'a member\'s personal template' : r.name,
      publishAt: null, createdAt: new Date(r.created_at),
    }));
    if (ids.rows.length === 0) return { uses: templateUses.slice(0, USES_MAX), more: templateUses.length > USES_MAX };
    const result = await tx.execute<{ id: string; workspace_id: string; status: string; text: string; publish_at: string | null; created_at: string }>(sql`
      select p.id, p.workspace_id, p.status, p.text, p.publish_at, p.created_at from posts p
       where p.id = any(${sql.param(ids.rows.slice(0, USES_MAX + 1).map((r) => r.id))}::uuid[])`);
    const posts: PostUse[] = result.rows.map((r) => ({
      kind: 'post', id: r.id, workspaceId: r.workspace_id, status: r.status, text: r.text,
      publishAt: r.publish_at === null ? null : new Date(r.publish_at), createdAt: new Date(r.created_at),
    }));
    posts.sort((a, b) => (a.publishAt?.getTime() ?? Infinity) - (b.publishAt?.getTime() ?? Infinity) || b.createdAt.getTime() - a.createdAt.getTime());
    const all = [...posts, ...templateUses];
    return { uses: all.slice(0, USES_MAX), more: all.length > USES_MAX };
  };
}
