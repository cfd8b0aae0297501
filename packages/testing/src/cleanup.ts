import { after, type TestContext } from 'node:test';

/** One thing to undo: close a server, stop a process, remove a directory. */
export type CleanupAction = () => unknown;

/** Undo actions collected while a test file (or one test) starts things; {@link cleanupScope} runs them. */
export interface CleanupScope {
  /** Registers actions to run at the end of the scope: the last one registered runs first. */
  add(...actions: CleanupAction[]): void;
}

/** Options of a file-level {@link cleanupScope}. */
export interface CleanupScopeOptions {
  /** How long the cleanup may take in all (node:test's hook timeout), for a scope that stops a whole Kafka cluster. */
  readonly timeout?: number;
}

/**
 * Collects cleanup actions and runs them in reverse order of registration, so what was started last (a Sluice using
 * a subscriber) is stopped before what it uses. `cleanupScope()` (or `cleanupScope({ timeout })`) runs them in one
 * `after` hook of the test file, `cleanupScope(t)` in that test's `t.after`. Every action runs even when an earlier
 * one fails (a failed stop must not leave a process or directory behind); the first failure is then rethrown.
 */
export function cleanupScope(scope: TestContext | CleanupScopeOptions = {}): CleanupScope {
  const actions: CleanupAction[] = [];
  const run = async (): Promise<void> => {
    let failure: { error: unknown } | undefined;
    for (const action of actions.splice(0).reverse()) {
      try {
        await action();
      } catch (error) {
        failure ??= { error };
      }
    }
    if (failure) throw failure.error;
  };
  if ('after' in scope) scope.after(run);
  else after(run, scope);
  return { add: (...more) => void actions.push(...more) };
}
