// Which media ids posts still refer to, for the cleanup job and for deleting media.
//
// This reads the posts module's tables (posts, post_targets) directly, read-only: an exception to
// "modules talk through services", kept to this one query so that the media module does not depend on
// the posts service (which uses media to validate and publish). A media id is in use when it appears in
//   - posts.media_ids, or
//   - a target's variant: variant->'mediaIds', or variant->'thread'[*]->'mediaIds'
// (the Variant type in src/modules/posts/schema.ts). Ids are compared in lower case, and JSON that is not
// shaped as expected is skipped rather than failing the query. Whatever the state of the post or target
// (draft, published, failed…): a published post's media stay, as long as the post does.
import { sql, type SQL } from 'drizzle-orm';
import type { DbOrTx } from '../../infra/db/client.ts';
import type { MediaInUse } from './service.ts';

export function mediaInUse(db: DbOrTx): MediaInUse {
  return async (ids, tx = db) => {
    const wanted = [...new Set(ids.map((i) => i.toLowerCase()))];
    if (wanted.length === 0) return new Set();
    const arrayOf = (json: SQL) => sql`case when jsonb_typeof(${json}) = 'array' then ${json} else '[]'::jsonb end`;
    const result = await tx.execute<{ id: string }>(sql`
      select distinct lower(ref) as id from (
        select unnest(p.media_ids)::text as ref
          from posts p
         where p.media_ids && ${sql.param(wanted)}::uuid[]
        union all
        select jsonb_array_elements_text(${arrayOf(sql`t.variant -> 'mediaIds'`)})
          from post_targets t
        union all
        select jsonb_array_elements_text(${arrayOf(sql`part -> 'mediaIds'`)})
          from post_targets t
          cross join lateral jsonb_array_elements(${arrayOf(sql`t.variant -> 'thread'`)}) as part
      ) refs
      where lower(ref) = any(${sql.param(wanted)}::text[])`);
    return new Set(result.rows.map((r) => r.id));
  };
}
