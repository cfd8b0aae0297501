/**
 * Polls `probe` until it gives a value other than `undefined` or `false` and resolves with that value (so a
 * predicate resolves with `true`, a finder with what it found). Fails after `timeoutMs` with `what` (a function is
 * called only then, so it can append the output of a process under test).
 */
export async function waitFor<T>(probe: () => T | undefined | false | Promise<T | undefined | false>, what: string | (() => string), timeoutMs = 10_000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await probe();
    if (value !== undefined && value !== false) return value;
    if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms waiting for ${typeof what === 'function' ? what() : what}`);
    await new Promise((r) => setTimeout(r, 10));
  }
}
