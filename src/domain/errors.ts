// What a service refuses, in its own terms: not found, conflict, forbidden, invalid input… Each error has
// a stable `code` that clients rely on, a message for a person, optional `details`, and the hints an
// answer needs (when to retry). Services throw these and never choose an HTTP status: the one error
// handler (src/http/errors.ts) maps each kind to its status and headers.

export abstract class DomainError extends Error {
  /** Which kind of refusal this is; the HTTP edge maps each kind to one status. */
  abstract readonly kind: DomainErrorKind;

  constructor(readonly code: string, message: string, readonly details?: unknown) {
    super(message);
    this.name = new.target.name;
  }
}

/** Nothing by this id that the caller may see (a resource of another workspace is "not found", too). */
export class NotFound extends DomainError {
  readonly kind = 'not_found';
}

/** The request is valid but clashes with the current state (in use, last owner, disabled, too many). */
export class Conflict extends DomainError {
  readonly kind = 'conflict';
}

/** The caller is known but may not do this. */
export class Forbidden extends DomainError {
  readonly kind = 'forbidden';
}

/**
 * The caller is not known: no credential (`challenge: 'missing'`), or one that is not valid
 * (`challenge: 'invalid'`); without a challenge, a refused sign-in that needs no bearer challenge.
 */
export class Unauthenticated extends DomainError {
  readonly kind = 'unauthenticated';

  constructor(code: string, message: string, readonly challenge?: 'missing' | 'invalid', details?: unknown) {
    super(code, message, details);
  }
}

/** A field-level problem for `details`: which input (e.g. "body.name") and what is wrong with it. */
export interface FieldProblem {
  field: string;
  message: string;
}

/** The input is wrong in a way the caller can correct: validation (details name the fields), a spent token, a wrong password. */
export class Invalid extends DomainError {
  readonly kind = 'invalid';
}

/** The content is well formed but cannot be used (a damaged image, a video without its header). */
export class UnprocessableContent extends DomainError {
  readonly kind = 'unprocessable_content';
}

/** The content is of a type this place does not accept. */
export class UnsupportedMediaType extends DomainError {
  readonly kind = 'unsupported_media_type';
}

/** The content is larger than a limit or a quota allows. */
export class TooLarge extends DomainError {
  readonly kind = 'too_large';
}

/** Our storage has no room for it now; the caller may try again later. */
export class InsufficientStorage extends DomainError {
  readonly kind = 'insufficient_storage';
}

/** A rate limit's state, for the RateLimit headers of the refusal. */
export interface RateLimitState {
  /** The limiter's name, e.g. "login-ip". */
  name: string;
  /** Points per window. */
  limit: number;
  windowSeconds: number;
  remaining: number;
  /** Seconds until the window has room again. */
  resetSeconds: number;
}

/** Too many attempts: wait `retryAfterSeconds`. */
export class RateLimited extends DomainError {
  readonly kind = 'rate_limited';

  constructor(code: string, message: string, readonly retryAfterSeconds: number, readonly limit?: RateLimitState, details?: unknown) {
    super(code, message, details);
  }
}

/** Something we depend on (a network) cannot be reached now: try again after `retryAfterSeconds`. */
export class Unavailable extends DomainError {
  readonly kind = 'unavailable';

  constructor(code: string, message: string, readonly retryAfterSeconds: number, details?: unknown) {
    super(code, message, details);
  }
}

export type DomainErrorKind =
  | 'not_found' | 'conflict' | 'forbidden' | 'unauthenticated' | 'invalid' | 'unprocessable_content'
  | 'unsupported_media_type' | 'too_large' | 'insufficient_storage' | 'rate_limited' | 'unavailable';
