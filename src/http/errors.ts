// One JSON error shape for every 4xx and 5xx:
//   { "statusCode": 400, "code": "VALIDATION_FAILED", "message": "…", "details": [...], "requestId": "…" }
// Messages are written for a person; 5xx never carry internals (they are logged with the request id).
import { randomUUID } from 'node:crypto';
import { STATUS_CODES } from 'node:http';
import type { Duplex } from 'node:stream';
import type { FastifyBaseLogger, FastifyError, FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { Type } from 'typebox';
import { Overloaded } from '../infra/semaphore.ts';
import { formatRateLimit } from '../infra/rate-limit.ts';
import { isDatabaseUnavailable, pgErrorCode } from '../infra/db/errors.ts';
import { DomainError, RateLimited, Unauthenticated, Unavailable, type DomainErrorKind } from '../domain/errors.ts';

/**
 * A refusal decided at the HTTP edge itself (a route's own check of its request, a hook), with its status.
 * Services throw DomainError (src/domain/errors.ts) instead and never pick a status.
 */
export class ApiError extends Error {
  constructor(
    readonly statusCode: number,
    readonly code: string,
    message: string,
    readonly details?: unknown,
    readonly headers?: Record<string, string>,
  ) {
    super(message);
    this.name = 'ApiError';
  }
}

// The one place where a kind of domain error becomes an HTTP status.
const STATUS_OF_KIND: Record<DomainErrorKind, number> = {
  invalid: 400,
  unauthenticated: 401,
  forbidden: 403,
  not_found: 404,
  conflict: 409,
  too_large: 413,
  unsupported_media_type: 415,
  unprocessable_content: 422,
  rate_limited: 429,
  unavailable: 503,
  insufficient_storage: 507,
};

/** The status and headers that answer a domain error. */
export function answerOfDomainError(err: DomainError): { status: number; headers: Record<string, string> } {
  const headers: Record<string, string> = {};
  if (err instanceof Unauthenticated && err.challenge === 'missing') headers['www-authenticate'] = 'Bearer';
  if (err instanceof Unauthenticated && err.challenge === 'invalid') {
    headers['www-authenticate'] = `Bearer error="invalid_token", error_description="${err.message.replaceAll('"', "'")}"`;
  }
  if (err instanceof RateLimited || err instanceof Unavailable) headers['retry-after'] = String(err.retryAfterSeconds);
  if (err instanceof RateLimited && err.limit) Object.assign(headers, formatRateLimit(err.limit));
  return { status: STATUS_OF_KIND[err.kind], headers };
}

/** A route's documented error answers: `response: { 200: …, ...errors(400, 404) }` (the shared Error schema). */
export const ErrorRef = Type.Ref('Error');
export const errors = (...codes: number[]) => Object.fromEntries(codes.map((c) => [c, ErrorRef]));

export const ErrorBody = Type.Object({
  statusCode: Type.Integer(),
  code: Type.String({ description: 'Stable machine-readable code, e.g. VALIDATION_FAILED' }),
  message: Type.String({ description: 'What went wrong, for a person' }),
  details: Type.Optional(Type.Unknown()),
  requestId: Type.String(),
}, { $id: 'Error', title: 'Error' });

export interface ValidationIssue {
  instancePath: string;
  message?: string;
  keyword: string;
  params: Record<string, unknown>;
}

/** "body.email must match format \"email\"" from Ajv's output. */
export function describeValidation(context: string | undefined, issues: ValidationIssue[]): { message: string; details: { field: string; message: string }[] } {
  const details = issues.map((i) => {
    const missing = i.keyword === 'required' ? `.${String(i.params.missingProperty)}` : '';
    const extra = i.keyword === 'additionalProperties' ? `.${String(i.params.additionalProperty)}` : '';
    const field = `${context ?? 'body'}${i.instancePath.replaceAll('/', '.')}${missing}${extra}`;
    let message = i.message ?? 'is invalid';
    if (i.keyword === 'required') message = 'is required';
    if (i.keyword === 'additionalProperties') message = 'is not an accepted field';
    return { field, message };
  });
  const first = details[0];
  const message = first ? `${first.field} ${first.message}${details.length > 1 ? ` (and ${details.length - 1} more)` : ''}` : 'Invalid request';
  return { message, details };
}

const FASTIFY_CODES: Record<string, { code: string; message?: string }> = {
  FST_ERR_CTP_INVALID_JSON_BODY: { code: 'INVALID_JSON', message: 'The request body is not valid JSON' },
  FST_ERR_CTP_EMPTY_JSON_BODY: { code: 'INVALID_JSON', message: 'The request body is empty but Content-Type is application/json' },
  FST_ERR_CTP_BODY_TOO_LARGE: { code: 'PAYLOAD_TOO_LARGE', message: 'The request body is larger than this server accepts' },
  FST_ERR_CTP_INVALID_MEDIA_TYPE: { code: 'UNSUPPORTED_MEDIA_TYPE', message: 'This Content-Type is not accepted here; send application/json' },
  FST_ERR_CTP_INVALID_CONTENT_LENGTH: { code: 'BAD_REQUEST', message: 'Content-Length does not match the body' },
  FST_ERR_BAD_URL: { code: 'BAD_URL', message: 'The URL is not valid (a malformed %-escape or a byte sequence that is not UTF-8)' },
  FST_ERR_MAX_PARAM_LENGTH: { code: 'URI_TOO_LONG', message: 'A part of the URL is longer than this server accepts' },
  FST_ERR_ASYNC_CONSTRAINT: { code: 'BAD_REQUEST' },
};

/** Retry-After for a request refused while the database is unreachable: about one reconnect attempt. */
const DATABASE_RETRY_AFTER_SECONDS = 5;

// Invalid byte sequence for the encoding, untranslatable character (22021, 22P05): text with a NUL.
const PG_INPUT_ERRORS = new Set(['22021', '22P05']);
// Foreign-key violation (23503) and deadlock (40P01): a concurrent delete or lock cycle, never bad input.
const PG_RACE_ERRORS = new Set(['23503', '40P01']);

/** What answers an error: its status, code, message, details and headers (the one mapping, for HTTP and MCP alike). */
export interface ErrorAnswer {
  status: number;
  code: string;
  message: string;
  details?: unknown;
  headers: Record<string, string>;
}

type RequestError = FastifyError & { validation?: ValidationIssue[]; validationContext?: string };

export function describeError(err: RequestError): ErrorAnswer {
  let status = 500;
  let code = 'INTERNAL_ERROR';
  let message = 'Something went wrong on our side. It has been logged; try again, and quote the request id if it persists.';
  let details: unknown;
  let headers: Record<string, string> = {};

  if (err instanceof Overloaded) {
    status = 503;
    code = 'OVERLOADED';
    message = `The server is busy (${err.what}); try again in ${err.retryAfterSeconds} s.`;
    headers = { 'retry-after': String(err.retryAfterSeconds) };
  } else if (err instanceof DomainError) {
    const answer = answerOfDomainError(err);
    status = answer.status;
    code = err.code;
    message = err.message;
    details = err.details;
    headers = answer.headers;
  } else if (err instanceof ApiError) {
    status = err.statusCode;
    code = err.code;
    message = err.message;
    details = err.details;
    if (err.headers) headers = { ...err.headers };
  } else if (err.validation) {
    status = 400;
    code = 'VALIDATION_FAILED';
    ({ message, details } = describeValidation(err.validationContext, err.validation));
  } else if (err.code && FASTIFY_CODES[err.code]) {
    const known = FASTIFY_CODES[err.code]!;
    status = err.statusCode ?? 400;
    code = known.code;
    message = known.message ?? err.message;
  } else if (PG_INPUT_ERRORS.has(pgErrorCode(err))) {
    // Input that passed the schema but PostgreSQL cannot hold (a NUL character in a text field).
    status = 400;
    code = 'VALIDATION_FAILED';
    message = 'The request contains a character that cannot be stored (such as NUL); remove it and try again';
  } else if (PG_RACE_ERRORS.has(pgErrorCode(err))) {
    // Lost a race with another request: a row it refers to was deleted meanwhile, or PostgreSQL aborted
    // it to break a lock cycle. Nothing was kept. Services avoid both (lock order, modules/workspaces/hold.ts);
    // this is the answer where one does not yet.
    status = 409;
    code = 'CONCURRENT_CHANGE';
    message = 'This request collided with a change made at the same moment (something it refers to was deleted or changed) and nothing was saved; reload and try again.';
  } else if (isDatabaseUnavailable(err)) {
    // PostgreSQL cannot be reached or dropped the connection (stopped, restarting, failing over): the
    // request was fine and may succeed shortly. Nothing it wrote was committed.
    status = 503;
    code = 'DATABASE_UNAVAILABLE';
    message = `The database cannot be reached right now; try again in ${DATABASE_RETRY_AFTER_SECONDS} s.`;
    headers = { 'retry-after': String(DATABASE_RETRY_AFTER_SECONDS) };
  } else if (typeof err.statusCode === 'number' && err.statusCode >= 400 && err.statusCode < 500) {
    status = err.statusCode;
    code = err.code && !err.code.startsWith('FST_') ? err.code : 'BAD_REQUEST';
    message = err.message;
  }
  return { status, code, message, ...(details === undefined ? {} : { details }), headers };
}

/** How a refusal or failure is logged: capacity shedding and outages as warnings, 5xx as errors with the stack. */
export function logError(log: FastifyBaseLogger, err: unknown, answer: ErrorAnswer): void {
  const { status, code, message } = answer;
  // Shedding for capacity is deliberate: a warning without a stack (and counted where it is decided).
  if (err instanceof Overloaded) log.warn({ code, what: err.what, retryAfterSeconds: err.retryAfterSeconds }, 'request shed: at capacity');
  // An outage is the operator's to see (readiness and AllinDatabaseUnreachable say so), not a defect.
  else if (code === 'DATABASE_UNAVAILABLE') log.warn({ code, cause: (err as Error).message }, 'request refused: database unavailable');
  else if (status >= 500) log.error({ err }, 'request failed');
  else log.debug({ code, message }, 'request refused');
}

/** The error handler: also given to Fastify as `frameworkErrors`, so its own refusals (a malformed URL) share the shape. */
export function replyWithError(err: RequestError, request: FastifyRequest, reply: FastifyReply): void {
  const answer = describeError(err);
  reply.headers(answer.headers);
  logError(request.log, err, answer);
  const { status, code, message, details } = answer;
  reply.status(status).send({ statusCode: status, code, message, ...(details === undefined ? {} : { details }), requestId: request.id });
}

// Errors Node's HTTP parser raises before a request exists (Fastify's `clientErrorHandler`): written on the
// socket in the same shape, with a fresh request id, then the connection is closed.
const CLIENT_ERRORS: Record<string, { status: number; code: string; message: string }> = {
  ERR_HTTP_REQUEST_TIMEOUT: { status: 408, code: 'REQUEST_TIMEOUT', message: 'The request was not sent in time; the connection is closed.' },
  HPE_HEADER_OVERFLOW: { status: 431, code: 'HEADERS_TOO_LARGE', message: 'The request headers are larger than this server accepts.' },
};

export function replyToClientError(this: { log: FastifyBaseLogger }, err: Error & { code?: string }, socket: Duplex): void {
  if (err.code === 'ECONNRESET' || socket.destroyed) return;
  const known = (err.code && CLIENT_ERRORS[err.code]) || { status: 400, code: 'BAD_REQUEST', message: 'The request is not valid HTTP.' };
  const requestId = randomUUID();
  this.log.debug({ code: known.code, requestId, reason: err.code }, 'connection refused');
  if (socket.writable) {
    const body = JSON.stringify({ statusCode: known.status, code: known.code, message: known.message, requestId });
    socket.write(`HTTP/1.1 ${known.status} ${STATUS_CODES[known.status]}\r\nContent-Type: application/json; charset=utf-8\r\n` +
      `Content-Length: ${Buffer.byteLength(body)}\r\nX-Request-Id: ${requestId}\r\nConnection: close\r\n\r\n${body}`);
  }
  socket.destroy();
}

export function registerErrorHandling(app: FastifyInstance, hooks: { onNotFound?: (request: FastifyRequest, reply: FastifyReply) => void } = {}): void {
  app.setErrorHandler(replyWithError);

  app.setNotFoundHandler((request, reply) => {
    hooks.onNotFound?.(request, reply);
    reply.status(404).send({
      statusCode: 404,
      code: 'NOT_FOUND',
      message: `There is no ${request.method} ${request.url.split('?')[0]}. See /docs for the API.`,
      requestId: request.id,
    });
  });
}
