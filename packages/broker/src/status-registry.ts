import { summarizeStatus, type Condition, type ResourceStatus } from '@sluice/core';

/**
 * The status of every resource the runtime runs, as Knative reconcilers would write it: components report their
 * conditions, the registry derives `Ready` and keeps each condition's `lastTransitionTime` stable while its status
 * does not change.
 */
export class StatusRegistry {
  readonly #statuses = new Map<string, ResourceStatus>();

  constructor(private readonly now: () => number = Date.now) {}

  /** Sets the conditions (without `Ready`, which is derived) and extra status fields of a resource. */
  set(kind: string, namespace: string, name: string, conditions: readonly Condition[], fields: Record<string, unknown> = {}): void {
    const key = `${kind}/${namespace}/${name}`;
    const previous = new Map((this.#statuses.get(key)?.conditions ?? []).map((c) => [c.type, c]));
    const at = new Date(this.now()).toISOString();
    const status = summarizeStatus(conditions, fields);
    const stamped = status.conditions.map((c) => {
      const before = previous.get(c.type);
      return { ...c, lastTransitionTime: before && before.status === c.status ? (before.lastTransitionTime ?? at) : at };
    });
    this.#statuses.set(key, { ...status, conditions: stamped });
  }

  /** The status of a resource, or undefined when nothing reported one. */
  get(kind: string, namespace: string, name: string): ResourceStatus | undefined {
    return this.#statuses.get(`${kind}/${namespace}/${name}`);
  }

  /** Forgets a resource (deleted from the configuration). */
  delete(kind: string, namespace: string, name: string): void {
    this.#statuses.delete(`${kind}/${namespace}/${name}`);
  }
}
