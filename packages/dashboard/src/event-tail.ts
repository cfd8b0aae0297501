import type { CloudEvent, EventPredicate } from '@sluice/core';
import type { IngressRef, RuntimeComponent, RuntimeContext } from '@sluice/plugin';

/** An event as the dashboard's tail shows it: attributes, and data as text (or base64 when it is not UTF-8 text). */
export interface TailedEvent {
  /** `Kind namespace/name` of the ingress that accepted it. */
  readonly at: string;
  readonly attributes: Record<string, unknown>;
  readonly data?: string;
  readonly data_base64?: string;
}

interface Listener {
  readonly namespace: string;
  readonly name: string;
  readonly matches: EventPredicate;
  readonly send: (event: TailedEvent) => void;
}

const utf8 = new TextDecoder('utf-8', { fatal: true });

function toTailed(ref: IngressRef, event: CloudEvent): TailedEvent {
  const at = `${ref.kind} ${ref.namespace}/${ref.name}`;
  if (event.data === undefined) return { at, attributes: event.attributes };
  try {
    return { at, attributes: event.attributes, data: utf8.decode(event.data) };
  } catch {
    return { at, attributes: event.attributes, data_base64: event.data.toString('base64') };
  }
}

/**
 * Watches what every ingress accepts (brokers, and channels that report theirs) for the dashboard's live tail. It
 * creates no subscription and stores nothing: accepted events are copied to the listeners open at that moment; with
 * no listener the cost is one check per accepted batch.
 */
export class EventTail implements RuntimeComponent {
  readonly name = 'dashboard event tail';
  readonly #listeners = new Set<Listener>();
  #registered = false;

  register(ctx: RuntimeContext): void {
    if (this.#registered) return;
    this.#registered = true;
    ctx.onIngress?.((ref, events) => {
      if (this.#listeners.size === 0) return;
      for (const l of this.#listeners) {
        if (l.namespace !== ref.namespace || l.name !== ref.name) continue;
        for (const e of events) if (l.matches(e)) l.send(toTailed(ref, e));
      }
    });
  }

  start(ctx: RuntimeContext): Promise<void> {
    this.register(ctx);
    return Promise.resolve();
  }

  stop(): Promise<void> {
    this.#listeners.clear();
    return Promise.resolve();
  }

  /** Copies events accepted at `namespace/name` that match to `send`, until the returned function is called. */
  listen(namespace: string, name: string, matches: EventPredicate, send: (event: TailedEvent) => void): () => void {
    const listener: Listener = { namespace, name, matches, send };
    this.#listeners.add(listener);
    return () => {
      this.#listeners.delete(listener);
    };
  }
}
