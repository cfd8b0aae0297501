import { waitFor } from './wait.js';

/** What {@link waitForIdle} needs of a running Sluice: its admin API. */
export interface AdminEndpoint {
  readonly adminUrl: string;
  readonly adminHeaders: Readonly<Record<string, string>>;
}

/** The live figures of a Trigger or Subscription that tell whether it is idle (the admin API's `status.figures`). */
export interface IdleFigures {
  readonly backlog: number;
  readonly inFlight: number;
  readonly retrying: number;
  readonly delivered: number;
  readonly failed: number;
  readonly deadLettered: number;
  readonly dropped: number;
}

/**
 * Where {@link waitForIdle} reads figures: running Sluices' admin APIs (every Trigger and Subscription of each), or a
 * function naming the consumers to read and their figures now (an in-process runtime: `runtime.figures(...)`;
 * `undefined` for one that does not run, which is never idle).
 */
export type IdleSource = AdminEndpoint | readonly AdminEndpoint[] | (() => Readonly<Record<string, IdleFigures | undefined>>);

/** Options of {@link waitForIdle}. */
export interface IdleOptions {
  readonly timeoutMs?: number;
  /**
   * Also ask each admin API for an exact count of what its Triggers still owe before each reading: a `sluice delete
   * --dry-run` of them all, which counts what the store holds at that moment. Needed for brokers of the Kafka class,
   * whose figures are refreshed from Kafka in the background (up to 2 s old, zeros until the first refresh), so they
   * alone can show idle while events are still unread; the check also refreshes them.
   */
  readonly exact?: boolean;
}

/** The live figures of one Trigger or Subscription (`kind`: `triggers`, `subscriptions`, …) from the admin API. */
export async function figuresOf(sluice: AdminEndpoint, kind: string, namespace: string, name: string): Promise<IdleFigures> {
  const res = await fetch(`${sluice.adminUrl}/api/v1/${kind}/${namespace}/${name}`, { headers: sluice.adminHeaders });
  if (res.status !== 200) throw new Error(`GET ${kind}/${namespace}/${name}: HTTP ${res.status} ${await res.text()}`);
  const body = (await res.json()) as { status?: { figures?: IdleFigures } };
  if (!body.status?.figures) throw new Error(`${kind}/${namespace}/${name} has no figures`);
  return body.status.figures;
}

interface Listed {
  readonly kind: string;
  readonly metadata: { readonly namespace?: string; readonly name: string };
  readonly status?: { readonly figures?: IdleFigures };
}

/** A reading: `kind ns/name` → figures, undefined when there are none, or why it is not idle (a refused dry run). */
type Reading = Map<string, IdleFigures | string | undefined>;

/** The live figures of every Trigger and Subscription of one Sluice, as `kind ns/name` → figures. */
async function consumerFigures(sluice: AdminEndpoint, exact: boolean): Promise<Reading> {
  const listed: Listed[] = [];
  for (const plural of ['triggers', 'subscriptions']) {
    const res = await fetch(`${sluice.adminUrl}/api/v1/${plural}`, { headers: sluice.adminHeaders });
    if (res.status === 404) continue; // a build without channels
    listed.push(...(((await res.json()) as { items?: Listed[] }).items ?? []));
  }
  const triggers = listed.filter((r) => r.kind === 'Trigger').map((r) => ({ kind: 'Trigger', namespace: r.metadata.namespace ?? 'default', name: r.metadata.name }));
  if (exact && triggers.length > 0) {
    const res = await fetch(`${sluice.adminUrl}/api/v1/delete?dryRun=true`, {
      method: 'POST',
      headers: { ...sluice.adminHeaders, 'content-type': 'application/json' },
      body: JSON.stringify({ resources: triggers }),
    });
    const answer = await res.text();
    // 409: some Trigger owes events. The figures read after this reflect the same moment or later.
    if (res.status === 409) return new Map([['delete --dry-run', answer]]);
    if (res.status !== 200) throw new Error(`delete --dry-run of the triggers: HTTP ${res.status} ${answer}`);
    return consumerFigures(sluice, false);
  }
  const out: Reading = new Map();
  for (const r of listed) out.set(`${r.kind} ${r.metadata.namespace ?? 'default'}/${r.metadata.name}`, r.status?.figures);
  return out;
}

async function readFigures(source: IdleSource, exact: boolean): Promise<Reading> {
  if (typeof source === 'function') return new Map(Object.entries(source()));
  const endpoints: readonly AdminEndpoint[] = 'adminUrl' in source ? [source] : source;
  const out: Reading = new Map();
  for (const sluice of endpoints) {
    for (const [key, f] of await consumerFigures(sluice, exact)) out.set(endpoints.length > 1 ? `${sluice.adminUrl} ${key}` : key, f);
  }
  return out;
}

const idle = (f: IdleFigures | string | undefined): boolean => typeof f === 'object' && f.backlog === 0 && f.inFlight === 0 && f.retrying === 0;

/** What a finished delivery changes: equal counts in two idle readings mean nothing finished between them. */
const finished = (f: IdleFigures | string | undefined): string => (typeof f === 'object' ? `${f.delivered}/${f.failed}/${f.deadLettered}/${f.dropped}` : '-');

/**
 * Waits until every Trigger and Subscription is idle as the admin API reports it: nothing in its backlog, in flight
 * or waiting for a retry, in two readings in a row with no delivery finished between them. From then on no delivery
 * is under way, so a count can be asserted as final (instead of sleeping before a negative assertion). Call it once
 * the events that must have been processed were accepted (their 202): the broker counts an event in every trigger's
 * backlog before it answers. A reply is stored before the delivery that got it finishes, so a reply still to be
 * routed keeps some consumer busy; the second reading catches one that moved to a consumer read earlier in the first.
 */
export async function waitForIdle(source: IdleSource, options: IdleOptions = {}): Promise<void> {
  let last: Reading = new Map();
  let previous: string | undefined;
  await waitFor(
    async () => {
      last = await readFigures(source, options.exact === true);
      // At least one consumer read, so a missing figure never passes for an idle one.
      if (last.size === 0 || ![...last.values()].every(idle)) {
        previous = undefined;
        return false;
      }
      const counts = JSON.stringify([...last].map(([key, f]) => [key, finished(f)]));
      const settled = counts === previous;
      previous = counts;
      return settled;
    },
    () => `every trigger and subscription to be idle: ${JSON.stringify(Object.fromEntries(last))}`,
    options.timeoutMs ?? 20_000,
  );
}
