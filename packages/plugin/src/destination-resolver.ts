import { DEFAULT_NAMESPACE, SluiceError, type Destination } from '@sluice/core';

/** How `ref`s resolve to URLs. */
export interface ResolverOptions {
  /** Base URL of this Sluice's ingress, e.g. `http://127.0.0.1:8080`. Broker refs resolve under it. */
  ingressBaseUrl: string;
  /**
   * Template for `Service` refs (`v1` and `serving.knative.dev/v1`), with `{name}` and `{namespace}` placeholders.
   * Default: Kubernetes cluster DNS, so the same YAML works inside a cluster.
   */
  serviceUrlTemplate?: string;
}

/** Default rule for `Service` refs: cluster-local DNS, as Kubernetes resolves them. */
export const DEFAULT_SERVICE_URL_TEMPLATE = 'http://{name}.{namespace}.svc.cluster.local';

/** Turns Destinations into absolute URLs by Sluice's documented rules (docs/destinations.md). */
export class DestinationResolver {
  readonly #options: ResolverOptions;
  readonly #kinds: Map<string, (namespace: string, name: string) => string>;
  readonly #services: Map<string, string>;
  /** What was registered through this resolver (a scope), so {@link release} can take it back. */
  readonly #ownKinds = new Set<string>();
  readonly #ownServices = new Set<string>();

  /** Makes a kind addressable by `ref` (channels, sequences, parallels): `address` returns its URL. */
  register(kind: string, address: (namespace: string, name: string) => string): void {
    if (kind === 'Broker' || kind === 'Service' || this.#kinds.has(kind)) throw new SluiceError('SLUICE_DESTINATION_KIND_TAKEN', `kind ${kind} is already addressable`);
    this.#kinds.set(kind, address);
    this.#ownKinds.add(kind);
  }

  /**
   * Makes a Service that runs here (a Knative Service, or a v1 Service selecting a workload Sluice runs) resolve to
   * `url` instead of the Service URL template.
   */
  registerService(namespace: string, name: string, url: string): void {
    const key = `${namespace}/${name}`;
    if (this.#services.has(key)) throw new SluiceError('SLUICE_DESTINATION_KIND_TAKEN', `Service ${key} already has an address`);
    this.#services.set(key, url);
    this.#ownServices.add(key);
  }

  /** Whether a Service ref to `namespace/name` resolves to something Sluice runs. */
  runsService(namespace: string, name: string): boolean {
    return this.#services.has(`${namespace}/${name}`);
  }

  constructor(options: ResolverOptions, shared?: DestinationResolver) {
    this.#options = options;
    this.#kinds = shared ? shared.#kinds : new Map<string, (namespace: string, name: string) => string>();
    this.#services = shared ? shared.#services : new Map<string, string>();
  }

  /**
   * A resolver that shares this one's addresses and remembers what is registered through it, for one component:
   * when the component stops (a live reconfiguration), {@link release} takes its kinds and Services back.
   */
  scope(): DestinationResolver {
    return new DestinationResolver(this.#options, this);
  }

  /** Whether kinds or Services were registered through this resolver (a scope): addresses others may have resolved. */
  hasAddresses(): boolean {
    return this.#ownKinds.size > 0 || this.#ownServices.size > 0;
  }

  /** Removes every kind and Service registered through this resolver. */
  release(): void {
    for (const kind of this.#ownKinds) this.#kinds.delete(kind);
    for (const key of this.#ownServices) this.#services.delete(key);
    this.#ownKinds.clear();
    this.#ownServices.clear();
  }

  /** The ingress URL of a broker. */
  brokerUrl(namespace: string, name: string): string {
    return `${this.#options.ingressBaseUrl}/${namespace}/${name}`;
  }

  /** Resolves a destination declared in `namespace`. */
  resolve(dest: Destination, namespace: string = DEFAULT_NAMESPACE): string {
    if (!dest.ref) {
      if (dest.uri === undefined) throw new SluiceError('SLUICE_DESTINATION_INVALID', 'a destination needs a ref or a uri');
      return dest.uri;
    }
    const ns = dest.ref.namespace ?? namespace;
    let base: string;
    switch (dest.ref.kind) {
      case 'Broker':
        base = this.brokerUrl(ns, dest.ref.name);
        break;
      case 'Service':
        base = this.#services.get(`${ns}/${dest.ref.name}`) ?? (this.#options.serviceUrlTemplate ?? DEFAULT_SERVICE_URL_TEMPLATE).replaceAll('{name}', dest.ref.name).replaceAll('{namespace}', ns);
        break;
      default: {
        const address = this.#kinds.get(dest.ref.kind);
        if (!address) throw new SluiceError('SLUICE_DESTINATION_UNRESOLVABLE', `cannot resolve a ref to kind ${dest.ref.kind}`);
        base = address(ns, dest.ref.name);
      }
    }
    if (dest.uri === undefined) return base;
    // The uri only ever adds a path under the ref's address: `//other-host/x` stays on the ref's host.
    return appendRelativeUri(base, dest.uri);
  }
}

/**
 * Appends a ref's relative `uri` to the ref's address: the path is added to the address's own path (so that an address
 * with a path, e.g. from a path-style `--service-url-template`, keeps it) and a query or fragment replaces the
 * address's. In a cluster the address has no path, and this is what Knative's resolution gives.
 */
export function appendRelativeUri(base: string, uri: string): string {
  const u = new URL(base);
  const m = /^([^?#]*)(\?[^#]*)?(#.*)?$/.exec(uri)!;
  const path = m[1] ?? '';
  if (path !== '') {
    const basePath = u.pathname.endsWith('/') ? u.pathname.slice(0, -1) : u.pathname;
    u.pathname = `${basePath}/${path.replace(/^\/+/, '')}`;
  }
  if (m[2] !== undefined) u.search = m[2];
  if (m[3] !== undefined) u.hash = m[3];
  return u.toString();
}
