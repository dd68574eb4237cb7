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
