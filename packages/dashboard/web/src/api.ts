// What the dashboard reads from the admin API. The shapes are the admin API's JSON (docs/operations.md); fields that
// a kind lacks are optional here, so the app shows what is there.

/** A Knative-style condition. */
export interface Condition {
  readonly type: string;
  readonly status: 'True' | 'False' | 'Unknown';
  readonly reason?: string;
  readonly message?: string;
}

/** Live delivery figures of a Trigger or Subscription. */
export interface Figures {
  readonly backlog: number;
  readonly inFlight: number;
  readonly retrying: number;
  readonly oldestPendingAgeMs: number | null;
  readonly delivered: number;
  readonly failed: number;
  readonly deadLettered?: number;
  readonly dropped?: number;
  readonly deliveredPerSecond?: number;
  readonly failedPerSecond?: number;
  readonly lastSuccess?: string | null;
  readonly lastError?: { readonly status: number | null; readonly reason: string; readonly body: string; readonly time: string } | null;
  readonly circuit?: string;
}

/** A resource with its status, as `GET /api/v1/{kind}` lists it. */
export interface Resource {
  readonly apiVersion: string;
  readonly kind: string;
  readonly metadata: { readonly name: string; readonly namespace: string };
  readonly spec?: Record<string, unknown>;
  readonly status?: { readonly conditions?: readonly Condition[]; readonly figures?: Figures; readonly [field: string]: unknown };
  readonly source?: string;
}

/** One snapshot of the live stream. */
export interface Snapshot {
  readonly at: number;
  readonly starting?: boolean;
  readonly ready?: { readonly ready: boolean; readonly reasons: readonly string[] };
  readonly resources?: readonly Resource[];
}

/** A stored dead letter. */
export interface DeadLetter {
  readonly id: number;
  readonly broker: string;
  readonly trigger: string;
  readonly reason: string;
  readonly attempts: number;
  readonly replays: number;
  readonly lastAttemptAt: string;
  readonly storedAt: string;
  readonly event: { readonly attributes: Record<string, unknown>; readonly data?: unknown };
}

/** `ns/name` of a resource. */
export const keyOf = (r: Resource): string => `${r.metadata.namespace}/${r.metadata.name}`;

/** The Ready condition's status, or Unknown when a kind has none. */
export function readiness(r: Resource): Condition['status'] | 'None' {
  const conditions = r.status?.conditions;
  if (!conditions) return 'None';
  return conditions.find((c) => c.type === 'Ready')?.status ?? 'Unknown';
}

async function json<T>(res: Response): Promise<T> {
  const body = (await res.json()) as T & { error?: { message: string } };
  if (!res.ok) throw new Error(body.error?.message ?? `${res.status} ${res.statusText}`);
  return body;
}

/** Admin API calls (relative to the page, so a reverse proxy in front of /ui keeps working). */
export const api = {
  deadLetterBrokers: async () => json<{ items: { broker: string; count: number; bytes: number; dropped: number }[] }>(await fetch('../api/v1/deadletters')),
  deadLetters: async (broker: string, filter: string) => {
    const q = new URLSearchParams({ limit: '200', ...(filter ? { filter } : {}) });
    return json<{ items: DeadLetter[] }>(await fetch(`../api/v1/deadletters/${broker}?${q.toString()}`));
  },
  replay: async (broker: string, ids: number[]) =>
    json<{ replayed: number; failed: number; skipped: number }>(
      await fetch(`../api/v1/deadletters/${broker}/replay`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ ids }) }),
    ),
  purge: async (broker: string, ids: number[]) =>
    json<{ purged: number }>(
      await fetch(`../api/v1/deadletters/${broker}/purge`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ ids }) }),
    ),
  list: async (kind: string) => json<{ items: Resource[] }>(await fetch(`../api/v1/${kind}`)),
};
