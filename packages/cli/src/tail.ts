import { Command, Option } from 'commander';
import { stringify } from 'yaml';
import type { ControlPlane, TailAdmin, TailTarget, TailedEvent } from '@sluice/admin';
import type { SluiceRuntime } from '@sluice/broker';
import { parseIsoDuration, parseKindName, type CloudEvent, type EventPredicate } from '@sluice/core';
import type { IngressRef, RuntimeComponent, RuntimeContext } from '@sluice/plugin';
import { usageError } from './send.js';
import { addAdminClientOptions, adminErrorLine, adminFetch, type AdminClientFlags } from './admin-client.js';

const CHANNEL_KINDS = new Set(['Channel', 'InMemoryChannel', 'KafkaChannel']);

const familyOf = (kind: string): TailTarget['kind'] | undefined => (kind === 'Broker' ? 'broker' : CHANNEL_KINDS.has(kind) ? 'channel' : undefined);

interface Listener {
  readonly target: TailTarget;
  readonly matches: EventPredicate;
  readonly send: (event: CloudEvent) => void;
}

/**
 * The live tail of a running Sluice, for the admin API's `/api/v1/{brokers|channels}/{ns}/{name}/events` (which the
 * dashboard and `sluice tail` both use): an observer of every ingress, registered as a runtime component. It creates
 * no subscription and stores nothing: accepted events are copied to the listeners open at that moment; with no
 * listener the cost is one check per accepted batch.
 */
export class RuntimeTail implements RuntimeComponent, TailAdmin {
  readonly name = 'event tail';
  readonly #listeners = new Set<Listener>();
  #registered = false;

  constructor(
    private readonly plane: () => ControlPlane,
    private readonly runtime: () => SluiceRuntime | undefined,
  ) {}

  /** Listeners open now (a tail that ended leaves none). */
  get listening(): number {
    return this.#listeners.size;
  }

  register(ctx: RuntimeContext): void {
    if (this.#registered) return;
    this.#registered = true;
    ctx.onIngress?.((ref: IngressRef, events) => {
      if (this.#listeners.size === 0) return;
      const family = familyOf(ref.kind);
      for (const l of this.#listeners) {
        if (l.target.kind !== family || l.target.namespace !== ref.namespace || l.target.name !== ref.name) continue;
        for (const e of events) if (l.matches(e)) l.send(e);
      }
    });
  }

  start(ctx: RuntimeContext): Promise<void> {
    this.register(ctx);
    return Promise.resolve();
  }

  stop(): Promise<void> {
    this.#listeners.clear();
    // A runtime that starts it again gives it a new context to observe.
    this.#registered = false;
    return Promise.resolve();
  }

  find(target: TailTarget): string | undefined {
    return this.plane()
      .resources()
      .find((r) => familyOf(r.kind) === target.kind && r.metadata.namespace === target.namespace && r.metadata.name === target.name)?.kind;
  }

  listen(target: TailTarget, matches: EventPredicate, send: (event: CloudEvent) => void): () => void {
    const listener: Listener = { target, matches, send };
    this.#listeners.add(listener);
    return () => {
      this.#listeners.delete(listener);
    };
  }

  retained(target: TailTarget, since: number, afterSeq: number, limit: number): ReturnType<TailAdmin['retained']> {
    if (target.kind !== 'broker') return undefined;
    return this.runtime()?.kept.retainedEvents(`${target.namespace}/${target.name}`, since, afterSeq, limit);
  }

  retainedPages(target: TailTarget, since: number, until: number): ReturnType<NonNullable<TailAdmin['retainedPages']>> {
    if (target.kind !== 'broker') return undefined;
    return this.runtime()?.kept.retainedPages(`${target.namespace}/${target.name}`, since, until);
  }
}

/** `broker:NAME[:NS]`, `channel:NAME[:NS]` or NAME (a broker). */
export function tailTarget(value: string, namespace: string): TailTarget {
  const target = parseKindName<TailTarget['kind']>(value, ['broker', 'channel'], 'broker');
  if (!target) throw usageError(`expected broker:NAME[:NAMESPACE], channel:NAME[:NAMESPACE] or NAME, got "${value}"`);
  return { kind: target.kind, name: target.name, namespace: target.namespace ?? namespace };
}

/** `--since`: a duration back from now as kubectl spells it (`30s`, `5m`, `1h30m`) or ISO-8601 (`PT5M`), or a time. */
export function sinceArg(value: string, now: number): number {
  const go = /^(?:\d+(?:\.\d+)?(?:ms|s|m|h))+$/.exec(value);
  if (go) {
    let ms = 0;
    for (const [, n, unit] of value.matchAll(/(\d+(?:\.\d+)?)(ms|s|m|h)/g)) ms += Number(n) * { ms: 1, s: 1000, m: 60_000, h: 3_600_000 }[unit as 'ms' | 's' | 'm' | 'h'];
    return now - ms;
  }
  if (/^P/i.test(value)) {
    try {
      return now - parseIsoDuration(value);
    } catch {
      // not an ISO-8601 duration: reported below
    }
  }
  const t = /^\d{4}-\d{2}-\d{2}/.test(value) ? Date.parse(value) : NaN;
  if (!Number.isFinite(t)) throw usageError(`--since must be a duration (30s, 5m, 1h, PT5M) or an ISO-8601 time, got "${value}"`);
  return t;
}

const paint = (code: number, text: string, on: boolean): string => (on ? `\u001b[${code}m${text}\u001b[0m` : text);

/** One line per event, as `kubectl logs` prints: time, type, source, id, subject (colour only on a terminal). */
export function tailLine(e: TailedEvent, colour: boolean): string {
  const a = e.attributes;
  const text = (v: unknown): string => (typeof v === 'string' || typeof v === 'number' || typeof v === 'boolean' ? String(v) : '');
  const time = text(a['knativearrivaltime']) || text(a['time']) || new Date().toISOString();
  const fields = [paint(2, time, colour), paint(36, text(a['type']), colour), text(a['source']), text(a['id'])];
  if (a['subject'] !== undefined) fields.push(text(a['subject']));
  return fields.join('  ');
}

/** The event in CloudEvents' JSON format (data as JSON when it is JSON, else text, or `data_base64`). */
export function tailJson(e: TailedEvent): Record<string, unknown> {
  const out: Record<string, unknown> = { ...e.attributes };
  if (e.data_base64 !== undefined) out['data_base64'] = e.data_base64;
  else if (e.data !== undefined) {
    const ct = typeof e.attributes['datacontenttype'] === 'string' ? e.attributes['datacontenttype'] : 'application/json';
    let data: unknown = e.data;
    if (/[/+]json(;|$)/i.test(ct)) {
      try {
        data = JSON.parse(e.data);
      } catch {
        // not JSON after all: kept as text
      }
    }
    out['data'] = data;
  }
  return out;
}

interface TailFlags extends AdminClientFlags {
  namespace: string;
  filter?: string;
  since?: string;
  output?: 'json' | 'yaml';
}

/** `sluice tail broker:NAME`: follows what a broker (or channel) of a running Sluice accepts. */
export function tailCommand(onExit: (code: number) => void): Command {
  return addAdminClientOptions(
    new Command('tail')
      .description('follow the events a broker (or channel) of a running sluice accepts, one line each; leaves nothing behind (no subscription, nothing stored)')
      .argument('<target>', 'broker:NAME[:NAMESPACE], channel:NAME[:NAMESPACE] or NAME (a broker)')
      .option('-n, --namespace <ns>', 'namespace of the broker or channel when not given in the target', 'default')
      .option('--filter <cesql>', 'only events this CESQL expression matches')
      .option('--since <duration|time>', 'first show what the broker still keeps from this long ago (5m, 1h, PT5M) or this time (ISO-8601)')
      .addOption(new Option('-o, --output <format>', 'json: one JSON event per line; yaml: one document per event').choices(['json', 'yaml'])),
  ).action(async (targetText: string, f: TailFlags) => {
    const target = tailTarget(targetText, f.namespace);
    const q = new URLSearchParams();
    if (f.filter !== undefined) q.set('filter', f.filter);
    if (f.since !== undefined) q.set('since', new Date(sinceArg(f.since, Date.now())).toISOString());
    const url = `/api/v1/${target.kind}s/${target.namespace}/${target.name}/events${q.size > 0 ? `?${q.toString()}` : ''}`;
    const aborter = new AbortController();
    let stopped = false;
    const stop = (): void => {
      stopped = true;
      aborter.abort();
    };
    process.once('SIGINT', stop);
    process.once('SIGTERM', stop);
    const code = await follow(url, f, aborter.signal).catch((err: unknown) => {
      if (stopped) return 0;
      process.stderr.write(`sluice tail: ${(err as Error).message}\n`);
      return 1;
    });
    process.off('SIGINT', stop);
    process.off('SIGTERM', stop);
    onExit(stopped ? 0 : code);
  });

  async function follow(url: string, f: TailFlags, signal: AbortSignal): Promise<number> {
    // admin-client.ts: the token, the CA, and the one-line errors of every admin command.
    const res = await adminFetch(f, 'GET', url, { accept: 'text/event-stream', signal });
    if (!res.ok) {
      const body = (await res.json().catch(() => undefined)) as { error?: { message?: string } } | undefined;
      process.stderr.write(
        `sluice tail: ${res.status === 401 || res.status === 403 ? adminErrorLine(f, res.status, body) : (body?.error?.message ?? `the admin API at ${f.server} answered HTTP ${res.status}`)}\n`,
      );
      // A bad filter or time is a usage error; an unknown broker or a refusal is not.
      return res.status === 400 ? 2 : 1;
    }
    // On stderr, so stdout carries only events (for scripts); says the tail is in place before any event comes.
    process.stderr.write(`sluice tail: following ${url.replace(/^.*\/api\/v1\/(broker|channel)s\/([^/]+)\/([^/]+)\/events.*$/, '$1 $2/$3')}${f.filter ? ` where ${f.filter}` : ''} (Ctrl-C to stop)\n`);
    const colour = process.stdout.isTTY === true && !process.env['NO_COLOR'];
    const print = (e: TailedEvent): void => {
      const out = f.output === 'json' ? JSON.stringify(tailJson(e)) + '\n' : f.output === 'yaml' ? `---\n${stringify(tailJson(e))}` : tailLine(e, colour) + '\n';
      process.stdout.write(out);
    };
    const decoder = new TextDecoder();
    let buffer = '';
    for await (const chunk of res.body as unknown as AsyncIterable<Uint8Array>) {
      buffer += decoder.decode(chunk, { stream: true });
      for (let end = buffer.indexOf('\n\n'); end >= 0; end = buffer.indexOf('\n\n')) {
        const block = buffer.slice(0, end);
        buffer = buffer.slice(end + 2);
        let event = 'message';
        let data = '';
        for (const line of block.split('\n')) {
          if (line.startsWith('event: ')) event = line.slice(7);
          else if (line.startsWith('data: ')) data += line.slice(6);
        }
        if (event === 'cloudevent') print(JSON.parse(data) as TailedEvent);
        else if (event === 'notice') process.stderr.write(`sluice tail: ${JSON.parse(data) as string}\n`);
        else if (event === 'skipped') process.stderr.write(`sluice tail: fell behind, ${data} events skipped\n`);
      }
    }
    process.stderr.write(`sluice tail: the stream ended (sluice stopped or restarted)\n`);
    return 1;
  }
}
