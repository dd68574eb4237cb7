// The one poller of the suite: for a state that something else (a worker, a server, a timer) reaches in
// its own time, and that the test can only observe by asking again.

/**
 * Calls `check` until it returns a value (not undefined/false/null) and returns that value, or fails after
 * `timeoutMs` naming `what`. `everyMs` is the pause between checks: short for in-process state that is
 * cheap to read, the default for anything that queries a database or a server.
 */
export async function eventually<T>(
  check: () => T | undefined | false | null | Promise<T | undefined | false | null>, timeoutMs = 20_000, what = 'condition', everyMs = 100,
  opts: {
    /** A check that throws is asked again (a server still starting refuses connections); the last error is named on timeout. */
    retryErrors?: boolean;
    /** More to say on timeout (a child process's log, say). */
    context?: () => string;
  } = {},
): Promise<T> {
  const end = Date.now() + timeoutMs;
  let last: unknown;
  for (;;) {
    try {
      const v = await check();
      if (v) return v;
    } catch (err) {
      if (!opts.retryErrors) throw err;
      last = err;
    }
    if (Date.now() > end) {
      const why = last === undefined ? '' : ` (last error: ${last instanceof Error ? last.message : String(last)})`;
      throw new Error(`timed out waiting for ${what} (${timeoutMs} ms)${why}${opts.context ? `\n${opts.context()}` : ''}`);
    }
    await new Promise((r) => setTimeout(r, everyMs));
  }
}
