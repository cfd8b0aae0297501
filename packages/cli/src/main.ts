import { Command, InvalidArgumentError, Option } from 'commander';
import { DEFAULT_ADMIN_HOST, DEFAULT_ADMIN_PORT, archiveRoutes, configRoutes, deadLetterRoutes, tailRoutes } from '@sluice/admin';
import { isSluiceError, type Logger } from '@sluice/core';
import { dashboardAssets, dashboardRouter } from '@sluice/dashboard';
import { LOG_LEVELS, PrometheusMetrics, createLogger, defaultLogFormat, metricsHandler, tracerFromEnv, type LogFormat } from '@sluice/observability';
import { SluiceRuntime } from '@sluice/broker';
import { brokerChecks, loadConfig } from '@sluice/config';
import { pluginRuntimeOptions } from '@sluice/plugin';
import { resolveBinding, runBoundCommand, sourceChecks } from '@sluice/sources';
import { addAdminOptions, adminUsageError, startAdmin, type AdminFlags } from './admin-options.js';
import { loadAndCheck, printErrors, printNotices, printWarnings } from './load.js';
import { RuntimeControlPlane } from './control-plane.js';
import { reloadFiles, watchFiles } from './reload.js';
import { LiveConfig } from './live-config.js';
import { deliveryFigureSource } from './metrics-sources.js';
import { PLUGINS } from './plugins.js';
import { RuntimeArchive, RuntimeDeadLetters, dlqCommand, replayCommand } from './dlq.js';
import { storeCommand } from './store-command.js';
import { resourceCommands } from './get.js';
import { changeCommands } from './apply.js';
import { RuntimeTail, tailCommand } from './tail.js';
import { startEventDisplay } from './event-display.js';
import { holdHangups, releaseHangups } from './startup-signals.js';
import { sendEvents, type SendCommandOptions } from './send.js';
import { addTrustOptions, flagRefusals, redactingLogHooks, trustUsageError, trustRuntimeOptions, type TrustFlags } from './trust-options.js';

const collect = (value: string, previous: string[] | undefined): string[] => (previous ?? []).concat([value]);

function intArg(name: string, min: number): (v: string) => number {
  return (v) => {
    const n = Number(v);
    if (!Number.isInteger(n) || n < min) throw new InvalidArgumentError(`${name} must be an integer ≥ ${min}`);
    return n;
  };
}

/** The version `sluice --version` and `sluice version` print. */
const VERSION = '0.1.0';

/** A TCP port: 0 (any free port) to 65535. */
function portArg(name: string): (v: string) => number {
  return (v) => {
    const n = Number(v);
    if (!Number.isInteger(n) || n < 0 || n > 65535) throw new InvalidArgumentError(`${name} must be a port number from 0 to 65535, got "${v}"`);
    return n;
  };
}

/** Options of `sluice run`; every one also has an environment variable (see docs/operations.md). */
interface RunOptions {
  filename: string[];
  recursive?: boolean;
  strict?: boolean;
  containerEngine?: string;
  port: number;
  host: string;
  adminPort: number;
  adminHost: string;
  dataDir: string;
  maxBodyBytes: number;
  serviceUrlTemplate?: string;
  logLevel: string;
  logFormat?: LogFormat;
  metrics: 'on' | 'off';
  watch?: boolean;
}

/** Builds the `sluice` command tree. Exported for tests and for the docs generator. */
/**
 * Everything Sluice owns is closed once `runtime.stop()` resolved, so the process should end by itself. A client
 * library that keeps a socket or timer open would hold it forever; after a grace period it is ended anyway, with a
 * line naming what was still open (seen once with kafkajs after archive replays from a Kafka topic).
 */
function exitIfStillHeld(logger: Logger, graceMs = 3000): void {
  setTimeout(() => {
    logger.warn({ open: process.getActiveResourcesInfo() }, `still running ${graceMs} ms after the drain ended: ending the process`);
    process.exit();
  }, graceMs).unref();
}

export function buildProgram(onExit: (code: number) => void): Command {
  const program = new Command('sluice')
    .description('A standalone CloudEvents broker and trigger engine for Knative Eventing YAML.')
    .version(VERSION)
    .showHelpAfterError('(add --help for usage)');

  program
    .command('version')
    .description('print the version (same as --version)')
    .action(() => {
      process.stdout.write(`${VERSION}\n`);
      onExit(0);
    });

  addAdminOptions(addTrustOptions(program
    .command('run')
    .description('run every resource in the given files or directories: brokers, triggers, sources, channels and workloads')))
    .addOption(new Option('-f, --filename <path>', 'YAML file or directory (repeatable)').env('SLUICE_FILENAME').argParser(collect).makeOptionMandatory())
    .addOption(new Option('-R, --recursive', 'also read the subdirectories of directories given with -f').env('SLUICE_RECURSIVE'))
    .addOption(new Option('--strict', 'references to undeclared resources are errors, not warnings').env('SLUICE_STRICT'))
    .addOption(new Option('--container-engine <engine>', 'podman, docker or a path, for workloads and sources that run images (default: podman, then docker)').env('SLUICE_CONTAINER_ENGINE'))
    .addOption(new Option('-p, --port <n>', 'HTTP port of the ingress and health endpoints').env('SLUICE_PORT').argParser(portArg('--port')).default(8080))
    .addOption(new Option('--host <host>', 'address to listen on').env('SLUICE_HOST').default('127.0.0.1'))
    .addOption(new Option('--admin-port <n>', 'port of the admin API (0 picks a free port)').env('SLUICE_ADMIN_PORT').argParser(portArg('--admin-port')).default(DEFAULT_ADMIN_PORT))
    .addOption(new Option('--admin-host <host>', 'address of the admin API').env('SLUICE_ADMIN_HOST').default(DEFAULT_ADMIN_HOST))
    .addOption(new Option('--data-dir <dir>', 'directory of the embedded store').env('SLUICE_DATA_DIR').default('.sluice'))
    .addOption(new Option('--max-body-bytes <n>', 'largest accepted event body').env('SLUICE_MAX_BODY_BYTES').argParser(intArg('--max-body-bytes', 1)).default(1024 * 1024))
    .addOption(new Option('--service-url-template <template>', 'URL for Service refs; {name} and {namespace} are replaced').env('SLUICE_SERVICE_URL_TEMPLATE'))
    .addOption(new Option('--log-level <level>', 'log level').choices(LOG_LEVELS).env('SLUICE_LOG_LEVEL').default('info'))
    .addOption(new Option('--log-format <format>', 'log lines on stdout: json, or pretty for people (default: pretty on a terminal, else json)').choices(['json', 'pretty']).env('SLUICE_LOG_FORMAT'))
    .addOption(new Option('--metrics <on|off>', 'Prometheus metrics at /metrics on the admin port').choices(['on', 'off']).env('SLUICE_METRICS').default('on'))
    .addOption(new Option('--watch', 'apply changes of the -f files (and new files in -f directories) while running, as SIGHUP does').env('SLUICE_WATCH'))
    .action(async (opts: RunOptions & TrustFlags & AdminFlags) => {
      // A SIGHUP while starting must not end the process (Node's default): bin.ts holds it from its first statement
      // (here too, for callers of main), and it is served once running.
      holdHangups();
      let live: LiveConfig;
      try {
        live = new LiveConfig({ files: opts.filename, recursive: opts.recursive === true, strict: opts.strict === true, dataDir: opts.dataDir, refusals: (config) => flagRefusals(opts, config) });
      } catch (err) {
        if (!isSluiceError(err)) throw err;
        process.stderr.write(`sluice run: ${err.message}\n`);
        onExit(1);
        return;
      }
      // The -f files, with what `sluice apply`/`delete` recorded in the data directory over them.
      const result = live.load();
      // Workloads and ContainerSources find the engine through this variable (@sluice/workloads).
      if (opts.containerEngine !== undefined) process.env['SLUICE_CONTAINER_ENGINE'] = opts.containerEngine;
      if (result.errors.length > 0) {
        printNotices(result);
        printWarnings(result);
        printErrors(result);
        process.stderr.write(`${result.errors.length} error${result.errors.length === 1 ? '' : 's'}: not started\n`);
        onExit(1);
        return;
      }
      const usage = trustUsageError(opts) ?? adminUsageError(opts);
      if (usage !== undefined) {
        process.stderr.write(`sluice run: ${usage}\n`);
        onExit(2);
        return;
      }
      const refused = flagRefusals(opts, result.config);
      for (const line of refused) process.stderr.write(line + '\n');
      if (refused.length > 0) {
        onExit(1);
        return;
      }
      let tracer;
      try {
        tracer = tracerFromEnv(process.env, program.version());
      } catch (err) {
        process.stderr.write(`sluice run: ${(err as Error).message}\n`);
        onExit(2);
        return;
      }
      // stdout carries only log lines (JSON, or pretty on a terminal); the lifecycle lines below are records too.
      const logger = createLogger({ level: opts.logLevel, format: opts.logFormat ?? defaultLogFormat(), hooks: redactingLogHooks });
      // What is accepted but ignored (cluster plumbing, fields without effect), one record each.
      for (const n of result.notices) logger.info({ file: n.file, line: n.line }, n.message);
      // Resources whose dependency is not declared start NotReady (the runtime reports them); say so up front.
      for (const w of result.warnings) logger.warn({ file: w.file, line: w.line, code: w.code }, `${w.message}: it stays NotReady until that resource exists`);
      let runtime: SluiceRuntime | undefined;
      const plane = new RuntimeControlPlane(() => runtime?.config ?? result.config, () => runtime);
      // The admin API comes up first, so /readyz answers 503 "starting" while brokers and sources start.
      // Tokens, roles, the Host check and TLS of the admin API: admin-options.ts, docs/security.md#the-admin-api.
      const started = await startAdmin(opts, { plane, logger });
      const admin = started.admin;
      const metrics = opts.metrics === 'on' ? new PrometheusMetrics() : undefined;
      if (metrics) admin.mount('/metrics', metricsHandler(metrics));
      const deadLetters = new RuntimeDeadLetters(() => runtime);
      admin.mount('/api/v1/deadletters', deadLetterRoutes(() => deadLetters));
      const archive = new RuntimeArchive(() => runtime);
      admin.mount('/api/v1/archive', archiveRoutes(() => archive));
      // One live tail (`sluice tail` and the dashboard): an ingress observer, no subscription, nothing stored.
      const tail = new RuntimeTail(() => plane, () => runtime);
      admin.mount('/api/v1', tailRoutes(() => tail));
      admin.mountPublic('/ui', dashboardAssets());
      admin.mount('/ui', dashboardRouter(() => plane));
      // The routes that change the configuration (apply, delete), in one router.
      admin.mount('/api/v1', configRoutes(() => live));
      try {
        runtime = await SluiceRuntime.start(result.config, {
          port: opts.port,
          host: opts.host,
          dataDir: opts.dataDir,
          maxBodyBytes: opts.maxBodyBytes,
          logger,
          ...pluginRuntimeOptions([...PLUGINS, { name: 'event tail', components: () => [tail] }], result.config),
          ...trustRuntimeOptions(opts),
          ...(metrics ? { metrics } : {}),
          ...(tracer.enabled ? { tracer } : {}),
          ...(opts.serviceUrlTemplate ? { serviceUrlTemplate: opts.serviceUrlTemplate } : {}),
        });
      } catch (err) {
        await started.close();
        await tracer.shutdown();
        throw err;
      }
      live.attach(runtime, logger);
      if (metrics) {
        const running = runtime;
        metrics.setCircuitSource(() => running.circuits());
        metrics.setBacklogSource(deliveryFigureSource(() => running.config, running));
      }
      for (const b of runtime.brokers()) {
        logger.info({ broker: `${b.namespace}/${b.name}`, url: b.url, triggers: b.triggers.length }, `Broker ${b.namespace}/${b.name} listening at ${b.url} (${b.triggers.length} trigger${b.triggers.length === 1 ? '' : 's'})`);
      }
      let stopping = false;
      const stop = (signal: NodeJS.Signals): void => {
        if (stopping) {
          // A second SIGTERM/SIGINT (Ctrl-C again) ends the drain, as kubectl-style tools do, and says what that means.
          logger.warn({ signal }, `${signal} received again: forcing exit without finishing the drain (deliveries in flight are not acknowledged: they are made again at the next start)`);
          process.exit(128 + (signal === 'SIGINT' ? 2 : 15));
        }
        stopping = true;
        logger.info({ signal }, `${signal} received: draining (send ${signal} again to force exit)`);
        runtime.stop().then(async () => started.close()).then(async () => tracer.shutdown().catch((err: unknown) => logger.warn({ err }, 'trace export failed at shutdown'))).then(
          () => {
            logger.info({}, 'sluice stopped');
            onExit(0);
            exitIfStillHeld(logger);
          },
          (err: unknown) => {
            logger.error({ err }, 'error while stopping');
            onExit(1);
          },
        );
      };
      process.on('SIGTERM', () => stop('SIGTERM'));
      process.on('SIGINT', () => stop('SIGINT'));
      // SIGHUP (a terminal closing, or an operator asking for a reload) must not kill a broker that holds events:
      // it re-reads the files and applies them live (docs/operations.md, "Live reconfiguration").
      const reload = (why: string): void => {
        if (stopping) return;
        void live.inTurn(() => reloadFiles(why, () => live.load(), runtime, logger, (config) => flagRefusals(opts, config)));
      };
      process.on('SIGHUP', () => reload('SIGHUP'));
      if (releaseHangups() > 0) reload('SIGHUP');
      if (opts.watch === true) {
        const unwatch = watchFiles(opts.filename, opts.recursive === true, () => reload('--watch'), logger);
        process.once('SIGTERM', unwatch);
        process.once('SIGINT', unwatch);
      }
      // The ready line comes last: whoever waits for it may signal at once, and a signal that arrived before the
      // handlers above would end the process without a drain.
      logger.info({ url: runtime.url, adminUrl: admin.url, dataDir: opts.dataDir, ...(started.tokenFile ? { adminTokenFile: started.tokenFile } : {}) }, `sluice ready on ${runtime.url} (data dir ${opts.dataDir}, admin ${admin.url})`);
    });

  program
    .command('validate')
    .description('validate files without running them; prints file:line:col: message per error')
    .requiredOption('-f, --filename <path>', 'YAML file or directory (repeatable)', collect)
    .option('-R, --recursive', 'also read the subdirectories of directories given with -f')
    .option('--strict', 'references to undeclared resources are errors, not warnings')
    .action((opts: { filename: string[]; recursive?: boolean; strict?: boolean }) => {
      const result = loadAndCheck(opts.filename, { recursive: opts.recursive === true, strict: opts.strict === true });
      printNotices(result);
      printWarnings(result);
      if (result.errors.length > 0) {
        printErrors(result);
        process.stderr.write(`${result.errors.length} error${result.errors.length === 1 ? '' : 's'}\n`);
        onExit(1);
        return;
      }
      const w = result.warnings.length;
      process.stdout.write(`${result.config.resources.length} resource${result.config.resources.length === 1 ? '' : 's'} valid${w > 0 ? ` (${w} warning${w === 1 ? '' : 's'}: references to resources not declared)` : ''}\n`);
      onExit(0);
    });

  program
    .command('send')
    .description('send CloudEvents to a broker or URL')
    .requiredOption('--to <target>', 'http(s) URL, broker:NAME[:NAMESPACE] or channel:NAME[:NAMESPACE]')
    .requiredOption('--type <type>', 'event type')
    .requiredOption('--source <source>', 'event source (URI-reference)')
    .option('--id <id>', 'event id (default: a UUID; with --count, suffixed -N)')
    .option('--subject <subject>', 'event subject')
    .option('--data <json|text>', 'event data')
    .option('--data-file <file>', 'read event data from a file')
    .option('--content-type <type>', 'datacontenttype (default application/json for JSON data)')
    .option('--extension <key=value>', 'extension attribute (repeatable)', collect, [])
    .option('--count <n>', 'number of events to send', intArg('--count', 1), 1)
    .option('--concurrency <n>', 'requests in flight', intArg('--concurrency', 1), 16)
    .addOption(new Option('--mode <mode>', 'HTTP content mode').choices(['binary', 'structured']).default('binary'))
    .addOption(new Option('--server <url>', 'base URL of the Sluice ingress, for broker: and channel: targets').env('SLUICE_SERVER').default('http://127.0.0.1:8080'))
    .action(async (opts: SendCommandOptions) => {
      const tty = process.stderr.isTTY && opts.count > 1;
      let last = 0;
      const report = await sendEvents(opts, (done) => {
        const now = performance.now();
        if (tty && (now - last > 100 || done === opts.count)) {
          last = now;
          process.stderr.write(`\rsent ${done}/${opts.count}`);
        }
      });
      if (tty) process.stderr.write('\n');
      if (report.failures.length === 0) {
        const rate = report.elapsedMs > 0 ? Math.round((report.sent / report.elapsedMs) * 1000) : report.sent;
        process.stdout.write(`sent ${report.sent}, accepted ${report.accepted}${report.sent > 1 ? ` (${rate} events/s)` : ''}\n`);
        onExit(0);
        return;
      }
      // A failed send is an error: the summary and each failure go to stderr, without a rate.
      process.stderr.write(`sent ${report.sent}, accepted ${report.accepted}, failed ${report.failures.length}\n`);
      for (const f of report.failures.slice(0, 20)) {
        process.stderr.write(`  event ${f.id}: ${f.status === undefined ? 'error' : `HTTP ${f.status}`}: ${f.message}\n`);
      }
      if (report.failures.length > 20) process.stderr.write(`  … and ${report.failures.length - 20} more\n`);
      onExit(1);
    });

  program
    .command('bind')
    .description('run a command bound to a sink, as a Knative SinkBinding binds a workload (K_SINK, K_CE_OVERRIDES, K_CA_CERTS)')
    .usage('(--sink <sink> | --binding <name[:namespace]> -f <file>) [options] -- <command> [args...]')
    .argument('<command...>', 'the command to run, after --')
    .option('--sink <sink>', 'broker:NAME[:NAMESPACE] or an http(s) URL')
    .option('--binding <name[:namespace]>', 'use a SinkBinding from the -f files (by its name, or its Process subject name)')
    .option('-f, --filename <path>', 'YAML file or directory with the SinkBinding (repeatable)', collect, [])
    .addOption(new Option('--server <url>', 'base URL of the Sluice ingress, for broker sinks').env('SLUICE_SERVER').default('http://127.0.0.1:8080'))
    .option('--ce-override <key=value>', 'CloudEvent extension every event must carry, passed in K_CE_OVERRIDES (repeatable)', collect, [])
    .option('--sink-timeout <seconds>', 'passed as K_SINK_TIMEOUT', intArg('--sink-timeout', 1))
    .addOption(new Option('--service-url-template <template>', 'URL for Service refs; {name} and {namespace} are replaced').env('SLUICE_SERVICE_URL_TEMPLATE'))
    .addOption(new Option('--data-dir <dir>', "data directory of the sluice run serving the sink: its OIDC token for the SinkBinding is passed in SLUICE_OIDC_TOKEN_FILE").env('SLUICE_DATA_DIR').default('.sluice'))
    .action(async (command: string[], opts: { sink?: string; binding?: string; filename: string[]; server: string; ceOverride: string[]; sinkTimeout?: number; serviceUrlTemplate?: string; dataDir: string }) => {
      let config;
      if (opts.filename.length > 0) {
        // bind serves no webhook, so the webhook secrets of the same files need not be readable here.
        const result = loadConfig(opts.filename, { checks: [brokerChecks(), sourceChecks({ checkSecrets: false })] });
        if (result.errors.length > 0) {
          printErrors(result);
          onExit(2);
          return;
        }
        config = result.config;
      }
      let binding;
      try {
        binding = resolveBinding(opts, config);
      } catch (err) {
        process.stderr.write(`sluice bind: ${(err as Error).message}\n`);
        onExit(2);
        return;
      }
      process.stderr.write(`sluice bind: K_SINK=${binding.sinkUrl}\n`);
      if (binding.tokenFile !== undefined) process.stderr.write(`sluice bind: SLUICE_OIDC_TOKEN_FILE=${binding.tokenFile}\n`);
      onExit(await runBoundCommand(command, binding.env));
    });

  program
    .command('event-display')
    .description('run a subscriber that prints every CloudEvent it receives (like Knative event_display)')
    .addOption(new Option('-p, --port <n>', 'port to listen on').env('SLUICE_DISPLAY_PORT').argParser(portArg('--port')).default(8081))
    .option('--host <host>', 'address to listen on', '127.0.0.1')
    .option('--json', 'print each event as one line of JSON (structured-mode JSON, for piping)')
    .option('--headers', 'print the HTTP headers of each request before the event')
    .action(async (opts: { port: number; host: string; json?: boolean; headers?: boolean }) => {
      let started;
      try {
        started = await startEventDisplay(opts);
      } catch (err) {
        const e = err as NodeJS.ErrnoException;
        const why = e.code === 'EADDRINUSE' ? 'the port is in use' : e.code === 'EACCES' ? 'permission denied' : e.message;
        process.stderr.write(`sluice event-display: cannot listen on ${opts.host}:${opts.port}: ${why} (set --port or SLUICE_DISPLAY_PORT; 0 picks a free port)\n`);
        onExit(1);
        return;
      }
      const { server, url } = started;
      process.stdout.write(`event-display listening on ${url}\n`);
      const stop = (): void => {
        server.close(() => onExit(0));
        server.closeAllConnections();
      };
      process.once('SIGTERM', stop);
      process.once('SIGINT', stop);
    });

  program.addCommand(dlqCommand(onExit));
  for (const command of resourceCommands(onExit)) program.addCommand(command);
  for (const command of changeCommands(onExit)) program.addCommand(command);
  program.addCommand(replayCommand(onExit));
  program.addCommand(tailCommand(onExit));
  program.addCommand(storeCommand(onExit));

  return program;
}

/** Runs the CLI; resolves with an exit code for one-shot commands, or undefined for long-running ones. */
export async function main(argv: readonly string[]): Promise<number | undefined> {
  let code: number | undefined;
  const program = buildProgram((c) => {
    code = c;
    process.exitCode = c;
  });
  // Only `sluice run` serves a SIGHUP; any other command gets back Node's default, and one held while loading ends it.
  program.hook('preAction', (_program, command) => {
    if (command.name() === 'run' && command.parent === program) return;
    if (releaseHangups() > 0) process.kill(process.pid, 'SIGHUP');
  });
  // Usage errors exit 2 (commander uses 1); subcommands need the override too.
  const all = (c: Command): Command[] => [c, ...c.commands.flatMap(all)];
  for (const cmd of all(program)) {
    // Commands added with addCommand do not inherit the hint: one line after a usage error, everywhere.
    cmd.showHelpAfterError('(add --help for usage)');
    cmd.exitOverride((err) => {
      throw Object.assign(new Error(err.message), { exitCode: err.exitCode === 1 ? 2 : err.exitCode });
    });
  }
  try {
    await program.parseAsync(argv);
  } catch (err) {
    const exitCode = (err as { exitCode?: number }).exitCode;
    if (exitCode !== undefined) return exitCode;
    if (isSluiceError(err, 'SLUICE_USAGE')) {
      const command = argv.slice(2).find((a) => !a.startsWith('-'));
      process.stderr.write(`sluice${command ? ` ${command}` : ''}: ${err.message}\n(add --help for usage)\n`);
      return 2;
    }
    throw err;
  }
  return code;
}
