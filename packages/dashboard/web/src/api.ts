// What the dashboard reads from the admin API: the calls, the token, the event stream. The shapes of the JSON are in
// api-types.ts.
import type { Condition, DeadLetter, Identity, Resource } from './api-types.js';

export type { Circuit, Condition, DeadLetter, Figures, Identity, Resource, Snapshot } from './api-types.js';

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

// The admin token lives in sessionStorage only: gone when the tab closes, never in a cookie (so no other site can
// make the browser use it) and never in a URL. See docs/security.md#the-admin-api.
const TOKEN_KEY = 'sluice-admin-token';

/** The token the user unlocked the page with, if any. */
export function savedToken(): string | undefined {
  return sessionStorage.getItem(TOKEN_KEY) ?? undefined;
}

/** Keeps (or with undefined forgets) the token for this tab. */
export function saveToken(token: string | undefined): void {
  if (token === undefined) sessionStorage.removeItem(TOKEN_KEY);
  else sessionStorage.setItem(TOKEN_KEY, token);
}

function headers(extra: Record<string, string> = {}, token = savedToken()): Record<string, string> {
  return token === undefined ? extra : { ...extra, authorization: `Bearer ${token}` };
}

/** The identity a token (or no token) gets: undefined when the admin API refuses it (401). */
export async function whoami(token = savedToken()): Promise<Identity | undefined> {
  const res = await fetch('../api/v1/whoami', { headers: headers({}, token) });
  if (res.status === 401) return undefined;
  return json<Identity>(res);
}

/**
 * Reads a Server-Sent Events stream with fetch, which (unlike EventSource) can send the Authorization header.
 * `onEvent` gets each event's name and data; `onState` whether the stream is open, or the error that ended it (an
 * HTTP error's message, e.g. a bad CESQL filter). With `reconnect`, a dropped stream is opened again after 2 s.
 * Returns a function that closes it.
 */
export function openStream(url: string, handlers: { onEvent: (name: string, data: string) => void; onState: (open: boolean, error?: string) => void }, options: { reconnect: boolean }): () => void {
  const abort = new AbortController();
  let closed = false;
  const run = async (): Promise<void> => {
    try {
      const res = await fetch(url, { headers: headers({ accept: 'text/event-stream' }), signal: abort.signal });
      if (!res.ok || !res.body) {
        const body = (await res.json().catch(() => undefined)) as { error?: { message?: string } } | undefined;
        handlers.onState(false, body?.error?.message ?? `${res.status} ${res.statusText}`);
        if (res.status < 500) return;
      } else {
        handlers.onState(true);
        const reader = res.body.pipeThrough(new TextDecoderStream()).getReader();
        let buffer = '';
        for (;;) {
          const { value, done } = await reader.read();
          if (done) break;
          buffer += value;
          let end: number;
          while ((end = buffer.indexOf('\n\n')) >= 0) {
            const block = buffer.slice(0, end);
            buffer = buffer.slice(end + 2);
            let name = 'message';
            const data: string[] = [];
            for (const line of block.split('\n')) {
              if (line.startsWith('event:')) name = line.slice(6).trim();
              else if (line.startsWith('data:')) data.push(line.slice(5).replace(/^ /, ''));
            }
            if (data.length > 0) handlers.onEvent(name, data.join('\n'));
          }
        }
        handlers.onState(false);
      }
    } catch (err) {
      if (closed) return;
      handlers.onState(false, (err as Error).message);
    }
    if (options.reconnect && !closed) setTimeout(() => void (closed ? undefined : run()), 2000);
  };
  void run();
  return () => {
    closed = true;
    abort.abort();
  };
}

/** Admin API calls (relative to the page, so a reverse proxy in front of /ui keeps working), with the saved token. */
export const api = {
  deadLetterBrokers: async () => json<{ items: { broker: string; count: number; bytes: number; dropped: number }[] }>(await fetch('../api/v1/deadletters', { headers: headers() })),
  deadLetters: async (broker: string, filter: string) => {
    const q = new URLSearchParams({ limit: '200', ...(filter ? { filter } : {}) });
    return json<{ items: DeadLetter[] }>(await fetch(`../api/v1/deadletters/${broker}?${q.toString()}`, { headers: headers() }));
  },
  replay: async (broker: string, ids: number[]) =>
    json<{ replayed: number; failed: number; skipped: number }>(
      await fetch(`../api/v1/deadletters/${broker}/replay`, { method: 'POST', headers: headers({ 'content-type': 'application/json' }), body: JSON.stringify({ ids }) }),
    ),
  purge: async (broker: string, ids: number[]) =>
    json<{ purged: number }>(await fetch(`../api/v1/deadletters/${broker}/purge`, { method: 'POST', headers: headers({ 'content-type': 'application/json' }), body: JSON.stringify({ ids }) })),
  list: async (kind: string) => json<{ items: Resource[] }>(await fetch(`../api/v1/${kind}`, { headers: headers() })),
};
