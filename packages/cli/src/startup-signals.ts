/**
 * SIGHUPs that arrive while the CLI is still loading. Node ends a process on SIGHUP unless a handler is installed, and
 * loading every package of `sluice run` takes a while: `bin.ts` holds hangups from its first statement, `sluice run`
 * takes them over once it can reload, and every other command re-raises them (a closed terminal still ends `tail`).
 * This module imports nothing, so it is installed before anything else is loaded.
 */
let held = 0;
let holding = false;
const hold = (): void => {
  held++;
};

/** Starts holding SIGHUPs (idempotent). */
export function holdHangups(): void {
  if (holding) return;
  holding = true;
  process.on('SIGHUP', hold);
}

/** Stops holding SIGHUPs; returns how many arrived since {@link holdHangups}. */
export function releaseHangups(): number {
  if (!holding) return 0;
  process.off('SIGHUP', hold);
  holding = false;
  const n = held;
  held = 0;
  return n;
}
