/**
 * SIGHUPs that arrive while the CLI is still loading. Node ends a process on SIGHUP unless a handler is installed, and
 * loading every package of `sluice run` takes a while: `bin.ts` holds hangups from its first statement, `sluice run`
 * takes them over once it can reload, and every other command ends on them (a closed terminal still ends `tail`).
 * This module imports nothing, so it is installed before anything else is loaded.
 *
 * A signal is dispatched to JavaScript only when the event loop turns, and module loading need not turn it (Node 24
 * loads a module graph synchronously under a module hook): a SIGHUP can have arrived and still be undispatched when a
 * command decides what to do with it. So the handler is never removed while such a signal could be lost: `sluice run`
 * installs its own before releasing, and every other command switches this one to ending the process.
 */
let held = 0;
let mode: 'off' | 'hold' | 'end' = 'off';

const onHangup = (): void => {
  if (mode === 'end') endNow();
  else held++;
};

/** Node's default action, taken now: the listener goes (so the signal's disposition is the default again), then the signal is raised. */
function endNow(): void {
  process.off('SIGHUP', onHangup);
  mode = 'off';
  held = 0;
  process.kill(process.pid, 'SIGHUP');
}

/** Starts holding SIGHUPs (idempotent). */
export function holdHangups(): void {
  if (mode !== 'off') return;
  mode = 'hold';
  process.on('SIGHUP', onHangup);
}

/**
 * Stops holding SIGHUPs; returns how many were dispatched since {@link holdHangups}. Install the SIGHUP listener that
 * takes over first: one that arrived but is not dispatched yet then goes to it.
 */
export function releaseHangups(): number {
  if (mode !== 'hold') return 0;
  process.off('SIGHUP', onHangup);
  mode = 'off';
  const n = held;
  held = 0;
  return n;
}

/**
 * For a command that does not serve SIGHUP: a SIGHUP ends the process, as by Node's default. Resolves after one turn
 * of the event loop, so a SIGHUP that arrived while loading has been dispatched and has ended the process before the
 * command starts; one that comes later ends it when it is dispatched.
 */
export async function endOnHangups(): Promise<void> {
  if (mode !== 'hold') return;
  mode = 'end';
  if (held > 0) return endNow();
  await new Promise<void>((resolve) => setImmediate(resolve));
}
