import { Command, Option } from 'commander';
import { addAdminClientOptions, adminCall, adminCommandRunner, type AdminClientFlags } from './admin-client.js';
import { stringify } from 'yaml';
import type { ResourceView } from '@sluice/admin';
import type { Condition, DeliveryFigures } from '@sluice/core';
import { usageError } from './send.js';

/** GETs a path of the admin API (admin-client.ts: token, CA, one-line errors). */
function adminGet(flags: AdminClientFlags, path: string): Promise<unknown> {
  return adminCall(flags, 'GET', path);
}

const color = (code: number) => (text: string, on: boolean) => (on ? `\u001b[${code}m${text}\u001b[0m` : text);
const green = color(32);
const red = color(31);
const yellow = color(33);

/** Colour only on a terminal, and never with NO_COLOR (https://no-color.org). */
function colourOn(): boolean {
  return process.stdout.isTTY === true && !process.env['NO_COLOR'];
}

function ready(r: ResourceView): Condition | undefined {
  return r.status?.conditions.find((c) => c.type === 'Ready');
}

function statusWord(c: Condition | undefined, on: boolean): string {
  if (!c) return '';
  return c.status === 'True' ? green('True', on) : c.status === 'False' ? red('False', on) : yellow(c.status, on);
}

function sinkOf(spec: unknown): string {
  const d = (spec as { subscriber?: { uri?: string; ref?: { kind: string; name: string } } } | undefined)?.subscriber;
  if (!d) return '';
  if (d.ref) return `${d.ref.kind.toLowerCase()}:${d.ref.name}${d.uri ? ` ${d.uri}` : ''}`;
  return d.uri ?? '';
}

/** Aligned columns as kubectl prints them: no borders, two spaces between columns (ANSI codes not counted). */
export function table(rows: readonly (readonly string[])[]): string {
  const visible = (s: string): number => s.replace(/\u001b\[\d+m/g, '').length;
  const widths: number[] = [];
  for (const row of rows) row.forEach((cell, i) => (widths[i] = Math.max(widths[i] ?? 0, visible(cell))));
  return (
    rows
      .map((row) =>
        row
          .map((cell, i) => (i === row.length - 1 ? cell : cell + ' '.repeat(widths[i]! - visible(cell) + 2)))
          .join('')
          .trimEnd(),
      )
      .join('\n') + '\n'
  );
}

function figureColumns(f: DeliveryFigures | undefined): string[] {
  if (!f) return ['', '', '', '', '', ''];
  const lastError = f.lastError ? `${f.lastError.status ?? 'error'} ${f.lastError.time}` : '<none>';
  return [String(f.backlog), String(f.inFlight), String(f.retrying), String(f.delivered), String(f.failed), lastError];
}

/** The table of `sluice get`: kind-specific columns (kn's for Triggers), READY/REASON last; `wide` adds live figures. */
export function resourceTable(kind: string, items: readonly ResourceView[], options: { wide: boolean; allNamespaces: boolean; colour: boolean }): string {
  const delivering = kind === 'Trigger' || kind === 'Subscription';
  const header = ['NAME'];
  // Addressables (brokers, channels, workloads) show their URL and sources their sink, as kubectl and kn list them.
  const field = (r: ResourceView, name: 'address' | 'sinkUri'): string | undefined => {
    const v = (r.status as Record<string, unknown> | undefined)?.[name];
    return name === 'address' ? (v as { url?: string } | undefined)?.url : (v as string | undefined);
  };
  const urls = kind === 'Broker' || items.some((r) => field(r, 'address') !== undefined);
  const sinks = kind !== 'Trigger' && kind !== 'Subscription' && items.some((r) => field(r, 'sinkUri') !== undefined);
  if (urls) header.push('URL');
  if (sinks) header.push('SINK');
  if (kind === 'Trigger') header.push('BROKER', 'SINK');
  if (kind === 'Subscription') header.push('CHANNEL', 'SUBSCRIBER');
  if (options.wide && delivering) header.push('BACKLOG', 'IN-FLIGHT', 'RETRYING', 'DELIVERED', 'FAILED', 'LAST-ERROR');
  header.push('READY', 'REASON');
  if (options.allNamespaces) header.unshift('NAMESPACE');
  const rows: string[][] = [header];
  for (const r of items) {
    const row = [r.metadata.name];
    const status = r.status as (ResourceView['status'] & { address?: { url?: string }; physicalSubscription?: { subscriberUri?: string } }) | undefined;
    if (urls) row.push(field(r, 'address') ?? '');
    if (sinks) row.push(field(r, 'sinkUri') ?? '');
    // The URL Sluice resolved the subscriber to, as kn shows it; the ref while it is not resolved.
    if (kind === 'Trigger') row.push(String((r.spec as { broker?: string } | undefined)?.broker ?? ''), (status as { subscriberUri?: string } | undefined)?.subscriberUri ?? sinkOf(r.spec));
    if (kind === 'Subscription') {
      const channel = (r.spec as { channel?: { kind: string; name: string } } | undefined)?.channel;
      row.push(channel ? `${channel.kind}:${channel.name}` : '', status?.physicalSubscription?.subscriberUri ?? sinkOf(r.spec));
    }
    if (options.wide && delivering) row.push(...figureColumns(status?.figures));
    const c = ready(r);
    row.push(statusWord(c, options.colour), c?.status === 'True' ? '' : (c?.reason ?? ''));
    if (options.allNamespaces) row.unshift(r.metadata.namespace);
    rows.push(row);
  }
  return table(rows);
}

function indent(text: string, by = 2): string {
  return text
    .trimEnd()
    .split('\n')
    .map((l) => ' '.repeat(by) + l)
    .join('\n');
}

/** `sluice describe`: kn's sections (metadata, addresses, spec, live figures, conditions with OK/!!/??). */
export function describeResource(r: ResourceView, colour: boolean): string {
  const out: string[] = [];
  const status = (r.status ?? {}) as Record<string, unknown> & { conditions?: readonly Condition[]; figures?: DeliveryFigures };
  out.push(`Name:         ${r.metadata.name}`, `Namespace:    ${r.metadata.namespace}`, `Kind:         ${r.kind} (${r.apiVersion})`);
  if (r.source) out.push(`Source:       ${r.source}`);
  const address = (status['address'] as { url?: string } | undefined)?.url;
  if (address) out.push(`Address:      ${address}`);
  for (const [label, field] of [
    ['Subscriber:   ', 'subscriberUri'],
    ['Dead letter:  ', 'deadLetterSinkUri'],
    ['Sink:         ', 'sinkUri'],
  ] as const) {
    const value = status[field];
    if (typeof value === 'string') out.push(`${label}${value}`);
  }
  if (r.spec !== undefined) out.push('', 'Spec:', indent(stringify(r.spec)));
  const f = status.figures;
  if (f) {
    out.push('', 'Deliveries:');
    out.push(
      table([
        ['BACKLOG', 'IN-FLIGHT', 'RETRYING', 'OLDEST-PENDING', 'DELIVERED', 'FAILED', 'DEAD-LETTERED', 'DROPPED', 'DELIVERED/S', 'FAILED/S'],
        [
          String(f.backlog),
          String(f.inFlight),
          String(f.retrying),
          f.oldestPendingAgeMs === null ? '<none>' : `${(f.oldestPendingAgeMs / 1000).toFixed(1)}s`,
          String(f.delivered),
          String(f.failed),
          String(f.deadLettered),
          String(f.dropped),
          String(f.deliveredPerSecond),
          String(f.failedPerSecond),
        ],
      ])
        .trimEnd()
        .split('\n')
        .map((l) => `  ${l}`)
        .join('\n'),
    );
    out.push(`  Last success: ${f.lastSuccess ?? '<none>'}`);
    if (f.lastError) {
      out.push(
        `  Last error:   ${f.lastError.time} ${f.lastError.status === null ? 'no HTTP answer' : `HTTP ${f.lastError.status}`}${f.lastError.deadLetterSink ? ' (dead-letter sink)' : ''}: ${f.lastError.reason}`,
      );
      if (f.lastError.body) out.push(`                ${JSON.stringify(f.lastError.body)}`);
    } else {
      out.push('  Last error:   <none>');
    }
  }
  const conditions = status.conditions ?? [];
  if (conditions.length > 0) {
    out.push('', 'Conditions:');
    const rows = [['OK', 'TYPE', 'SINCE', 'REASON', 'MESSAGE']];
    for (const c of conditions) {
      const ok = c.status === 'True' ? green('++', colour) : c.status === 'False' ? red('!!', colour) : yellow('??', colour);
      rows.push([ok, c.type, c.lastTransitionTime ?? '', c.reason ?? '', c.message ?? '']);
    }
    out.push(indent(table(rows)));
  }
  return out.join('\n') + '\n';
}

function kindOf(items: unknown): string {
  return String((items as { kind?: string }).kind ?? '').replace(/List$/, '');
}

/** `sluice get` and `sluice describe`, against the admin API of a running Sluice. */
export function resourceCommands(onExit: (code: number) => void): Command[] {
  const run = adminCommandRunner(onExit);

  const get = addAdminClientOptions(
    new Command('get')
      .description('list resources of a running sluice with their status, as kubectl get (e.g. get triggers, get trigger NAME -o yaml)')
      .argument('<kind>', 'kind: brokers, triggers, subscriptions, imc, pingsources, …')
      .argument('[name]', 'one resource')
      .option('-n, --namespace <namespace>', 'namespace', 'default')
      .option('-A, --all-namespaces', 'every namespace')
      .addOption(new Option('-o, --output <format>', 'output format').choices(['wide', 'yaml', 'json', 'name'])),
  ).action((kind: string, name: string | undefined, opts: AdminClientFlags & { namespace: string; allNamespaces?: boolean; output?: string }) =>
    run(async () => {
      if (name !== undefined && opts.allNamespaces) throw usageError('a resource name cannot be combined with --all-namespaces');
      const path = `/api/v1/${encodeURIComponent(kind)}`;
      if (kind === 'kinds' && name === undefined) {
        // The admin API's list of kinds (the route shares the path of a kind): what `get` accepts, as kubectl api-resources.
        const { kinds } = (await adminGet(opts, path)) as { kinds: { kind: string; plural: string }[] };
        if (opts.output === 'json') process.stdout.write(JSON.stringify({ kinds }, null, 2) + '\n');
        else if (opts.output === 'yaml') process.stdout.write(stringify({ kinds }));
        else process.stdout.write(table([['NAME', 'KIND'], ...kinds.map((k) => [k.plural, k.kind])]));
        return;
      }
      if (name !== undefined) {
        const r = (await adminGet(opts, `${path}/${encodeURIComponent(opts.namespace)}/${encodeURIComponent(name)}`)) as ResourceView;
        if (opts.output === 'json') process.stdout.write(JSON.stringify(r, null, 2) + '\n');
        else if (opts.output === 'yaml') process.stdout.write(stringify(r));
        else if (opts.output === 'name') process.stdout.write(`${r.kind.toLowerCase()}/${r.metadata.name}\n`);
        else process.stdout.write(resourceTable(r.kind, [r], { wide: opts.output === 'wide', allNamespaces: false, colour: colourOn() }));
        return;
      }
      const list = (await adminGet(opts, opts.allNamespaces ? path : `${path}?namespace=${encodeURIComponent(opts.namespace)}`)) as { kind: string; items: ResourceView[] };
      if (opts.output === 'json') process.stdout.write(JSON.stringify(list, null, 2) + '\n');
      else if (opts.output === 'yaml') process.stdout.write(stringify(list));
      else if (opts.output === 'name') for (const r of list.items) process.stdout.write(`${r.kind.toLowerCase()}/${r.metadata.name}\n`);
      else if (list.items.length === 0) process.stderr.write(`No resources found${opts.allNamespaces ? '' : ` in ${opts.namespace} namespace`}.\n`);
      else process.stdout.write(resourceTable(kindOf(list), list.items, { wide: opts.output === 'wide', allNamespaces: opts.allNamespaces === true, colour: colourOn() }));
    }),
  );

  const describe = addAdminClientOptions(
    new Command('describe')
      .description('show one resource of a running sluice: spec, addresses, live delivery figures, last error and conditions')
      .argument('<kind>', 'kind: broker, trigger, subscription, …')
      .argument('<name>', 'the resource')
      .option('-n, --namespace <namespace>', 'namespace', 'default'),
  ).action((kind: string, name: string, opts: AdminClientFlags & { namespace: string }) =>
    run(async () => {
      const r = (await adminGet(opts, `/api/v1/${encodeURIComponent(kind)}/${encodeURIComponent(opts.namespace)}/${encodeURIComponent(name)}`)) as ResourceView;
      process.stdout.write(describeResource(r, colourOn()));
    }),
  );
  return [get, describe];
}
