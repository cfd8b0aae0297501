import type { DestinationResolver, IngressObserver, RuntimeComponent } from '@sluice/plugin';

/** What one component registered through its context, released when it stops. */
export interface ComponentScope {
  readonly routes: Set<string>;
  readonly observers: Set<IngressObserver>;
  readonly statuses: Map<string, readonly [string, string, string]>;
  readonly published: Set<string>;
  readonly deliveries: Set<string>;
  readonly resolver: DestinationResolver;
}

/** A running component and the fingerprint of the resources it was built from. */
export interface RunningComponent {
  readonly component: RuntimeComponent;
  readonly fingerprint: string | undefined;
  readonly scope: ComponentScope;
}

/** A component a configuration asks for, with the fingerprint of its resources (undefined: it names none). */
export interface WantedComponent {
  readonly component: RuntimeComponent;
  readonly fingerprint: string | undefined;
}

/** An empty scope for a new component, with its own scope of the runtime's resolver. */
export function componentScope(resolver: DestinationResolver): ComponentScope {
  return { routes: new Set(), observers: new Set(), statuses: new Map(), published: new Set(), deliveries: new Set(), resolver: resolver.scope() };
}

/**
 * Pairs each wanted component (by index) with the running one it may keep: the same object, or the same name and
 * resources. When an addressable running component (one that registers kinds or Services) is not kept, it may move
 * its addresses: then only the very same objects are kept, as any other might have resolved one of them.
 */
export function pairComponents(running: readonly RunningComponent[], wanted: readonly WantedComponent[]): Map<number, RunningComponent> {
  const pairs = new Map<number, RunningComponent>();
  wanted.forEach((w, i) => {
    const old = running.find((r) => ![...pairs.values()].includes(r) && (r.component === w.component || (w.fingerprint !== undefined && r.component.name === w.component.name && r.fingerprint === w.fingerprint)));
    if (old) pairs.set(i, old);
  });
  if (running.some((r) => r.component.register && ![...pairs.values()].includes(r))) {
    for (const [i, r] of [...pairs]) if (r.component !== wanted[i]!.component) pairs.delete(i);
  }
  return pairs;
}
