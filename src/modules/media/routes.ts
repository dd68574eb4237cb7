// /api/workspaces/:workspaceId/media: upload (multipart, streamed to storage), list, read, download the
// bytes, set the alt text, delete. Reading needs posts.read; uploading, alt text and deleting posts.write.
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
import { ACCEPTED_TYPES, ALT_TEXT_MAX, cleanAltText, formatBytes, type Media, type MediaService } from './service.ts';

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
  altText: Nullable(Type.String()),
  uploadedBy: Nullable(Type.String({ description: 'User id' })),
  createdAt: DateTime,
  contentUrl: Type.String({ description: 'Where to download the bytes (same authorization as this API)' }),
});

export function publicMedia(m: Media) {
  return {
    id: m.id, fileName: m.fileName, mimeType: m.mimeType, bytes: m.bytes, sha256: m.sha256, width: m.width, height: m.height,
    durationSeconds: m.durationSeconds, altText: m.altText, uploadedBy: m.uploadedBy, createdAt: iso(m.createdAt),
    contentUrl: `/api/workspaces/${m.workspaceId}/media/${m.id}/content`,
  };
}

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
      return new ApiError(400, 'VALIDATION_FAILED', 'Too many form fields: send the field "file" and, optionally, "altText".');
    case 'FST_REQ_FILE_TOO_LARGE':
      return new ApiError(413, 'MEDIA_TOO_LARGE', `The file is larger than the ${formatBytes(maxBytes)} this server accepts for any upload.`, { limitBytes: maxBytes });
    case 'FST_PROTO_VIOLATION':
      return new ApiError(400, 'VALIDATION_FAILED', 'A form field has a reserved name: send only "file" and "altText".');
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
    limits: { fileSize: maxBytes + 1, files: 1, fields: 2, parts: 3, fieldSize: ALT_TEXT_MAX * 4 + 16, headerPairs: 50, fieldNameSize: 100 },
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
      description: `Fields: \`file\` (required, one file) and \`altText\` (optional, up to ${ALT_TEXT_MAX} characters). ` +
        `The type is read from the content, not the name: ${Object.keys(ACCEPTED_TYPES).join(', ')}. ` +
        `Images up to ${formatBytes(maxImageBytes)}, videos up to ${formatBytes(maxVideoBytes)}. ` +
        'Uploads no post refers to are deleted after MEDIA_UNUSED_TTL_HOURS. ' +
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
    let created: Media | undefined;
    try {
      for await (const part of req.parts()) {
        if (part.type === 'field') {
          if (part.fieldname !== 'altText') {
            throw new ApiError(400, 'VALIDATION_FAILED', `"${part.fieldname}" is not an accepted field: send "file" and, optionally, "altText".`,
              [{ field: part.fieldname, message: 'is not an accepted field' }]);
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
          created = await d.media.upload(workspaceId, userId, part.file, part.filename, { altText: altText ?? null, ...(expectedBytes ? { expectedBytes } : {}) });
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
      tags, summary: 'Uploaded media, newest first, a page at a time',
      params: WorkspaceParams,
      querystring: Type.Object({
        ...pageQuery('uploads', 200),
        before: Type.Optional(Type.String({ minLength: 1, maxLength: 2000, description: 'The same as cursor (kept for older clients)' })),
      }, { additionalProperties: false }),
      response: {
        200: Type.Object({ media: Type.Array(MediaSchema), nextCursor: NextCursor, next: Type.Union([Type.String(), Type.Null()], { description: 'The same as nextCursor (kept for older clients)' }) }),
        ...errors(400, 401, 403, 404, 429),
      },
    },
  }, async (req) => {
    const { limit, cursor, before } = req.query;
    const { items, nextCursor } = await d.media.list(req.params.workspaceId, { limit, cursor: cursor ?? before, cursorField: cursor === undefined ? 'querystring.before' : 'querystring.cursor' });
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
      tags, summary: 'Set or clear the alt text',
      params: MediaParams,
      body: Type.Object({
        altText: Type.Union([Type.String({ maxLength: ALT_TEXT_MAX * 2, description: `Up to ${ALT_TEXT_MAX} characters; blank or null clears it` }), Type.Null()]),
      }, { additionalProperties: false }),
      response: { 200: MediaSchema, ...errors(400, 401, 403, 404, 415, 429) },
    },
  }, async (req) => publicMedia(await d.media.setAltText(req.params.workspaceId, req.params.mediaId, req.body.altText)));
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
};
