// /api/workspaces/:workspaceId/media: the workspace's media library. Upload (multipart, streamed to
// storage), search, read, download the bytes and the previews, change alt text, folder and tags, see which
// posts use a file, delete; its folders (…/media-folders) and tags (…/media-tags). Reading needs
// posts.read; everything that changes the library posts.write (docs/PERMISSIONS.md).
import type { Readable } from 'node:stream';
import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import type { FastifyRequest } from 'fastify';
import multipart from '@fastify/multipart';
import { Type } from 'typebox';
import { ApiError } from '../../http/errors.ts';
import { NextCursor, pageQuery } from '../../http/paging.ts';
import type { AuthGuards } from '../auth/index.ts';
import type { WorkspaceAccessFactory } from '../workspaces/index.ts';
import { DateTime, Uuid, WorkspaceParams, errors, iso, lowerCaseIds } from '../workspaces/index.ts';
import { ACCEPTED_TYPES, ALT_TEXT_MAX, cleanAltText, formatBytes, type Media, type MediaFilter, type MediaService, type PostUse } from './service.ts';
import { LABEL_MAX, TAGS_MAX, type MediaFolder, type MediaTag } from './library.ts';
import { PREVIEW_SIZE, THUMBNAIL_SIZE } from './previews.ts';

export interface MediaRouteDeps {
  media: MediaService;
  guards: AuthGuards;
  workspaceAccess: WorkspaceAccessFactory;
}

const Nullable = <T extends ReturnType<typeof Type.Integer> | ReturnType<typeof Type.Number> | ReturnType<typeof Type.String>>(t: T) => Type.Union([t, Type.Null()]);

const MediaSchema = Type.Object({
  id: Type.String({ format: 'uuid' }),
  fileName: Type.String({ description: 'The name it was uploaded with (for people; the type comes from the bytes)' }),
  mimeType: Type.String({ description: 'Detected from the content: image/jpeg, image/png, image/gif, image/webp, video/mp4 or video/quicktime' }),
  bytes: Type.Integer(),
  sha256: Type.String({ description: 'Hex SHA-256 of the content' }),
  width: Nullable(Type.Integer({ description: 'Pixels, as displayed (EXIF rotation applied)' })),
  height: Nullable(Type.Integer()),
  durationSeconds: Nullable(Type.Number({ description: 'Videos: length in seconds' })),
  altText: Nullable(Type.String({ description: 'Given to the networks that take alt text whenever a post uses the file' })),
  folderId: Nullable(Type.String({ format: 'uuid', description: 'Its folder; null: in no folder' })),
  tags: Type.Array(Type.String(), { description: 'Its tags\' names, alphabetically' }),
  uploadedBy: Nullable(Type.String({ description: 'User id' })),
  createdAt: DateTime,
  contentUrl: Type.String({ description: 'Where to download the bytes (same authorization as this API)' }),
  previews: Type.Union([Type.Literal('pending'), Type.Literal('ready'), Type.Literal('failed'), Type.Literal('none')], {
    description: 'Images: pending until the thumbnail and preview are made (a job, seconds after the upload), then ready, or failed when the image cannot be decoded. Videos: none (no poster frame: the library shows a placeholder).',
  }),
  thumbnailUrl: Nullable(Type.String({ description: `A WebP that fits in ${THUMBNAIL_SIZE} × ${THUMBNAIL_SIZE}, once made` })),
  previewUrl: Nullable(Type.String({ description: `A WebP that fits in ${PREVIEW_SIZE} × ${PREVIEW_SIZE} (never enlarged), once made` })),
});

export function publicMedia(m: Media) {
  const base = `/api/workspaces/${m.workspaceId}/media/${m.id}`;
  return {
    id: m.id, fileName: m.fileName, mimeType: m.mimeType, bytes: m.bytes, sha256: m.sha256, width: m.width, height: m.height,
    durationSeconds: m.durationSeconds, altText: m.altText, folderId: m.folderId, tags: m.tags, uploadedBy: m.uploadedBy, createdAt: iso(m.createdAt),
    contentUrl: `${base}/content`,
    previews: m.previewState ?? 'pending' as const,
    thumbnailUrl: m.thumbnailKey ? `${base}/thumbnail` : null,
    previewUrl: m.previewKey ? `${base}/preview` : null,
  };
}

const FolderSchema = Type.Object({ id: Type.String({ format: 'uuid' }), name: Type.String(), createdAt: DateTime });
const TagSchema = Type.Object({ id: Type.String({ format: 'uuid' }), name: Type.String(), createdAt: DateTime });
const publicFolder = (f: MediaFolder) => ({ id: f.id, name: f.name, createdAt: iso(f.createdAt) });
const publicTag = (t: MediaTag) => ({ id: t.id, name: t.name, createdAt: iso(t.createdAt) });
const LabelBody = Type.Object({ name: Type.String({ minLength: 1, maxLength: LABEL_MAX * 2, description: `1 to ${LABEL_MAX} characters; unique in the workspace, ignoring case` }) }, { additionalProperties: false });

const UseSchema = Type.Object({
  kind: Type.Union([Type.Literal('post'), Type.Literal('template')]),
  id: Type.String({ format: 'uuid' }),
  status: Type.String({ description: 'A post: draft, pending_approval or scheduled (a published post keeps the status it was scheduled with); a template: shared or personal' }),
  text: Type.String({ description: 'The start of a post\'s text; a template\'s name (a personal template of another member is not named)' }),
  publishAt: Nullable(DateTime),
  url: Type.String({ description: 'The post in this API' }),
});
const publicUse = (workspaceId: string, u: PostUse) => ({
  kind: u.kind, id: u.id, status: u.status, text: [...u.text].slice(0, 140).join(''), publishAt: u.publishAt ? iso(u.publishAt) : null,
  url: `/api/workspaces/${workspaceId}/${u.kind === 'post' ? 'posts' : 'templates'}/${u.id}`,
});

/** Reads what is left of a refused file so the request completes and the client gets the answer. */
function drain(stream: Readable): void {
  stream.on('error', () => {});
  stream.resume();
}

/** @fastify/multipart's own errors, in words a person can act on. */
function multipartError(err: unknown, maxBytes: number): unknown {
  const code = (err as { code?: string }).code;
  switch (code) {
    case 'FST_FILES_LIMIT':
      return new ApiError(400, 'ONE_FILE_PER_UPLOAD', 'Send one file per request, in the field "file".');
    case 'FST_FIELDS_LIMIT':
    case 'FST_PARTS_LIMIT':
      return new ApiError(400, 'VALIDATION_FAILED', 'Too many form fields: send the field "file" and, optionally, "altText" and "folderId".');
    case 'FST_REQ_FILE_TOO_LARGE':
      return new ApiError(413, 'MEDIA_TOO_LARGE', `The file is larger than the ${formatBytes(maxBytes)} this server accepts for any upload.`, { limitBytes: maxBytes });
    case 'FST_PROTO_VIOLATION':
      return new ApiError(400, 'VALIDATION_FAILED', 'A form field has a reserved name: send only "file", "altText" and "folderId".');
    case 'FST_INVALID_JSON_FIELD_ERROR':
      return new ApiError(400, 'VALIDATION_FAILED', 'The field "altText" must be plain text.');
    case 'FST_MP_PREMATURE_CLOSE':
      return new ApiError(400, 'UPLOAD_INCOMPLETE', 'The upload ended before the whole file arrived; send it again.');
    default:
      // busboy's malformed-body errors
      if (err instanceof Error && /^(Multipart: Boundary not found|Unexpected end of multipart data|Part terminated early|Unsupported Content-Type)/.test(err.message)) {
        return new ApiError(400, 'INVALID_MULTIPART', `The multipart body could not be read (${err.message}); send it as multipart/form-data, e.g. curl -F file=@photo.jpg.`);
      }
      return err;
  }
}

export const mediaLinkRoutes: FastifyPluginAsyncTypebox<MediaRouteDeps> = async (app, d) => {
  const tags = ['media'];
  app.addHook('preHandler', lowerCaseIds);

  // A signed, expiring link (see links.ts), for networks that fetch media themselves. No session: the
  // signature is the permission.
  app.get('/media/:mediaId', {
    schema: {
      tags, summary: 'An upload through a signed link (what Instagram and Threads fetch)',
      params: Type.Object({ mediaId: Type.String({ maxLength: 64 }) }),
      querystring: Type.Object({ expires: Type.Integer({ minimum: 0 }), sig: Type.String({ maxLength: 128 }) }, { additionalProperties: false }),
      response: { 200: Type.Unknown({ description: 'The file' }), ...errors(400, 404) },
    },
  }, async (req, reply) => {
    const media = await d.media.getByLink(req.params.mediaId, req.query.expires, req.query.sig);
    const stream = await d.media.open(media);
    reply
      .type(media.mimeType)
      .header('content-length', String(media.bytes))
      .header('x-content-type-options', 'nosniff')
      .header('content-security-policy', "default-src 'none'; sandbox")
      .header('cache-control', 'private, no-store')
      .header('referrer-policy', 'no-referrer');
    return reply.send(stream);
  });
};

/** Under /api/workspaces/:workspaceId (registered in the workspace scope, see workspaces/scope.ts). */
export const mediaRoutes: FastifyPluginAsyncTypebox<MediaRouteDeps> = async (app, d) => {
  const tags = ['media'];
  const { maxImageBytes, maxVideoBytes } = d.media.limits;
  const maxBytes = Math.max(maxImageBytes, maxVideoBytes);
  // In this plugin only. One byte over the largest limit, so that the service sees an oversized file as
  // such (busboy would otherwise cut it at the limit without a word).
  await app.register(multipart, {
    limits: { fileSize: maxBytes + 1, files: 1, fields: 3, parts: 4, fieldSize: ALT_TEXT_MAX * 4 + 16, headerPairs: 50, fieldNameSize: 100 },
  });
  // Any other body type on these routes: say what is expected instead of Fastify's generic refusal.
  app.addContentTypeParser('*', (req: FastifyRequest, _payload, done) => {
    const upload = req.method === 'POST';
    done(new ApiError(415, 'UNSUPPORTED_MEDIA_TYPE', upload
      ? `Upload with Content-Type multipart/form-data, the file in the field "file" (e.g. curl -F file=@photo.jpg -F altText="…"); got ${req.headers['content-type'] ?? 'no Content-Type'}.`
      : 'Send a JSON body (Content-Type: application/json).'), undefined);
  });

  const MediaParams = Type.Object({ workspaceId: Uuid('Workspace id'), mediaId: Uuid('Media id') });

  app.post('/media', {
    preHandler: [d.guards.any, d.workspaceAccess('posts.write')],
    schema: {
      tags, summary: 'Upload an image or a video (multipart/form-data)',
      description: `Fields: \`file\` (required, one file), \`altText\` (optional, up to ${ALT_TEXT_MAX} characters) and \`folderId\` (optional, sent before the file). ` +
        `The type is read from the content, not the name: ${Object.keys(ACCEPTED_TYPES).join(', ')}. ` +
        `Images up to ${formatBytes(maxImageBytes)}, videos up to ${formatBytes(maxVideoBytes)}. ` +
        'The file stays in the workspace\'s library until deleted; an image\'s thumbnail and preview follow within seconds (`previews`). ' +
        'A workspace stores at most MEDIA_WORKSPACE_QUOTA_BYTES of media: past it, 413 `MEDIA_QUOTA_EXCEEDED` with the quota and the usage. ' +
        'When the server\'s disk has no room (less free than MEDIA_DISK_RESERVE_BYTES, or full), 507 `INSUFFICIENT_STORAGE`; nothing of the file is kept.',
      consumes: ['multipart/form-data'],
      params: WorkspaceParams,
      response: { 201: MediaSchema, ...errors(400, 401, 403, 404, 413, 415, 422, 429, 507) },
    },
  }, async (req, reply) => {
    if (!req.isMultipart()) {
      throw new ApiError(415, 'UNSUPPORTED_MEDIA_TYPE', 'Upload with Content-Type multipart/form-data, the file in the field "file" (e.g. curl -F file=@photo.jpg).');
    }
    const caller = req.caller!;
    const userId = caller.kind === 'user' ? caller.userId : caller.createdBy;
    const workspaceId = req.params.workspaceId;
    // An upper bound of the file's size (multipart adds a few hundred bytes), for the free-space check.
    const length = Number(req.headers['content-length']);
    const expectedBytes = Number.isSafeInteger(length) && length > 0 ? Math.min(length, maxBytes) : undefined;
    let altText: string | null | undefined;
    let folderId: string | undefined;
    let created: Media | undefined;
    try {
      for await (const part of req.parts()) {
        if (part.type === 'field') {
          if (part.fieldname === 'folderId' && !created) {
            folderId = String(part.value).trim() || undefined;
            continue;
          }
          if (part.fieldname !== 'altText') {
            throw new ApiError(400, 'VALIDATION_FAILED', part.fieldname === 'folderId'
              ? 'Send "folderId" before the file, so that the file goes straight into its folder.'
              : `"${part.fieldname}" is not an accepted field: send "file" and, optionally, "altText" and "folderId".`,
            [{ field: part.fieldname, message: part.fieldname === 'folderId' ? 'must come before the file' : 'is not an accepted field' }]);
          }
          if (part.valueTruncated) throw new ApiError(400, 'VALIDATION_FAILED', `altText is longer than ${ALT_TEXT_MAX} characters`, [{ field: 'altText', message: `must be at most ${ALT_TEXT_MAX} characters` }]);
          altText = cleanAltText(String(part.value));
          continue;
        }
        if (part.fieldname !== 'file') {
          drain(part.file);
          throw new ApiError(400, 'VALIDATION_FAILED', `Send the file in the field "file" (it came in "${part.fieldname}").`, [{ field: part.fieldname, message: 'is not an accepted field' }]);
        }
        try {
          created = await d.media.upload(workspaceId, userId, part.file, part.filename, { altText: altText ?? null, folderId: folderId ?? null, ...(expectedBytes ? { expectedBytes } : {}) });
        } catch (err) {
          drain(part.file);
          throw err;
        }
      }
    } catch (err) {
      if (created) await d.media.delete(workspaceId, created.id).catch(() => {});
      throw multipartError(err, maxBytes);
    }
    if (!created) {
      throw new ApiError(400, 'VALIDATION_FAILED', 'No file: send it in the multipart field "file" (e.g. curl -F file=@photo.jpg).', [{ field: 'file', message: 'is required' }]);
    }
    // Alt text sent after the file.
    if (altText !== undefined && altText !== created.altText) created = await d.media.setAltText(workspaceId, created.id, altText);
    reply.status(201);
    return publicMedia(created);
  });
  app.get('/media', {
    preHandler: [d.guards.any, d.workspaceAccess('posts.read')],
    schema: {
      tags, summary: 'The media library, newest first, a page at a time; every filter narrows the list',
      description: 'Filters: `q` (part of the file name or alt text), `tag` (a tag name), `type` (image or video), `folder` (a folder id, or `none` for files in no folder), ' +
        '`minBytes`/`maxBytes`, `minWidth`/`maxWidth`, `minHeight`/`maxHeight` (pixels), `from`/`to` (uploaded at or after `from`, before `to`). ' +
        'The tag, folder and type filters (one at a time) and the dates are read from an index; the others are checked on the files that index yields.',
      params: WorkspaceParams,
      querystring: Type.Object({
        ...pageQuery('uploads', 200),
        before: Type.Optional(Type.String({ minLength: 1, maxLength: 2000, description: 'The same as cursor (kept for older clients)' })),
        q: Type.Optional(Type.String({ minLength: 1, maxLength: 200, description: 'Part of the file name or of the alt text, ignoring case' })),
        tag: Type.Optional(Type.String({ minLength: 1, maxLength: LABEL_MAX * 2, description: 'A tag name (ignoring case); an unknown tag gives an empty list' })),
        type: Type.Optional(Type.Union([Type.Literal('image'), Type.Literal('video')])),
        folder: Type.Optional(Type.String({ minLength: 1, maxLength: 64, description: 'A folder id, or "none" for files in no folder' })),
        minBytes: Type.Optional(Type.Integer({ minimum: 0 })),
        maxBytes: Type.Optional(Type.Integer({ minimum: 0 })),
        minWidth: Type.Optional(Type.Integer({ minimum: 0, maximum: 1_000_000 })),
        maxWidth: Type.Optional(Type.Integer({ minimum: 0, maximum: 1_000_000 })),
        minHeight: Type.Optional(Type.Integer({ minimum: 0, maximum: 1_000_000 })),
        maxHeight: Type.Optional(Type.Integer({ minimum: 0, maximum: 1_000_000 })),
        from: Type.Optional(Type.String({ format: 'date-time', description: 'Uploaded at or after this instant' })),
        to: Type.Optional(Type.String({ format: 'date-time', description: 'Uploaded before this instant' })),
      }, { additionalProperties: false }),
      response: {
        200: Type.Object({ media: Type.Array(MediaSchema), nextCursor: NextCursor, next: Type.Union([Type.String(), Type.Null()], { description: 'The same as nextCursor (kept for older clients)' }) }),
        ...errors(400, 401, 403, 404, 429),
      },
    },
  }, async (req) => {
    const { limit, cursor, before, from, to, ...rest } = req.query;
    const filter: MediaFilter = { ...rest, ...(from ? { from: new Date(from) } : {}), ...(to ? { to: new Date(to) } : {}) };
    const { items, nextCursor } = await d.media.list(req.params.workspaceId, filter, { limit, cursor: cursor ?? before, cursorField: cursor === undefined ? 'querystring.before' : 'querystring.cursor' });
    return { media: items.map(publicMedia), nextCursor, next: nextCursor };
  });
  app.get('/media/:mediaId', {
    preHandler: [d.guards.any, d.workspaceAccess('posts.read')],
    schema: { tags, summary: 'One upload', params: MediaParams, response: { 200: MediaSchema, ...errors(400, 401, 403, 404, 429) } },
  }, async (req) => publicMedia(await d.media.get(req.params.workspaceId, req.params.mediaId)));
  app.get('/media/:mediaId/content', {
    preHandler: [d.guards.any, d.workspaceAccess('posts.read')],
    schema: {
      tags, summary: 'The bytes of an upload, with its detected type',
      params: MediaParams,
      response: { 200: Type.Unknown({ description: 'The file' }), 304: Type.Null({ description: 'Not modified (If-None-Match)' }), ...errors(400, 401, 403, 404, 429) },
    },
  }, async (req, reply) => {
    const media = await d.media.get(req.params.workspaceId, req.params.mediaId);
    const etag = `"${media.sha256}"`;
    // The content of an id never changes: a cached copy is always current.
    if (req.headers['if-none-match']?.split(',').some((t) => t.trim().replace(/^W\//, '') === etag)) {
      return reply.status(304).header('etag', etag).send();
    }
    const stream = await d.media.open(media);
    const image = media.mimeType.startsWith('image/');
    const ascii = media.fileName.replace(/[^\x20-\x7e]|["\\]/g, '_');
    reply
      .type(media.mimeType)
      .header('content-length', String(media.bytes))
      .header('x-content-type-options', 'nosniff')
      // The bytes are the user's: never run them as a page of this origin.
      .header('content-security-policy', "default-src 'none'; sandbox")
      .header('content-disposition', `${image ? 'inline' : 'attachment'}; filename="${ascii}"; filename*=UTF-8''${encodeURIComponent(media.fileName)}`)
      .header('cache-control', 'private, max-age=86400, immutable')
      .header('etag', etag);
    return reply.send(stream);
  });
  app.patch('/media/:mediaId', {
    preHandler: [d.guards.any, d.workspaceAccess('posts.write')],
    schema: {
      tags, summary: 'Change the alt text, the folder or the tags of a file (what is sent changes; the rest stays)',
      params: MediaParams,
      body: Type.Object({
        altText: Type.Optional(Type.Union([Type.String({ maxLength: ALT_TEXT_MAX * 2, description: `Up to ${ALT_TEXT_MAX} characters; blank or null clears it` }), Type.Null()])),
        folderId: Type.Optional(Type.Union([Type.String({ format: 'uuid', description: 'A folder of this workspace' }), Type.Null()], { description: 'null: in no folder' })),
        tags: Type.Optional(Type.Array(Type.String({ minLength: 1, maxLength: LABEL_MAX * 2 }), {
          maxItems: TAGS_MAX, description: `The file's tags by name, replacing its current ones (up to ${TAGS_MAX}); a name no tag has yet makes that tag`,
        })),
      }, { additionalProperties: false, minProperties: 1 }),
      response: { 200: MediaSchema, ...errors(400, 401, 403, 404, 415, 429) },
    },
  }, async (req) => publicMedia(await d.media.update(req.params.workspaceId, req.params.mediaId, {
    ...(req.body.altText !== undefined ? { altText: req.body.altText } : {}),
    ...(req.body.folderId !== undefined ? { folderId: req.body.folderId?.toLowerCase() ?? null } : {}),
    ...(req.body.tags !== undefined ? { tags: req.body.tags } : {}),
  })));
  app.get('/media/:mediaId/uses', {
    preHandler: [d.guards.any, d.workspaceAccess('posts.read')],
    schema: {
      tags, summary: 'Where a file is used: the posts that use it (in their media or a network\'s variant), soonest to publish first',
      params: MediaParams,
      response: { 200: Type.Object({ uses: Type.Array(UseSchema), more: Type.Boolean({ description: 'More posts use it than the 50 listed' }) }), ...errors(400, 401, 403, 404, 429) },
    },
  }, async (req) => {
    const { uses, more } = await d.media.uses(req.params.workspaceId, req.params.mediaId);
    return { uses: uses.map((u) => publicUse(req.params.workspaceId, u)), more };
  });
  for (const which of ['thumbnail', 'preview'] as const) {
    app.get(`/media/:mediaId/${which}`, {
      preHandler: [d.guards.any, d.workspaceAccess('posts.read')],
      schema: {
        tags, summary: which === 'thumbnail' ? `An image's thumbnail (WebP, fits in ${THUMBNAIL_SIZE} × ${THUMBNAIL_SIZE})` : `An image's web-sized preview (WebP, fits in ${PREVIEW_SIZE} × ${PREVIEW_SIZE})`,
        description: '404 `PREVIEW_NOT_READY` while it is being made (and for videos, which get none).',
        params: MediaParams,
        response: { 200: Type.Unknown({ description: 'The WebP picture' }), ...errors(400, 401, 403, 404, 429) },
      },
    }, async (req, reply) => {
      const media = await d.media.get(req.params.workspaceId, req.params.mediaId);
      const stream = await d.media.openDerived(media, which);
      reply
        .type('image/webp')
        .header('x-content-type-options', 'nosniff')
        .header('content-security-policy', "default-src 'none'; sandbox")
        .header('cache-control', 'private, max-age=86400, immutable');
      return reply.send(stream);
    });
  }
  app.delete('/media/:mediaId', {
    preHandler: [d.guards.any, d.workspaceAccess('posts.write')],
    schema: {
      tags, summary: 'Delete an upload no post uses',
      params: MediaParams,
      response: { 200: Type.Object({ deleted: Type.Literal(true) }), ...errors(400, 401, 403, 404, 409, 429) },
    },
  }, async (req) => {
    await d.media.delete(req.params.workspaceId, req.params.mediaId);
    return { deleted: true as const };
  });

  // Folders and tags: the same shape, each a list by name, create, rename, delete.
  const library = d.media.library;
  const kinds = [
    {
      path: 'media-folders', what: 'folder', schema: FolderSchema, field: 'folders' as const, show: publicFolder,
      list: library.folders.bind(library), create: library.createFolder.bind(library), rename: library.renameFolder.bind(library), remove: library.deleteFolder.bind(library),
      deleteNote: 'Only an empty folder can be deleted (409 FOLDER_NOT_EMPTY names how many files it holds).',
    },
    {
      path: 'media-tags', what: 'tag', schema: TagSchema, field: 'tags' as const, show: publicTag,
      list: library.tags.bind(library), create: library.createTag.bind(library), rename: library.renameTag.bind(library), remove: library.deleteTag.bind(library),
      deleteNote: 'The files that carried it stay, without it. Creating a tag that exists answers the existing one.',
    },
  ];
  for (const k of kinds) {
    const Params = Type.Object({ workspaceId: Uuid('Workspace id'), id: Uuid(`The ${k.what}'s id`) });
    app.get(`/${k.path}`, {
      preHandler: [d.guards.any, d.workspaceAccess('posts.read')],
      schema: {
        tags, summary: `The media library's ${k.what}s, by name, a page at a time`,
        params: WorkspaceParams,
        querystring: Type.Object({ ...pageQuery(`${k.what}s`, 500, 100) }, { additionalProperties: false }),
        response: { 200: Type.Object({ [k.field]: Type.Array(k.schema), nextCursor: NextCursor }), ...errors(400, 401, 403, 404, 429) },
      },
    }, async (req) => {
      const { items, nextCursor } = await k.list(req.params.workspaceId, { limit: req.query.limit, cursor: req.query.cursor });
      return { [k.field]: items.map(k.show), nextCursor };
    });
    app.post(`/${k.path}`, {
      preHandler: [d.guards.any, d.workspaceAccess('posts.write')],
      schema: { tags, summary: `Create a ${k.what}`, params: WorkspaceParams, body: LabelBody, response: { 201: k.schema, ...errors(400, 401, 403, 404, 409, 415, 429) } },
    }, async (req, reply) => {
      reply.status(201);
      return k.show(await k.create(req.params.workspaceId, req.body.name));
    });
    app.patch(`/${k.path}/:id`, {
      preHandler: [d.guards.any, d.workspaceAccess('posts.write')],
      schema: { tags, summary: `Rename a ${k.what}`, params: Params, body: LabelBody, response: { 200: k.schema, ...errors(400, 401, 403, 404, 409, 415, 429) } },
    }, async (req) => k.show(await k.rename(req.params.workspaceId, req.params.id, req.body.name)));
    app.delete(`/${k.path}/:id`, {
      preHandler: [d.guards.any, d.workspaceAccess('posts.write')],
      schema: { tags, summary: `Delete a ${k.what}`, description: k.deleteNote, params: Params, response: { 200: Type.Object({ deleted: Type.Literal(true) }), ...errors(400, 401, 403, 404, 409, 429) } },
    }, async (req) => {
      await k.remove(req.params.workspaceId, req.params.id);
      return { deleted: true as const };
    });
  }
};
