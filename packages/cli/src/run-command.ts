import { Command, Option } from 'commander';
import { DEFAULT_ADMIN_HOST, DEFAULT_ADMIN_PORT, archiveRoutes, configRoutes, deadLetterRoutes, tailRoutes, type AdminServer } from '@sluice/admin';
import { isSluiceError, redactUrlsIn, type Logger } from '@sluice/core';
import { dashboardAssets, dashboardRouter } from '@sluice/dashboard';
import {
  LOG_LEVELS,
  PrometheusMetrics,
  createLogger,
  defaultLogFormat,
  metricsHandler,
  startTracer,
  tracingSettingsFromEnv,
  type ClosableTracer,
  type LogFormat,
  type TracingSettings,
} from '@sluice/observability';
import { SluiceRuntime } from '@sluice/broker';
import type { LoadResult } from '@sluice/config';
import { pluginRuntimeOptions } from '@sluice/plugin';
import { addAdminOptions, adminUsageError, startAdmin, type AdminFlags, type StartedAdmin } from './admin-options.js';
import { collect, intArg, portArg } from './args.js';
import { usableCpus } from './cpu-limit.js';
import { GC_MODES, SINGLE_THREADED_GC, SINGLE_THREADED_MAX_CPUS, gcState } from './gc-mode.js';
import { printErrors, printNotices, printWarnings } from './load.js';
import { RuntimeControlPlane } from './control-plane.js';
import { reloadFiles, watchFiles } from './reload.js';
import { LiveConfig } from './live-config.js';
import { deliveryFigureSource } from './metrics-sources.js';
import { PLUGINS } from './plugins.js';
import { RuntimeArchive, RuntimeDeadLetters } from './dlq.js';
import { RuntimeTail } from './tail.js';
import { holdHangups, releaseHangups } from './startup-signals.js';
import { addTrustOptions, flagRefusals, redactingLogHooks, trustUsageError, trustRuntimeOptions, type TrustFlags } from './trust-options.js';

/** Options of `sluice run`; every one also has an environment variable (see docs/operations.md). */
interface RunOptions {
  filename: string[];
  gc: string;
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

type RunFlags = RunOptions & TrustFlags & AdminFlags;

/** `sluice run`: serves the resources of the -f files until SIGTERM/SIGINT; `version` goes to the trace exporter. */
export function runCommand(onExit: (code: number) => void, version: string): Command {
  return addAdminOptions(addTrustOptions(new Command('run').description('run every resource in the given files or directories: brokers, triggers, sources, channels and workloads')))
    .addOption(new Option('-f, --filename <path>', 'YAML file or directory (repeatable)').env('SLUICE_FILENAME').argParser(collect).makeOptionMandatory())
    .addOption(new Option('-R, --recursive', 'also read the subdirectories of directories given with -f').env('SLUICE_RECURSIVE'))
    .addOption(new Option('--strict', 'references to undeclared resources are errors, not warnings').env('SLUICE_STRICT'))
    .addOption(new Option('--container-engine <engine>', 'podman, docker or a path, for workloads and sources that run images (default: podman, then docker)').env('SLUICE_CONTAINER_ENGINE'))
    .addOption(new Option('-p, --port <n>', 'HTTP port of the ingress and health endpoints').env('SLUICE_PORT').argParser(portArg('--port')).default(8080))
    .addOption(new Option('--host <host>', 'address to listen on').env('SLUICE_HOST').default('127.0.0.1'))
    .addOption(new Option('--admin-port <n>', 'port of the admin API (0 picks a free port)').env('SLUICE_ADMIN_PORT').argParser(portArg('--admin-port')).default(DEFAULT_ADMIN_PORT))
    .addOption(new Option('--admin-host <host>', 'address of the admin API').env('SLUICE_ADMIN_HOST').default(DEFAULT_ADMIN_HOST))
    .addOption(new Option('--data-dir <dir>', 'directory of the embedded store').env('SLUICE_DATA_DIR').default('.sluice'))
    .addOption(
      new Option('--max-body-bytes <n>', 'largest accepted event body')
        .env('SLUICE_MAX_BODY_BYTES')
        .argParser(intArg('--max-body-bytes', 1))
        .default(1024 * 1024),
    )
    .addOption(new Option('--service-url-template <template>', 'URL for Service refs; {name} and {namespace} are replaced').env('SLUICE_SERVICE_URL_TEMPLATE'))
    .addOption(new Option('--log-level <level>', 'log level').choices(LOG_LEVELS).env('SLUICE_LOG_LEVEL').default('info'))
    .addOption(new Option('--log-format <format>', 'log lines on stdout: json, or pretty for people (default: pretty on a terminal, else json)').choices(['json', 'pretty']).env('SLUICE_LOG_FORMAT'))
    .addOption(new Option('--metrics <on|off>', 'Prometheus metrics at /metrics on the admin port').choices(['on', 'off']).env('SLUICE_METRICS').default('on'))
    .addOption(new Option('--watch', 'apply changes of the -f files (and new files in -f directories) while running, as SIGHUP does').env('SLUICE_WATCH'))
    .addOption(
      new Option(
        '--gc <mode>',
        `V8's garbage collector: single (on the event loop's thread only), parallel (with helper threads), auto (single on ${SINGLE_THREADED_MAX_CPUS} usable CPUs or fewer; a container's CPU limit counts)`,
      )
        .choices(GC_MODES)
        .env('SLUICE_GC')
        .default('auto'),
    )
    .action((opts: RunFlags) => run(opts, version, onExit));
}

/** What `sluice run` has once its files and flags passed every check, before anything listens. */
interface Prepared {
  readonly live: LiveConfig;
  readonly result: LoadResult;
  readonly tracing: TracingSettings;
}

/**
 * Loads the files and checks the flags; on a problem says so on stderr, exits (1 for the files, 2 for usage) and
 * gives undefined.
 */
function prepare(opts: RunFlags, onExit: (code: number) => void): Prepared | undefined {
  let live: LiveConfig;
  try {
    live = new LiveConfig({ files: opts.filename, recursive: opts.recursive === true, strict: opts.strict === true, dataDir: opts.dataDir, refusals: (config) => flagRefusals(opts, config) });
  } catch (err) {
    if (!isSluiceError(err)) throw err;
    process.stderr.write(`sluice run: ${redactUrlsIn(err.message)}\n`);
    onExit(1);
    return undefined;
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
    return undefined;
  }
  const usage = trustUsageError(opts) ?? adminUsageError(opts);
  if (usage !== undefined) {
    process.stderr.write(`sluice run: ${usage}\n`);
    onExit(2);
    return undefined;
  }
  const refused = flagRefusals(opts, result.config);
  for (const line of refused) process.stderr.write(redactUrlsIn(line) + '\n');
  if (refused.length > 0) {
    onExit(1);
    return undefined;
  }
  try {
    return { live, result, tracing: tracingSettingsFromEnv(process.env) };
  } catch (err) {
    process.stderr.write(`sluice run: ${redactUrlsIn((err as Error).message)}\n`);
    onExit(2);
    return undefined;
  }
}

async function run(opts: RunFlags, version: string, onExit: (code: number) => void): Promise<void> {
  // A SIGHUP while starting must not end the process (Node's default): bin.ts holds it from its first statement
  // (here too, for callers of main), and it is served once running.
  holdHangups();
  const prepared = prepare(opts, onExit);
  if (!prepared) return;
  const { live, result } = prepared;
  let tracer: ClosableTracer;
  try {
    // The OpenTelemetry SDK is loaded here, and only with tracing on.
    tracer = await startTracer(prepared.tracing, version);
  } catch (err) {
    if (!isSluiceError(err)) throw err;
    process.stderr.write(`sluice run: ${err.message}\n`);
    onExit(1);
    return;
  }
  // stdout carries only log lines (JSON, or pretty on a terminal); the lifecycle lines below are records too.
  const logger = createLogger({ level: opts.logLevel, format: opts.logFormat ?? defaultLogFormat(), hooks: redactingLogHooks });
  // What is accepted but ignored (cluster plumbing, fields without effect), one record each.
  for (const n of result.notices) logger.info({ file: n.file, line: n.line }, n.message);
  // Resources whose dependency is not declared start NotReady (the runtime reports them); say so up front.
  for (const w of result.warnings) logger.warn({ file: w.file, line: w.line, code: w.code }, `${w.message}: it stays NotReady until that resource exists`);
  let runtime: SluiceRuntime | undefined;
  const plane = new RuntimeControlPlane(
    () => runtime?.config ?? result.config,
    () => runtime,
  );
  // The admin API comes up first, so /readyz answers 503 "starting" while brokers and sources start.
  // Tokens, roles, the Host check and TLS of the admin API: admin-options.ts, docs/security.md#the-admin-api.
  const started = await startAdmin(opts, { plane, logger });
  const admin = started.admin;
  const { metrics, tail } = mountRoutes(admin, opts, plane, live, () => runtime);
  const cpus = usableCpus();
  try {
    runtime = await SluiceRuntime.start(result.config, {
      port: opts.port,
      host: opts.host,
      dataDir: opts.dataDir,
      maxBodyBytes: opts.maxBodyBytes,
      cpus,
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
    logger.info(
      { broker: `${b.namespace}/${b.name}`, url: b.url, triggers: b.triggers.length },
      `Broker ${b.namespace}/${b.name} listening at ${b.url} (${b.triggers.length} trigger${b.triggers.length === 1 ? '' : 's'})`,
    );
  }
  logGcMode(opts.gc, cpus, logger);
  serveSignals({ opts, runtime, live, started, tracer, logger, onExit });
  // The ready line comes last: whoever waits for it may signal at once, and a signal that arrived before the
  // handlers above would end the process without a drain.
  logger.info(
    { url: runtime.url, adminUrl: admin.url, dataDir: opts.dataDir, ...(started.tokenFile ? { adminTokenFile: started.tokenFile } : {}) },
    `sluice ready on ${runtime.url} (data dir ${opts.dataDir}, admin ${admin.url})`,
  );
}

/** Says how V8 collects garbage here (gc-mode.ts), and how to get the single-threaded collector where it could not be had. */
function logGcMode(mode: string, cpus: number, logger: Logger): void {
  const { singleThreaded, missing } = gcState(mode, process.execArgv, cpus);
  if (singleThreaded) logger.info({ gc: 'single', mode, cpus }, `garbage collection on the event loop's thread alone (${SINGLE_THREADED_GC}, --gc ${mode}, ${cpus} usable CPUs)`);
  else if (missing) {
    logger.info(
      { gc: 'parallel', mode, cpus },
      `garbage collection on helper threads: on this machine's CPUs \`node ${SINGLE_THREADED_GC}\` lowers the tail latency, but Node.js ${process.version} cannot restart itself with it (22.15 or later can); start Sluice with it, or --gc parallel to keep this`,
    );
  } else logger.debug({ gc: 'parallel', mode, cpus }, `garbage collection on helper threads (--gc ${mode}, ${cpus} usable CPUs)`);
}

/** Mounts the admin API's routes that need the runtime (reached through `runtime` once it started). */
function mountRoutes(
  admin: AdminServer,
  opts: RunFlags,
  plane: RuntimeControlPlane,
  live: LiveConfig,
  runtime: () => SluiceRuntime | undefined,
): { metrics: PrometheusMetrics | undefined; tail: RuntimeTail } {
  const metrics = opts.metrics === 'on' ? new PrometheusMetrics() : undefined;
  if (metrics) admin.mount('/metrics', metricsHandler(metrics));
  const deadLetters = new RuntimeDeadLetters(runtime);
  admin.mount(
    '/api/v1/deadletters',
    deadLetterRoutes(() => deadLetters),
  );
  const archive = new RuntimeArchive(runtime);
  admin.mount(
    '/api/v1/archive',
    archiveRoutes(() => archive),
  );
  // One live tail (`sluice tail` and the dashboard): an ingress observer, no subscription, nothing stored.
  const tail = new RuntimeTail(() => plane, runtime);
  admin.mount(
    '/api/v1',
    tailRoutes(() => tail),
  );
  admin.mountPublic('/ui', dashboardAssets());
  admin.mount(
    '/ui',
    dashboardRouter(() => plane),
  );
  // The routes that change the configuration (apply, delete), in one router.
  admin.mount(
    '/api/v1',
    configRoutes(() => live),
  );
  return { metrics, tail };
}

/** What {@link serveSignals} stops and reloads. */
interface Running {
  readonly opts: RunFlags;
  readonly runtime: SluiceRuntime;
  readonly live: LiveConfig;
  readonly started: StartedAdmin;
  readonly tracer: ClosableTracer;
  readonly logger: Logger;
  readonly onExit: (code: number) => void;
}

/** SIGTERM/SIGINT drain and stop (a second one forces the exit); SIGHUP and --watch reload the files live. */
function serveSignals({ opts, runtime, live, started, tracer, logger, onExit }: Running): void {
  let stopping = false;
  const stop = (signal: NodeJS.Signals): void => {
    if (stopping) {
      // A second SIGTERM/SIGINT (Ctrl-C again) ends the drain, as kubectl-style tools do, and says what that means.
      logger.warn({ signal }, `${signal} received again: forcing exit without finishing the drain (deliveries in flight are not acknowledged: they are made again at the next start)`);
      process.exit(128 + (signal === 'SIGINT' ? 2 : 15));
    }
    stopping = true;
    logger.info({ signal }, `${signal} received: draining (send ${signal} again to force exit)`);
    runtime
      .stop()
      .then(async () => started.close())
      .then(async () => tracer.shutdown().catch((err: unknown) => logger.warn({ err }, 'trace export failed at shutdown')))
      .then(
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
    void live.inTurn(() =>
      reloadFiles(
        why,
        () => live.load(),
        runtime,
        logger,
        (config) => flagRefusals(opts, config),
      ),
    );
  };
  process.on('SIGHUP', () => reload('SIGHUP'));
  if (releaseHangups() > 0) reload('SIGHUP');
  if (opts.watch === true) {
    const unwatch = watchFiles(opts.filename, opts.recursive === true, () => reload('--watch'), logger);
    process.once('SIGTERM', unwatch);
    process.once('SIGINT', unwatch);
  }
}

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
