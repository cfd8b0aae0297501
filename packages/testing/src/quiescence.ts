import { waitFor } from './wait.js';

/** What {@link waitForIdle} needs of a running Sluice: its admin API. */
export interface AdminEndpoint {
  readonly adminUrl: string;
  readonly adminHeaders: Readonly<Record<string, string>>;
}

interface Figures {
  readonly backlog: number;
  readonly inFlight: number;
  readonly retrying: number;
}

/** The live figures of every Trigger and Subscription, as `kind ns/name` → figures. */
async function consumerFigures(sluice: AdminEndpoint): Promise<Map<string, Figures>> {
  const out = new Map<string, Figures>();
  for (const plural of ['triggers', 'subscriptions']) {
    const res = await fetch(`${sluice.adminUrl}/api/v1/${plural}`, { headers: sluice.adminHeaders });
    if (res.status === 404) continue; // a build without channels
    const body = (await res.json()) as {
      items?: Array<{ metadata: { namespace?: string; name: string }; status?: { figures?: Figures } }>;
    };
    for (const item of body.items ?? []) {
      const f = item.status?.figures;
      if (f) out.set(`${plural} ${item.metadata.namespace ?? 'default'}/${item.metadata.name}`, f);
    }
  }
  return out;
}

/**
 * Waits until every Trigger and Subscription is idle as the admin API reports it: nothing in its backlog, in flight
 * or waiting for a retry. From then on no delivery is under way, so a count can be asserted as final (instead of
 * sleeping before a negative assertion). A reply is stored before the delivery that got it finishes, so a reply still
 * to be routed keeps some trigger busy.
 */
export async function waitForIdle(sluice: AdminEndpoint, timeoutMs = 20_000): Promise<void> {
  let last = new Map<string, Figures>();
  await waitFor(
    async () => {
      last = await consumerFigures(sluice);
      // At least one consumer read, so a missing figure never passes for an idle one.
      return last.size > 0 && [...last.values()].every((f) => f.backlog === 0 && f.inFlight === 0 && f.retrying === 0);
    },
    () => `every trigger and subscription to be idle: ${JSON.stringify(Object.fromEntries(last))}`,
    timeoutMs,
  );
}
