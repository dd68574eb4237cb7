// The one poller of the suite: for a state that something else (a worker, a server, a timer) reaches in
// its own time, and that the test can only observe by asking again.

/**
 * Calls `check` until it returns a value (not undefined/false/null) and returns that value, or fails after
 * `timeoutMs` naming `what`. `everyMs` is the pause between checks: short for in-process state that is
 * cheap to read, the default for anything that queries a database or a server.
 */
export async function eventually<T>(
  check: () => T | undefined | false | null | Promise<T | undefined | false | null>, timeoutMs = 20_000, what = 'condition', everyMs = 100,
): Promise<T> {
  const end = Date.now() + timeoutMs;
  for (;;) {
    const v = await check();
    if (v) return v;
    if (Date.now() > end) throw new Error(`timed out waiting for ${what} (${timeoutMs} ms)`);
    await new Promise((r) => setTimeout(r, everyMs));
  }
}
