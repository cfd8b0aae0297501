// The ports Sluice hands to workloads. A port is chosen, then the workload's process starts and listens on it a
// moment later (and again after every restart, on the same port). Ports in the kernel's ephemeral range are the ones
// it gives to every outgoing connection and every listen(0) on the machine: one of those could take the port in
// between, and the workload would fail with EADDRINUSE. So a port that is not declared is chosen outside that range.
import { readFileSync } from 'node:fs';
import { createServer } from 'node:net';

/** Where Sluice picks ports from when it can: at least this many ports outside the ephemeral range. */
const MIN_POOL = 1000;
/** The lowest port picked: below it lie many well-known services' ports. */
const LOWEST = 10_000;
const ATTEMPTS = 64;

/** The kernel's ephemeral port range: Linux's setting, else the IANA range most other systems use. */
export function ephemeralRange(file = '/proc/sys/net/ipv4/ip_local_port_range'): readonly [number, number] {
  try {
    const [lo, hi] = readFileSync(file, 'utf8').trim().split(/\s+/).map(Number);
    if (Number.isInteger(lo) && Number.isInteger(hi) && lo! > 0 && lo! <= hi! && hi! <= 65_535) return [lo!, hi!];
  } catch {
    // not Linux, or /proc is not mounted: the default below
  }
  return [49_152, 65_535];
}

/** The ports outside the ephemeral range to pick from (the larger side), or undefined when neither side is large enough. */
export function pickRange([lo, hi]: readonly [number, number]): readonly [number, number] | undefined {
  const below = lo - LOWEST;
  const above = 65_535 - hi;
  if (below >= MIN_POOL && below >= above) return [LOWEST, lo - 1];
  if (above >= MIN_POOL) return [hi + 1, 65_535];
  return undefined;
}

/** Whether a port can be listened on by anyone, on every IPv4 interface. */
export const isPortFree = (port: number): Promise<boolean> =>
  new Promise((resolve) => {
    const s = createServer();
    s.once('error', () => resolve(false));
    s.listen({ port, host: '0.0.0.0', exclusive: true }, () => s.close(() => resolve(true)));
  });

/** A port the kernel hands out (in its ephemeral range). */
const anyPort = (): Promise<number> =>
  new Promise((resolve, reject) => {
    const s = createServer();
    s.once('error', reject);
    s.listen({ port: 0, host: '127.0.0.1' }, () => {
      const port = (s.address() as { port: number }).port;
      s.close(() => resolve(port));
    });
  });

export interface FreePortOptions {
  /** Ports not to give (handed out already). */
  readonly taken?: ReadonlySet<number>;
  /** The range to pick from (default: outside the ephemeral range, see {@link pickRange}). */
  readonly range?: readonly [number, number] | undefined;
  /** A number in [0, 1) (tests pass a sequence). */
  readonly random?: () => number;
}

/**
 * A free port outside the kernel's ephemeral range, not in `taken`. When no such port is found (a machine whose
 * ephemeral range covers almost every port, or a full pool), one the kernel hands out.
 */
export async function freePort(options: FreePortOptions = {}): Promise<number> {
  const taken = options.taken ?? new Set<number>();
  const range = 'range' in options ? options.range : pickRange(ephemeralRange());
  const random = options.random ?? Math.random;
  if (range) {
    const [from, to] = range;
    for (let i = 0; i < ATTEMPTS; i++) {
      const port = from + Math.floor(random() * (to - from + 1));
      if (!taken.has(port) && (await isPortFree(port))) return port;
    }
  }
  let port = await anyPort();
  while (taken.has(port)) port = await anyPort();
  return port;
}
