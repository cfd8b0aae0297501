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

/** What a change does with the running components, by index of the wanted one: keep as is, or update in place. */
export interface ComponentPlan {
  readonly kept: Map<number, RunningComponent>;
  /** Running components that take the wanted one's change in place ({@link RuntimeComponent.update}). */
  readonly updated: Map<number, RunningComponent>;
}

/**
 * Pairs each wanted component (by index) with the running one it may keep: the same object, or the same name and
 * resources; a running one with the same name that can {@link RuntimeComponent.update} takes a change in place (its
 * addresses stay), unless its {@link RuntimeComponent.canUpdate} says the change would move them. When a running
 * component that registered addresses (kinds or Services) is replaced, it may move them: then only the very same objects
 * are kept and nothing is updated, as any other component might have resolved one of them. A component that registered
 * none (a SinkBinding keeping a token file) is replaced alone.
 */
export function planComponents(running: readonly RunningComponent[], wanted: readonly WantedComponent[]): ComponentPlan {
  const kept = new Map<number, RunningComponent>();
  const updated = new Map<number, RunningComponent>();
  const taken = (r: RunningComponent): boolean => [...kept.values(), ...updated.values()].includes(r);
  wanted.forEach((w, i) => {
    const old = running.find((r) => !taken(r) && (r.component === w.component || (w.fingerprint !== undefined && r.component.name === w.component.name && r.fingerprint === w.fingerprint)));
    if (old) kept.set(i, old);
  });
  wanted.forEach((w, i) => {
    if (kept.has(i)) return;
    const old = running.find((r) => !taken(r) && r.component.update !== undefined && r.component.name === w.component.name && (r.component.canUpdate?.(w.component) ?? true));
    if (old) updated.set(i, old);
  });
  if (running.some((r) => !taken(r) && r.scope.resolver.hasAddresses())) {
    for (const [i, r] of [...kept]) if (r.component !== wanted[i]!.component) kept.delete(i);
    updated.clear();
  }
  return { kept, updated };
}

/** The running components a change keeps as they are ({@link planComponents} without updates in place). */
export function pairComponents(running: readonly RunningComponent[], wanted: readonly WantedComponent[]): Map<number, RunningComponent> {
  return planComponents(running, wanted).kept;
}
