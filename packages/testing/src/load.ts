import { Agent, request } from 'undici';

/** Options of {@link startLoad}. */
export interface LoadOptions {
  /** Event ids are `${idPrefix}-w${worker}-${n}`, unique within a test. */
  readonly idPrefix: string;
  /** Senders, each sending its next event once the previous one is answered. Default 16. */
  readonly workers?: number;
  /** Connections the senders share. Default 32. */
  readonly connections?: number;
  /** The events' `type`. Default `t`. */
  readonly type?: string;
  /** Senders stop by themselves once this many events were accepted (a load whose length does not depend on speed). */
  readonly maxAccepted?: number;
}

/** Events sent without pause to one address, and the ledger of those that got a 202. */
export interface Load {
  /** The ids answered with 202: each one must be delivered (or dead-lettered) whatever happens afterwards. */
  readonly accepted: ReadonlySet<string>;
  /** Requests made so far, answered or not. */
  readonly sent: number;
  /** Stops the senders (each ends its request in flight first) and closes their connections. */
  stop(): Promise<void>;
}

/**
 * Starts binary-mode events (`/crash` source, `payload <id>` text data) to `url` from several senders until stopped:
 * the load of the crash and fault tests, which kill the process under it and then check the ledger. A request that
 * fails (a connection reset by the kill) is not accepted.
 */
export function startLoad(url: string, options: LoadOptions): Load {
  const accepted = new Set<string>();
  const dispatcher = new Agent({ connections: options.connections ?? 32 });
  const type = options.type ?? 't';
  const limit = options.maxAccepted ?? Infinity;
  let stopped = false;
  let sent = 0;
  const workers = Array.from({ length: options.workers ?? 16 }, async (_, w) => {
    for (let i = 0; !stopped && accepted.size < limit; i++) {
      const id = `${options.idPrefix}-w${w}-${i}`;
      sent++;
      try {
        const res = await request(url, {
          method: 'POST',
          dispatcher,
          headers: {
            'ce-specversion': '1.0',
            'ce-id': id,
            'ce-source': '/crash',
            'ce-type': type,
            'content-type': 'text/plain',
          },
          body: `payload ${id}`,
        });
        await res.body.dump();
        if (res.statusCode === 202) accepted.add(id);
      } catch {
        // A connection reset by the kill: not accepted.
      }
    }
  });
  return {
    accepted,
    get sent() {
      return sent;
    },
    async stop() {
      stopped = true;
      await Promise.all(workers);
      await dispatcher.close();
    },
  };
}
