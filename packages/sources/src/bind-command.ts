import { spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { constants } from 'node:os';
import { resolve } from 'node:path';
import { DEFAULT_NAMESPACE, SluiceError, parseKindName } from '@sluice/core';
import type { SluiceConfig } from '@sluice/config';
import { oidcTokenFilePath } from '@sluice/broker';
import { DestinationResolver } from '@sluice/plugin';
import { parseCeOverrideArgs, type CloudEventOverrides } from './ce-overrides.js';
import { bindingVariables, findSinkBinding, OIDC_TOKEN_FILE_ENV, sinkBindingTokenKey } from './sink-binding.js';

/** Options of `sluice bind`. */
export interface BindCommandOptions {
  /** `broker:NAME[:NAMESPACE]` or an http(s) URL. */
  readonly sink?: string | undefined;
  /** `NAME[:NAMESPACE]` of a SinkBinding (or of its Process subject) in `config`. */
  readonly binding?: string | undefined;
  /** Base URL of the Sluice server, for broker sinks. */
  readonly server: string;
  /** `key=value` extensions, as `kn --ce-override`. */
  readonly ceOverride: readonly string[];
  /** Seconds, passed as `K_SINK_TIMEOUT`. */
  readonly sinkTimeout?: number | undefined;
  /** Rule for `Service` refs of a SinkBinding's sink. */
  readonly serviceUrlTemplate?: string | undefined;
  /**
   * The data directory of the `sluice run` that serves the sink: with `--binding`, the SinkBinding's OIDC token file
   * it keeps there (authentication-oidc on) is passed in `SLUICE_OIDC_TOKEN_FILE`.
   */
  readonly dataDir?: string | undefined;
}

/** What `sluice bind` resolved: the sink and the environment of the command. */
export interface ResolvedBinding {
  readonly sinkUrl: string;
  readonly namespace: string;
  readonly name: string;
  readonly env: Record<string, string>;
  /** The OIDC token file passed in `SLUICE_OIDC_TOKEN_FILE`, when `sluice run` keeps one for the SinkBinding. */
  readonly tokenFile?: string;
}

function usage(message: string): SluiceError {
  return new SluiceError('SLUICE_BIND_USAGE', message);
}

/** Resolves `--sink`: an http(s) URL as is, or `broker:NAME[:NAMESPACE]` (kn's sink syntax) on the server. */
export function resolveSinkArgument(sink: string, server: string): string {
  if (/^https?:\/\/[^/]/.test(sink)) return sink;
  const target = parseKindName(sink, ['broker']);
  if (!target) throw usage(`--sink must be broker:NAME[:NAMESPACE] or an http(s) URL, got "${sink}"`);
  return `${server.replace(/\/+$/, '')}/${target.namespace ?? DEFAULT_NAMESPACE}/${target.name}`;
}

/** Resolves the sink and variables of `sluice bind` (throws `SLUICE_BIND_USAGE` on bad options). */
export function resolveBinding(options: BindCommandOptions, config: SluiceConfig | undefined, baseEnv: Readonly<Record<string, string | undefined>> = process.env): ResolvedBinding {
  if ((options.sink === undefined) === (options.binding === undefined)) throw usage('give exactly one of --sink and --binding');
  const extra = parseCeOverrideArgs(options.ceOverride);
  let sinkUrl: string;
  let namespace = DEFAULT_NAMESPACE;
  let name = 'sluice-bind';
  let overrides: CloudEventOverrides | undefined = extra;
  let caCerts: string | undefined;
  let tokenFile: string | undefined;
  if (options.sink !== undefined) {
    sinkUrl = resolveSinkArgument(options.sink, options.server);
  } else {
    const [bname, bns] = options.binding!.split(':');
    if (!config) throw usage('--binding needs the configuration: pass -f FILE');
    namespace = bns || DEFAULT_NAMESPACE;
    const binding = findSinkBinding(config, bname!, namespace);
    if (!binding) throw usage(`no SinkBinding "${namespace}/${bname}" (nor one whose subject is Process "${bname}") in the given files`);
    name = binding.metadata.name;
    const resolver = new DestinationResolver({
      ingressBaseUrl: options.server.replace(/\/+$/, ''),
      ...(options.serviceUrlTemplate ? { serviceUrlTemplate: options.serviceUrlTemplate } : {}),
    });
    sinkUrl = resolver.resolve(binding.spec.sink, namespace);
    caCerts = binding.spec.sink.CACerts;
    // The token naming the SinkBinding that `sluice run` keeps fresh (authentication-oidc on and a sink with an
    // audience), as Knative projects the binding's token into the pod; read before each send.
    if (options.dataDir !== undefined) {
      const file = resolve(oidcTokenFilePath(options.dataDir, sinkBindingTokenKey(namespace, name)));
      if (existsSync(file)) tokenFile = file;
    }
    // Command-line overrides win over the SinkBinding's, key by key.
    overrides = { extensions: { ...binding.spec.ceOverrides?.extensions, ...extra?.extensions } };
  }
  const vars = bindingVariables({ sinkUrl, ceOverrides: overrides, caCerts, namespace, name, sinkTimeoutSeconds: options.sinkTimeout });
  const env: Record<string, string> = {};
  for (const [k, v] of Object.entries(baseEnv)) if (v !== undefined) env[k] = v;
  // The caller's own NAMESPACE/NAME/K_SINK_TIMEOUT win over the defaults; the Knative variables always win.
  for (const [k, v] of Object.entries(vars.defaults)) if (env[k] === undefined) env[k] = v;
  Object.assign(env, vars.injected);
  if (tokenFile !== undefined) env[OIDC_TOKEN_FILE_ENV] = tokenFile;
  return { sinkUrl, namespace, name, env, ...(tokenFile !== undefined ? { tokenFile } : {}) };
}

const FORWARDED: readonly NodeJS.Signals[] = ['SIGINT', 'SIGTERM', 'SIGHUP', 'SIGQUIT', 'SIGUSR1', 'SIGUSR2'];
// A terminal delivers these to the whole foreground process group, the child included: forwarding them too would
// deliver them twice (and make "press Ctrl-C again to force quit" programs force quit).
const TERMINAL_SIGNALS: ReadonlySet<string> = new Set(['SIGINT', 'SIGQUIT']);

/**
 * Runs a command with the given environment and stdio inherited, forwards signals to it and resolves with its exit
 * code (128 + signal number when a signal ended it; 127 when the command is not found, 126 when not executable).
 */
export function runBoundCommand(argv: readonly string[], env: Record<string, string>, options: { interactive?: boolean } = {}): Promise<number> {
  const [command, ...args] = argv;
  if (command === undefined) return Promise.reject(usage('missing the command to run (sluice bind … -- COMMAND [ARGS…])'));
  const interactive = options.interactive ?? process.stdin.isTTY === true;
  return new Promise((resolve) => {
    const child = spawn(command, args, { env, stdio: 'inherit' });
    const forward = (signal: NodeJS.Signals): void => {
      if (interactive && TERMINAL_SIGNALS.has(signal)) return;
      child.kill(signal);
    };
    const handlers = FORWARDED.map((s) => [s, () => forward(s)] as const);
    for (const [s, h] of handlers) process.on(s, h);
    let settled = false;
    const done = (code: number): void => {
      if (settled) return;
      settled = true;
      for (const [s, h] of handlers) process.off(s, h);
      resolve(code);
    };
    child.once('error', (err: NodeJS.ErrnoException) => {
      process.stderr.write(`sluice bind: cannot run ${command}: ${err.message}\n`);
      done(err.code === 'ENOENT' ? 127 : 126);
    });
    child.once('exit', (code, signal) => {
      done(code ?? (signal ? 128 + (constants.signals[signal] ?? 0) : 1));
    });
  });
}
