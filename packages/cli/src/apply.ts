import { readFileSync } from 'node:fs';
import { Command } from 'commander';
import type { ChangeResult, ChangedResource } from '@sluice/admin';
import { expandManifestPaths, loadConfig, formatConfigError } from '@sluice/config';
import { AdminClientError, addAdminClientOptions, adminCall, adminCommandRunner, type AdminClientFlags } from './admin-client.js';
import { collect } from './args.js';
import { usageError } from './send.js';

/** kubectl's name of a resource: `trigger.eventing.knative.dev` (`secret` for the core group). */
function typeName(r: { apiVersion: string; kind: string }): string {
  const group = r.apiVersion.includes('/') ? r.apiVersion.split('/')[0] : '';
  return `${r.kind.toLowerCase()}${group ? `.${group}` : ''}`;
}

/** The line kubectl prints for a change: `trigger.eventing.knative.dev/foo created`, `… "foo" deleted`. */
function changeLine(r: ChangedResource, dryRun: boolean): string {
  const suffix = dryRun ? ' (dry run)' : '';
  return r.change === 'deleted' ? `${typeName(r)} "${r.name}" deleted${suffix}` : `${typeName(r)}/${r.name} ${r.change}${suffix}`;
}

/** Sends a change to the admin API and prints kubectl's lines; what it discarded or could not start goes to stderr. */
async function change(flags: AdminClientFlags, method: 'POST' | 'DELETE', path: string, body: unknown, options: { force: boolean; dryRun: boolean }): Promise<void> {
  const query = [options.force ? 'force=true' : '', options.dryRun ? 'dryRun=true' : ''].filter((q) => q !== '').join('&');
  const answer = (await adminCall(flags, method, `${path}${query ? `?${query}` : ''}`, body)) as ChangeResult;
  for (const r of answer.resources) process.stdout.write(changeLine(r, answer.dryRun) + '\n');
  for (const line of answer.ignored ?? []) process.stderr.write(`${line}\n`);
  // One line per resource (a Broker answers one entry per trigger group), and none when it owed nothing: the warning
  // is about what was discarded, as in the log.
  const owed = new Map<string, ChangeResult['discarded'][number]>();
  for (const d of answer.discarded) {
    const sum = owed.get(d.resource);
    owed.set(
      d.resource,
      sum ? { ...sum, retries: sum.retries + d.retries, backlog: sum.backlog + d.backlog, unread: sum.unread + d.unread, outcome: sum.outcome === d.outcome ? d.outcome : 'discarded' } : d,
    );
  }
  for (const d of owed.values()) {
    if (d.retries + d.backlog + d.unread === 0) continue;
    const what =
      d.outcome === 'dead-letters'
        ? `kept in the dead-letter store: ${d.retries} pending retries and ${d.backlog} unread events${d.unread > 0 ? `; discarded: ${d.unread} unread events` : ''}`
        : `discarded: ${d.retries} pending retries and ${d.unread + d.backlog} unread events`;
    process.stderr.write(`warning: ${d.resource} deleted${options.force ? ' with --force' : ''}: ${what}\n`);
  }
  for (const f of answer.failed) process.stderr.write(`warning: not ready: ${f}\n`);
}

/** The manifest files under the paths, as text; files in a directory that hold no Kubernetes object are skipped. */
function readManifests(paths: readonly string[], recursive: boolean): { path: string; text: string }[] {
  let files;
  try {
    files = expandManifestPaths(paths, recursive);
  } catch (err) {
    throw usageError(`cannot read ${(err as NodeJS.ErrnoException).path ?? paths.join(', ')}: ${(err as NodeJS.ErrnoException).code ?? (err as Error).message}`);
  }
  const out: { path: string; text: string }[] = [];
  for (const f of files) {
    const text = readFileSync(f.path, 'utf8');
    if (!f.explicit && !/^\s*"?(apiVersion|kind)"?\s*:/m.test(text)) continue;
    out.push({ path: f.path, text });
  }
  if (out.length === 0) throw usageError(`no manifests found in ${paths.join(', ')}`);
  return out;
}

/** `sluice apply` and `sluice delete`, against the admin API of a running Sluice, as kubectl spells them. */
export function changeCommands(onExit: (code: number) => void): Command[] {
  const run = adminCommandRunner(onExit);

  const apply = addAdminClientOptions(
    new Command('apply')
      .description('create or change resources of a running sluice from files, as kubectl apply (kept across reloads and restarts)')
      .requiredOption('-f, --filename <path>', 'YAML file or directory (repeatable)', collect)
      .option('-R, --recursive', 'also read the subdirectories of directories given with -f')
      .option('--force', 'allow the change to delete what still owes events (nothing is deleted by apply itself)')
      .option('--dry-run', 'check the change and print what it would do; change nothing'),
  ).action((opts: { filename: string[]; recursive?: boolean; force?: boolean; dryRun?: boolean } & AdminClientFlags) =>
    run(() => change(opts, 'POST', '/api/v1/apply', { files: readManifests(opts.filename, opts.recursive === true) }, { force: opts.force === true, dryRun: opts.dryRun === true })),
  );

  const del = addAdminClientOptions(
    new Command('delete')
      .description('delete resources of a running sluice, by kind and name or as declared in files, as kubectl delete')
      .usage('(KIND NAME | -f FILE|DIR) [options]')
      .argument('[kind]', 'kind: trigger, broker, pingsource, …')
      .argument('[name]', 'the resource')
      .option('-f, --filename <path>', 'delete the resources these files declare (repeatable)', collect)
      .option('-R, --recursive', 'also read the subdirectories of directories given with -f')
      .option('-n, --namespace <namespace>', 'namespace', 'default')
      .option('--force', 'delete even when it still owes events (pending retries, backlog): they are counted, and kept as dead letters where the store can')
      .option('--dry-run', 'check the change and print what it would do; change nothing'),
  ).action((kind: string | undefined, name: string | undefined, opts: { filename?: string[]; recursive?: boolean; namespace: string; force?: boolean; dryRun?: boolean } & AdminClientFlags) =>
    run(async () => {
      const options = { force: opts.force === true, dryRun: opts.dryRun === true };
      if (opts.filename !== undefined) {
        if (kind !== undefined) throw usageError('give either KIND NAME or -f, not both');
        const loaded = loadConfig(opts.filename, { recursive: opts.recursive === true, strict: false });
        if (loaded.errors.length > 0) throw new AdminClientError(loaded.errors.map((e) => formatConfigError(e)).join('\n'));
        // Cluster plumbing in the files was never running: said, as apply says it, and nothing to delete for it.
        const plumbing = [...new Set(loaded.notices.map((n) => n.message).filter((m) => m.endsWith('(cluster plumbing)')))];
        for (const message of plumbing) process.stderr.write(`${message}\n`);
        if (loaded.config.resources.length === 0) {
          if (plumbing.length > 0) return;
          throw usageError(`no resources found in ${opts.filename.join(', ')}`);
        }
        await change(
          opts,
          'POST',
          '/api/v1/delete',
          {
            resources: loaded.config.resources.map((r) => ({
              kind: typeName({ apiVersion: String((r.value as { apiVersion?: unknown }).apiVersion), kind: r.kind }),
              namespace: r.namespace,
              name: r.name,
            })),
          },
          options,
        );
        return;
      }
      if (kind === undefined || name === undefined) throw usageError('give KIND NAME (e.g. delete trigger orders) or -f FILE');
      await change(opts, 'DELETE', `/api/v1/${encodeURIComponent(kind)}/${encodeURIComponent(opts.namespace)}/${encodeURIComponent(name)}`, undefined, options);
    }),
  );
  return [apply, del];
}
