// Test collaborators: a manual clock and timers, a capturing logger, and a real HTTP server standing in for the
// runtime's (routes, on @sluice/testing's componentContext: resolver and sender), so sources are tested over real
// sockets without a whole runtime. Sinks and polling come from @sluice/testing.
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { TestContext } from 'node:test';
import type { AddressInfo } from 'node:net';
import type { Logger, Timers } from '@sluice/core';
import type { RuntimeContext } from '@sluice/plugin';
import { componentContext, startSubscriber, type Received, type Reply, type Subscriber } from '@sluice/testing';
import { UndiciSender } from '@sluice/delivery';

export interface ManualTimer {
  at: number;
  fn: () => void;
  ms: number;
  cancelled: boolean;
}

/** A clock and timers that only move when the test says so. */
export class ManualTime implements Timers {
  now = 0;
  readonly timers: ManualTimer[] = [];

  constructor(start = 0) {
    this.now = start;
  }

  readonly clock = (): number => this.now;

  setTimeout(fn: () => void, ms: number): unknown {
    const t: ManualTimer = { at: this.now + ms, fn, ms, cancelled: false };
    this.timers.push(t);
    return t;
  }

  clearTimeout(handle: unknown): void {
    (handle as ManualTimer).cancelled = true;
  }

  pending(): ManualTimer[] {
    return this.timers.filter((t) => !t.cancelled && t.at >= 0);
  }

  /** Moves the clock to `to`, firing due timers in order. */
  advanceTo(to: number): void {
    for (;;) {
      const due = this.pending()
        .filter((t) => t.at <= to)
        .sort((a, b) => a.at - b.at)[0];
      if (!due) break;
      due.cancelled = true;
      this.now = Math.max(this.now, due.at);
      due.fn();
    }
    this.now = to;
  }
}

export interface LogLine {
  level: string;
  bindings: Record<string, unknown>;
  obj: Record<string, unknown>;
  msg: string | undefined;
}

/** A logger that keeps every line. */
export function captureLogger(lines: LogLine[] = [], bindings: Record<string, unknown> = {}): Logger & { lines: LogLine[] } {
  const at =
    (level: string) =>
    (obj: object, msg?: string): void => {
      lines.push({ level, bindings, obj: obj as Record<string, unknown>, msg });
    };
  return {
    lines,
    debug: at('debug'),
    info: at('info'),
    warn: at('warn'),
    error: at('error'),
    child: (b) => captureLogger(lines, { ...bindings, ...b }),
  };
}

async function listen(server: Server): Promise<string> {
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
}

type RouteHandler = (req: IncomingMessage, res: ServerResponse, rest: readonly string[]) => void;

/** A stand-in for the runtime: a real server dispatching `/{prefix}/…` routes, a resolver and an undici sender. */
export async function startRuntimeStub(logger: Logger): Promise<{ ctx: RuntimeContext; close(): Promise<void> }> {
  const routes = new Map<string, RouteHandler>();
  const server = createServer((req, res) => {
    const segments = (req.url ?? '/')
      .split('?')[0]!
      .split('/')
      .filter((s) => s !== '');
    const route = segments.length > 2 ? routes.get(segments[0]!) : undefined;
    if (route) route(req, res, segments.slice(1));
    else res.writeHead(404).end();
  });
  const url = await listen(server);
  const sender = new UndiciSender();
  const ctx = componentContext(sender, {
    url,
    logger,
    route(prefix, handler) {
      if (routes.has(prefix)) throw new Error(`route /${prefix} is already taken`);
      routes.set(prefix, handler);
    },
  });
  return {
    ctx,
    async close() {
      server.closeAllConnections();
      await new Promise<void>((resolve) => server.close(() => resolve()));
      await sender.close();
    },
  };
}

/** A recording sink (answering as `respond` says) and a runtime stub logging to a capturing logger, both closed after the test. */
export async function startSinkAndRuntime(
  t: TestContext,
  respond?: (received: Received, index: number) => Reply,
): Promise<{ sink: Subscriber; logger: Logger & { lines: LogLine[] }; rt: Awaited<ReturnType<typeof startRuntimeStub>> }> {
  const sink = await startSubscriber(respond);
  const logger = captureLogger();
  const rt = await startRuntimeStub(logger);
  t.after(async () => {
    await rt.close();
    await sink.close();
  });
  return { sink, logger, rt };
}
