import { Command, InvalidArgumentError, Option } from 'commander';
import { AdminClientError, addAdminClientOptions, adminCall, type AdminClientFlags } from './admin-client.js';
import type { ArchiveAdmin, ArchiveReplayResult, DeadLetterAdmin, DeadLetterSelection, DeadLetterView, ReplayReport } from '@sluice/admin';
import { SluiceError, brokerLog, objectKey, parseKindName, parseLogName, triggerGroup, type EventPredicate } from '@sluice/core';
import type { SluiceRuntime } from '@sluice/broker';
import type { DeadLetter } from '@sluice/store';

/** The runtime's dead-letter stores as the admin API serves them. */
export class RuntimeDeadLetters implements DeadLetterAdmin {
  constructor(private readonly runtime: () => SluiceRuntime | undefined) {}

  #store() {
    const store = this.runtime()?.kept.deadLetters;
    if (!store) throw new SluiceError('SLUICE_NOT_READY', 'Sluice is starting');
    return store;
  }

  brokers(): Array<{ broker: string; count: number; bytes: number; dropped: number }> {
    const runtime = this.runtime();
    const store = runtime?.kept.deadLetters;
    if (!runtime || !store) return [];
    return runtime.brokers().map((b) => ({ broker: `${b.namespace}/${b.name}`, ...store.deadLetterStats(brokerLog(b.namespace, b.name)) }));
  }

  page(broker: string, sel: DeadLetterSelection, afterId: number, limit: number): DeadLetterView[] {
    return this.#store()
      .listDeadLetters(brokerLog(broker), {
        afterId,
        limit,
        ...(sel.trigger === undefined ? {} : { group: triggerGroup(sel.trigger) }),
        ...(sel.from === undefined ? {} : { from: sel.from }),
        ...(sel.to === undefined ? {} : { to: sel.to }),
      })
      .map((l) => view(broker, l));
  }

  get(broker: string, id: number): DeadLetterView | undefined {
    const l = this.#store().getDeadLetter(brokerLog(broker), id);
    return l ? view(broker, l) : undefined;
  }

  replay(broker: string, ids: readonly number[], options: { readonly to?: string; readonly rate: number }): Promise<ReplayReport> {
    return this.runtime()!.kept.replayDeadLetters(broker, ids, options);
  }

  purge(broker: string, ids: readonly number[]): Promise<number> {
    return this.#store().removeDeadLetters(brokerLog(broker), ids);
  }
}

/** The runtime's archives as the admin API serves them. */
export class RuntimeArchive implements ArchiveAdmin {
  constructor(private readonly runtime: () => SluiceRuntime | undefined) {}

  brokers(): Array<{ broker: string; archived: boolean; count: number; bytes: number }> {
    const runtime = this.runtime();
    if (!runtime) return [];
    const archived = new Set(runtime.kept.archivedBrokers());
    return runtime.brokers().map((b) => {
      const broker = `${b.namespace}/${b.name}`;
      return { broker, archived: archived.has(broker), ...runtime.kept.archiveStats(broker) };
    });
  }

  replay(broker: string, options: { readonly from: number; readonly to: number; readonly trigger?: string; readonly filter?: EventPredicate; readonly rate: number }): Promise<ArchiveReplayResult> {
    return this.runtime()!.kept.replayArchive(broker, options);
  }
}

/** `sluice replay broker:NAME --from T --to T [--trigger X] [--filter CESQL]`: re-delivers archived events. */
export function replayCommand(onExit: (code: number) => void): Command {
  return addAdminClientOptions(
    new Command('replay')
      .description("re-deliver a broker's archived events accepted between --from and --to, to one trigger or all, at a bounded rate, while live traffic continues")
      .argument('<broker>', 'broker:NAME[:NAMESPACE] or NAME')
      .requiredOption('--from <time>', 'accepted at or after (ISO-8601 or epoch ms)', timeArg('--from'))
      .requiredOption('--to <time>', 'accepted at or before (ISO-8601 or epoch ms)', timeArg('--to'))
      .option('-n, --namespace <ns>', 'namespace of the broker (and trigger) when not given in broker:NAME:NAMESPACE', 'default')
      .option('--trigger <name>', 'only this trigger (default: every trigger whose filter matches)')
      .option('--filter <cesql>', 'only events this CESQL expression matches')
      .option('--rate <n>', 'deliveries per second at most', rateArg, 100),
  ).action(async (brokerText: string, f: AdminClientFlags & { from: string; to: string; namespace: string; trigger?: string; filter?: string; rate: number }) => {
    try {
      const broker = brokerArg(brokerText, f.namespace);
      const ns = broker.split('/')[0]!;
      const body = {
        from: f.from,
        to: f.to,
        rate: f.rate,
        ...(f.trigger === undefined ? {} : { trigger: f.trigger.includes('/') ? f.trigger : `${ns}/${f.trigger}` }),
        ...(f.filter === undefined ? {} : { filter: f.filter }),
      };
      const r = (await call(f, 'POST', `/api/v1/archive/${broker}/replay`, body)) as ArchiveReplayResult;
      process.stdout.write(`events ${r.events}, replayed ${r.replayed}, failed ${r.failed}${r.failed > 0 ? ' (kept as dead letters: sluice dlq list)' : ''}\n`);
      onExit(r.failed > 0 ? 1 : 0);
    } catch (err) {
      if (!(err instanceof AdminClientError) && !(err instanceof InvalidArgumentError)) throw err;
      process.stderr.write(`sluice replay: ${err.message}\n`);
      onExit(err instanceof InvalidArgumentError ? 2 : 1);
    }
  });
}

function view(broker: string, l: DeadLetter): DeadLetterView {
  const iso = (ms: number): string => new Date(ms).toISOString();
  // Data goes out as text when it is UTF-8, else base64 (JSON cannot carry bytes).
  const data = l.event.data;
  const text = data === undefined ? undefined : data.toString('utf8');
  const event = {
    attributes: l.event.attributes,
    ...(data === undefined ? {} : Buffer.from(text!, 'utf8').equals(data) ? { data: text } : { data_base64: data.toString('base64') }),
  };
  const trigger = parseLogName(l.group, 'trigger');
  return {
    id: l.id,
    broker,
    trigger: trigger ? objectKey(trigger) : l.group,
    reason: l.reason,
    attempts: l.attempts,
    replays: l.replays,
    firstAttemptAt: l.firstAttemptAt === undefined ? undefined : iso(l.firstAttemptAt),
    lastAttemptAt: iso(l.lastAttemptAt),
    storedAt: iso(l.storedAt),
    event: event as unknown as DeadLetterView['event'],
  };
}

/** `broker:NAME[:NAMESPACE]` or `NAME` (namespace from -n) → `namespace/name`. */
function brokerArg(value: string, namespace: string): string {
  const target = parseKindName(value, ['broker'], 'broker');
  if (!target) throw new InvalidArgumentError(`expected broker:NAME[:NAMESPACE] or NAME, got "${value}"`);
  return `${target.namespace ?? namespace}/${target.name}`;
}

function idArg(v: string): number {
  const n = Number(v);
  if (!Number.isInteger(n) || n < 1) throw new InvalidArgumentError(`a dead-letter id is a positive integer, got "${v}"`);
  return n;
}

function timeArg(name: string): (v: string) => string {
  return (v) => {
    if (!/^\d+$/.test(v) && !Number.isFinite(Date.parse(v))) throw new InvalidArgumentError(`${name} must be an ISO-8601 time (2026-01-31T12:00:00Z) or epoch milliseconds, got "${v}"`);
    return v;
  };
}

function urlArg(v: string): string {
  if (!/^https?:\/\/[^/]/.test(v)) throw new InvalidArgumentError(`--to must be an http(s) URL, got "${v}"`);
  return v;
}

function rateArg(v: string): number {
  const n = Number(v);
  if (!Number.isFinite(n) || n <= 0 || n > 10_000) throw new InvalidArgumentError(`--rate must be a number of events per second from 0 to 10000, got "${v}"`);
  return n;
}

interface SelectionFlags extends AdminClientFlags {
  namespace: string;
  trigger?: string;
  since?: string;
  until?: string;
  type?: string;
  source?: string;
  filter?: string;
}

function withSelection(cmd: Command): Command {
  return addAdminClientOptions(cmd)
    .option('-n, --namespace <ns>', 'namespace of the broker (and trigger) when not given in broker:NAME:NAMESPACE', 'default')
    .option('--trigger <name>', 'only dead letters of this trigger (in the broker namespace)')
    .option('--since <time>', 'stored at or after (ISO-8601 or epoch ms)', timeArg('--since'))
    .option('--until <time>', 'stored at or before (ISO-8601 or epoch ms)', timeArg('--until'))
    .option('--type <type>', 'only events of this type')
    .option('--source <source>', 'only events of this source')
    .option('--filter <cesql>', 'only events this CESQL expression matches');
}

function selectionBody(broker: string, f: SelectionFlags): Record<string, string> {
  const ns = broker.split('/')[0]!;
  const body: Record<string, string> = {};
  if (f.trigger !== undefined) body['trigger'] = f.trigger.includes('/') ? f.trigger : `${ns}/${f.trigger}`;
  if (f.since !== undefined) body['from'] = f.since;
  if (f.until !== undefined) body['to'] = f.until;
  for (const k of ['type', 'source', 'filter'] as const) if (f[k] !== undefined) body[k] = f[k];
  return body;
}

/** One admin API call (admin-client.ts: token, CA, one-line errors). */
function call(flags: AdminClientFlags, method: 'GET' | 'POST', path: string, body?: unknown): Promise<unknown> {
  return adminCall(flags, method, path, body);
}

function table(rows: string[][]): string {
  const widths = rows[0]!.map((_, i) => Math.max(...rows.map((r) => r[i]!.length)));
  return rows.map((r) => r.map((c, i) => (i === r.length - 1 ? c : c.padEnd(widths[i]! + 3))).join('')).join('\n') + '\n';
}

const cut = (s: string, n: number): string => (s.length > n ? `${s.slice(0, n - 1)}…` : s);

/** A page of `GET /api/v1/deadletters/{ns}/{name}`. */
interface DeadLetterPage {
  readonly items: DeadLetterView[];
  readonly next?: number;
}

/** One dead letter as `GET /api/v1/deadletters/{ns}/{name}/{id}` answers it, with its data. */
type ShownDeadLetter = DeadLetterView & { event: { data?: string; data_base64?: string } };

/** `sluice dlq list` as a table. */
function listText(broker: string, page: DeadLetterPage): string {
  if (page.items.length === 0) return `No dead letters in broker ${broker}.\n`;
  const rows = [['ID', 'TRIGGER', 'REASON', 'ATTEMPTS', 'REPLAYS', 'TYPE', 'SOURCE', 'EVENT ID', 'STORED']];
  for (const l of page.items) {
    const a = l.event.attributes;
    rows.push([String(l.id), l.trigger, cut(l.reason, 40), String(l.attempts), String(l.replays), String(a['type']), cut(String(a['source']), 30), cut(String(a['id']), 36), l.storedAt]);
  }
  return table(rows) + (page.next !== undefined ? `(more: raise --limit)\n` : '');
}

/** `sluice dlq show` as text: the error first, then the event. */
function showText(l: ShownDeadLetter): string {
  const a = l.event.attributes;
  const lines = [
    `Dead letter ${l.id} of broker ${l.broker}`,
    `Trigger:        ${l.trigger}`,
    `Reason:         ${l.reason}`,
    `Attempts:       ${l.attempts}${l.replays > 0 ? ` (replayed ${l.replays}×)` : ''}`,
    `First attempt:  ${l.firstAttemptAt ?? 'unknown'}`,
    `Last attempt:   ${l.lastAttemptAt}`,
    `Stored:         ${l.storedAt}`,
  ];
  if (a['knativeerrordest'] !== undefined) lines.push(`Failed at:      ${String(a['knativeerrordest'])}`);
  if (a['knativeerrorcode'] !== undefined) lines.push(`Error code:     ${String(a['knativeerrorcode'])}`);
  if (typeof a['knativeerrordata'] === 'string') lines.push(`Error body:     ${Buffer.from(a['knativeerrordata'], 'base64').toString('utf8')}`);
  lines.push('Event attributes:');
  for (const [k, v] of Object.entries(a)) if (!k.startsWith('knativeerror')) lines.push(`  ${k}: ${String(v)}`);
  lines.push(l.event.data !== undefined ? `Data:\n  ${l.event.data}` : l.event.data_base64 !== undefined ? `Data (base64):\n  ${l.event.data_base64}` : 'Data: (none)');
  return lines.join('\n') + '\n';
}

/** `sluice dlq list|show|replay|purge`: the dead-letter store through the admin API of a running sluice. */
export function dlqCommand(onExit: (code: number) => void): Command {
  const dlq = new Command('dlq').description("look at and act on a broker's dead letters (events whose delivery was exhausted)");
  const run = (fn: () => Promise<number>): Promise<void> =>
    fn().then(onExit, (err: unknown) => {
      if (err instanceof InvalidArgumentError) {
        process.stderr.write(`sluice dlq: ${err.message}\n`);
        onExit(2);
        return;
      }
      if (!(err instanceof AdminClientError)) throw err;
      process.stderr.write(`sluice dlq: ${err.message}\n`);
      onExit(1);
    });

  withSelection(dlq.command('list').description('list dead letters, oldest first').argument('<broker>', 'broker:NAME[:NAMESPACE] or NAME'))
    .option('--limit <n>', 'at most this many', (v) => idArg(v), 100)
    .addOption(new Option('-o, --output <format>', 'output format').choices(['table', 'json']).default('table'))
    .action((brokerText: string, f: SelectionFlags & { limit: number; output: string }) =>
      run(async () => {
        const broker = brokerArg(brokerText, f.namespace);
        const q = new URLSearchParams({ ...selectionBody(broker, f), limit: String(f.limit) });
        const page = (await call(f, 'GET', `/api/v1/deadletters/${broker}?${q.toString()}`)) as DeadLetterPage;
        process.stdout.write(f.output === 'json' ? JSON.stringify(page, null, 2) + '\n' : listText(broker, page));
        return 0;
      }),
    );

  addAdminClientOptions(dlq.command('show'))
    .description('show one dead letter: the event, its error and its attempts')
    .argument('<broker>', 'broker:NAME[:NAMESPACE] or NAME')
    .argument('<id>', 'dead-letter id (from list)', idArg)
    .option('-n, --namespace <ns>', 'namespace of the broker', 'default')
    .addOption(new Option('-o, --output <format>', 'output format').choices(['text', 'json']).default('text'))
    .action((brokerText: string, id: number, f: AdminClientFlags & { namespace: string; output: string }) =>
      run(async () => {
        const broker = brokerArg(brokerText, f.namespace);
        const l = (await call(f, 'GET', `/api/v1/deadletters/${broker}/${id}`)) as ShownDeadLetter;
        process.stdout.write(f.output === 'json' ? JSON.stringify(l, null, 2) + '\n' : showText(l));
        return 0;
      }),
    );

  const act = (verb: 'replay' | 'purge', description: string): Command =>
    withSelection(dlq.command(verb).description(description).argument('<broker>', 'broker:NAME[:NAMESPACE] or NAME').argument('[ids...]', 'dead-letter ids (from list)')).option(
      '--all',
      'every dead letter of the broker (with the selection flags: every one they match)',
    );

  act('replay', "send dead letters again, to their trigger's subscriber (or --to), at a bounded rate; delivered ones are removed, failing ones stay")
    .option('--to <url>', 'send to this URL instead of the original subscriber', urlArg)
    .option('--rate <n>', 'events per second at most', rateArg, 100)
    .action((brokerText: string, ids: string[], f: SelectionFlags & { all?: boolean; to?: string; rate: number }) =>
      run(async () => {
        const broker = brokerArg(brokerText, f.namespace);
        const body = { ...selectionOf(broker, ids, f), rate: f.rate, ...(f.to === undefined ? {} : { destination: f.to }) };
        const r = (await call(f, 'POST', `/api/v1/deadletters/${broker}/replay`, body)) as ReplayReport;
        process.stdout.write(`replayed ${r.replayed}, failed again ${r.failed} (kept in the dead-letter store)${r.skipped > 0 ? `, skipped ${r.skipped} (trigger no longer exists: use --to)` : ''}\n`);
        return r.failed > 0 || r.skipped > 0 ? 1 : 0;
      }),
    );

  act('purge', 'delete dead letters').action((brokerText: string, ids: string[], f: SelectionFlags & { all?: boolean }) =>
    run(async () => {
      const broker = brokerArg(brokerText, f.namespace);
      const r = (await call(f, 'POST', `/api/v1/deadletters/${broker}/purge`, selectionOf(broker, ids, f))) as { purged: number };
      process.stdout.write(`purged ${r.purged}\n`);
      return 0;
    }),
  );
  return dlq;
}

/** The request body naming what to act on: ids, or the selection flags (all of them with --all). */
function selectionOf(broker: string, ids: string[], f: SelectionFlags & { all?: boolean }): Record<string, unknown> {
  const sel = selectionBody(broker, f);
  if (ids.length > 0) {
    if (f.all || Object.keys(sel).length > 0) throw new InvalidArgumentError('give either dead-letter ids or --all/selection flags, not both');
    return { ids: ids.map(idArg) };
  }
  if (!f.all && Object.keys(sel).length === 0) throw new InvalidArgumentError('name the dead letters: ids, --all, or selection flags (--trigger, --since, --until, --type, --source, --filter)');
  return { ...sel, all: true };
}
