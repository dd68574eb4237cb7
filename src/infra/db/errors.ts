// PostgreSQL errors a caller can act on, by SQLSTATE (https://www.postgresql.org/docs/current/errcodes-appendix.html).
// Drizzle wraps the driver's error, so the code is looked for on the error and on what it wraps.

/** The SQLSTATE of an error, or of the error it wraps; '' when there is none. */
export function pgErrorCode(err: unknown): string {
  for (let e = err as { code?: unknown; cause?: unknown } | undefined, depth = 0; e && depth < 3; e = e.cause as typeof e, depth++) {
    if (typeof e.code === 'string' && /^[0-9A-Z]{5}$/.test(e.code)) return e.code;
  }
  return '';
}

/** 40P01: PostgreSQL broke a lock cycle by aborting this transaction; nothing of it was kept, so running it again is safe. */
export const isDeadlock = (err: unknown): boolean => pgErrorCode(err) === '40P01';

/**
 * Runs `transaction` (a whole transaction, with no effect outside the database) again when PostgreSQL
 * aborted it to break a deadlock, up to `attempts` times in all: the other side has finished by then.
 */
export async function retryOnDeadlock<T>(transaction: () => Promise<T>, attempts = 5): Promise<T> {
  for (let attempt = 1; ; attempt++) {
    try {
      return await transaction();
    } catch (err) {
      if (!isDeadlock(err) || attempt >= attempts) throw err;
    }
  }
}

// Connection exception (class 08), the server shutting down or starting up (57P01, 57P02, 57P03) and too many
// connections (53300): PostgreSQL is not there for now, whatever the statement was.
const UNAVAILABLE_STATES = /^(08...|57P0[123]|53300)$/;
// Socket errors of the connection to PostgreSQL (carried as `code`, not a SQLSTATE).
const SOCKET_CODES = new Set(['ECONNREFUSED', 'ECONNRESET', 'EPIPE', 'ETIMEDOUT', 'ENOTFOUND', 'EAI_AGAIN', 'EHOSTUNREACH', 'ENETUNREACH']);
// What node-postgres and its pool throw, without a code, when a connection dies or cannot be made in time.
const DRIVER_MESSAGES = /^(Connection terminated|timeout exceeded when trying to connect|Client has encountered a connection error|Client was closed)/;

/** The database could not be reached or dropped the connection: a retry later may succeed; the request is not at fault. */
export function isDatabaseUnavailable(err: unknown): boolean {
  for (let e = err as { code?: unknown; message?: unknown; cause?: unknown } | undefined, depth = 0; e && depth < 3; e = e.cause as typeof e, depth++) {
    if (typeof e.code === 'string' && (UNAVAILABLE_STATES.test(e.code) || SOCKET_CODES.has(e.code))) return true;
    if (typeof e.message === 'string' && DRIVER_MESSAGES.test(e.message)) return true;
  }
  return false;
}
