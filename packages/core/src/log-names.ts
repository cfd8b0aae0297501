// The names of the event store's logs and consumer groups. The store port takes plain strings; the runtime names a
// Broker's log `broker:<ns>/<name>`, a Channel's `channel:<ns>/<name>`, a Trigger's consumer group
// `trigger:<ns>/<name>` and a Subscription's `subscription:<ns>/<name>`. These strings are kept on disk (the embedded
// store's SQLite files) and in Kafka (dead-letter records), and the Kafka store maps them to Knative's topic and group
// names, so their format never changes: every place builds and reads them here.

/** The kinds of log (`broker`, `channel`) and consumer group (`trigger`, `subscription`) the runtime names. */
export const LOG_NAME_KINDS = ['broker', 'channel', 'trigger', 'subscription'] as const;

/** One of {@link LOG_NAME_KINDS}. */
export type LogNameKind = (typeof LOG_NAME_KINDS)[number];

/** What a log or consumer group name says: the kind of resource it belongs to and that resource's namespace and name. */
export interface LogIdentity<K extends LogNameKind = LogNameKind> {
  readonly kind: K;
  readonly namespace: string;
  readonly name: string;
}

/** The store's name of a log or consumer group: `<kind>:<namespace>/<name>`. */
export function logName(identity: LogIdentity): string {
  return `${identity.kind}:${identity.namespace}/${identity.name}`;
}

// A name given as a `namespace/name` key (objectKey) is used as is, so that a key from a request that names no
// namespace yields a name that matches nothing, rather than one read wrongly.
const named = (kind: LogNameKind, namespaceOrKey: string, name: string | undefined): string => (name === undefined ? `${kind}:${namespaceOrKey}` : logName({ kind, namespace: namespaceOrKey, name }));

/** The log of a Broker: `broker:<ns>/<name>` (from its namespace and name, or its `namespace/name` key). */
export function brokerLog(key: string): string;
export function brokerLog(namespace: string, name: string): string;
export function brokerLog(namespaceOrKey: string, name?: string): string {
  return named('broker', namespaceOrKey, name);
}

/** The log of a Channel: `channel:<ns>/<name>` (from its namespace and name, or its `namespace/name` key). */
export function channelLog(key: string): string;
export function channelLog(namespace: string, name: string): string;
export function channelLog(namespaceOrKey: string, name?: string): string {
  return named('channel', namespaceOrKey, name);
}

/** The consumer group of a Trigger: `trigger:<ns>/<name>` (from its namespace and name, or its `namespace/name` key). */
export function triggerGroup(key: string): string;
export function triggerGroup(namespace: string, name: string): string;
export function triggerGroup(namespaceOrKey: string, name?: string): string {
  return named('trigger', namespaceOrKey, name);
}

/** The consumer group of a Subscription: `subscription:<ns>/<name>` (from its namespace and name, or its `namespace/name` key). */
export function subscriptionGroup(key: string): string;
export function subscriptionGroup(namespace: string, name: string): string;
export function subscriptionGroup(namespaceOrKey: string, name?: string): string {
  return named('subscription', namespaceOrKey, name);
}

const LOG_NAME = new RegExp(`^(?<kind>${LOG_NAME_KINDS.join('|')}):(?<namespace>[^/]+)/(?<name>.+)$`);

/**
 * What a log or consumer group name says; with `kind`, only a name of that kind is read. Undefined for any other
 * string (a name the runtime did not build, such as a test's own). The namespace is what precedes the first `/`,
 * the name all that follows it.
 */
export function parseLogName<K extends LogNameKind = LogNameKind>(value: string, kind?: K): LogIdentity<K> | undefined {
  const g = LOG_NAME.exec(value)?.groups;
  if (!g || (kind !== undefined && g['kind'] !== kind)) return undefined;
  return { kind: g['kind'] as K, namespace: g['namespace']!, name: g['name']! };
}
