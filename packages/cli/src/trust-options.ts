import { InvalidArgumentError, Option, type Command } from 'commander';
import { redactUrlsIn } from '@sluice/core';
import { AUTHORIZATION_MODES, DEFAULT_CONNECTION_LIMITS, eventPolicyRefusals, type AuthorizationMode, type RuntimeOptions } from '@sluice/broker';
import { STORE_LIMIT_DEFAULTS } from '@sluice/store';
import { WORKLOAD_KINDS } from '@sluice/workloads';
import type { SluiceConfig } from '@sluice/config';
import { collectList } from './args.js';

/** The `sluice run` flags that bound what clients may do (values as parsed by commander). */
export interface TrustFlags {
  maxConnections: number;
  maxConnectionsPerClient: number;
  headersTimeout: number;
  requestTimeout: number;
  idleTimeout: number;
  maxBacklogEvents: number;
  maxBacklogBytes: number;
  egressAllow: string[];
  egressDeny: string[];
  /** false with `--no-exec`. */
  exec: boolean;
  tlsCert?: string;
  tlsKey?: string;
  tlsClientCa?: string;
  oidcIssuer: string[];
  /** Knative's `authentication-oidc` feature flag: `enabled` signs a token for each delivery to an audience. */
  authenticationOidc: 'enabled' | 'disabled';
  authenticationOidcIssuer?: string;
  /** Knative's `default-authorization-mode`; only with the authentication-oidc feature on. */
  defaultAuthorizationMode?: AuthorizationMode;
}

function count(name: string): (v: string) => number {
  return (v) => {
    const n = Number(v);
    if (!Number.isInteger(n) || n < 0) throw new InvalidArgumentError(`${name} must be an integer ≥ 0 (0: no limit)`);
    return n;
  };
}

const UNIT_MS: Readonly<Record<string, number>> = { ms: 1, s: 1000, m: 60_000 };

/** Parses a duration flag such as `15s`, `500ms` or `2m` into milliseconds (a bare number is seconds). */
export function durationArg(name: string): (v: string) => number {
  return (v) => {
    const m = /^(\d+)(ms|s|m)?$/.exec(v.trim());
    const ms = m ? Number(m[1]) * UNIT_MS[m[2] ?? 's']! : NaN;
    if (!Number.isFinite(ms) || ms <= 0) throw new InvalidArgumentError(`${name} must be a positive duration such as 15s, 500ms or 2m`);
    return ms;
  };
}

const seconds = (ms: number): string => `${ms / 1000}s`;

/** Adds the connection, timeout and limit flags of docs/security.md to `sluice run`. */
export function addTrustOptions(cmd: Command): Command {
  const d = DEFAULT_CONNECTION_LIMITS;
  return cmd
    .addOption(new Option('--max-connections <n>', 'open client connections at once (0: no limit)').env('SLUICE_MAX_CONNECTIONS').argParser(count('--max-connections')).default(d.maxConnections))
    .addOption(
      new Option('--max-connections-per-client <n>', 'open connections at once from one client address (0: no limit)')
        .env('SLUICE_MAX_CONNECTIONS_PER_CLIENT')
        .argParser(count('--max-connections-per-client'))
        .default(d.maxConnectionsPerClient),
    )
    .addOption(
      new Option('--headers-timeout <duration>', 'time a client has to send the request headers (e.g. 15s)')
        .env('SLUICE_HEADERS_TIMEOUT')
        .argParser(durationArg('--headers-timeout'))
        .default(d.headersTimeoutMs, seconds(d.headersTimeoutMs)),
    )
    .addOption(
      new Option('--request-timeout <duration>', 'time a client has to send a whole request')
        .env('SLUICE_REQUEST_TIMEOUT')
        .argParser(durationArg('--request-timeout'))
        .default(d.requestTimeoutMs, seconds(d.requestTimeoutMs)),
    )
    .addOption(
      new Option('--idle-timeout <duration>', 'how long an idle keep-alive connection stays open')
        .env('SLUICE_IDLE_TIMEOUT')
        .argParser(durationArg('--idle-timeout'))
        .default(d.keepAliveTimeoutMs, seconds(d.keepAliveTimeoutMs)),
    )
    .addOption(
      new Option('--max-backlog-events <n>', 'events per broker stored and not yet delivered to every trigger before ingress answers 429 (0: no limit)')
        .env('SLUICE_MAX_BACKLOG_EVENTS')
        .argParser(count('--max-backlog-events'))
        .default(STORE_LIMIT_DEFAULTS.maxBacklogEvents),
    )
    .addOption(
      new Option('--max-backlog-bytes <n>', 'the same bound in payload bytes (0: no limit)')
        .env('SLUICE_MAX_BACKLOG_BYTES')
        .argParser(count('--max-backlog-bytes'))
        .default(STORE_LIMIT_DEFAULTS.maxBacklogBytes),
    )
    .addOption(new Option('--egress-allow <cidr|host>', 'destinations exempt from the egress deny rules (repeatable or comma-separated)').env('SLUICE_EGRESS_ALLOW').argParser(collectList).default([]))
    .addOption(new Option('--tls-cert <file>', 'serve HTTPS with this PEM certificate (chain); reloaded when it changes').env('SLUICE_TLS_CERT'))
    .addOption(new Option('--tls-key <file>', 'the PEM private key of --tls-cert').env('SLUICE_TLS_KEY'))
    .addOption(new Option('--tls-client-ca <file>', 'CA (PEM) of client certificates, for brokers annotated sluice.dev/client-cert: required').env('SLUICE_TLS_CLIENT_CA'))
    .addOption(
      new Option('--oidc-issuer <url>', 'require OIDC bearer tokens from this issuer on brokers without static credentials (repeatable or comma-separated)')
        .env('SLUICE_OIDC_ISSUER')
        .argParser(collectList)
        .default([]),
    )
    .addOption(
      new Option('--authentication-oidc <state>', "Knative's authentication-oidc feature: enabled sends a signed OIDC token with each delivery to a destination that has an audience")
        .env('SLUICE_AUTHENTICATION_OIDC')
        .choices(['enabled', 'disabled'])
        .default('disabled'),
    )
    .addOption(
      new Option('--authentication-oidc-issuer <url>', 'issuer URL of the tokens Sluice signs (default: the ingress URL, where the discovery document and JWKS are served)').env(
        'SLUICE_AUTHENTICATION_OIDC_ISSUER',
      ),
    )
    .addOption(
      new Option(
        '--default-authorization-mode <mode>',
        "Knative's default-authorization-mode: what a broker without EventPolicies accepts, with --authentication-oidc enabled (default allow-same-namespace)",
      )
        .env('SLUICE_DEFAULT_AUTHORIZATION_MODE')
        .choices([...AUTHORIZATION_MODES]),
    )
    .addOption(new Option('--no-exec', 'refuse to run a configuration that would start a process or container (ContainerSource, workloads, JobSink)').env('SLUICE_NO_EXEC'))
    .addOption(
      new Option('--egress-deny <cidr|host>', 'destinations denied on top of link-local and cloud metadata addresses (repeatable or comma-separated)')
        .env('SLUICE_EGRESS_DENY')
        .argParser(collectList)
        .default([]),
    );
}

/** Maps the parsed flags of {@link addTrustOptions} to runtime options. */
export function trustRuntimeOptions(flags: TrustFlags): Partial<RuntimeOptions> {
  return {
    connectionLimits: {
      maxConnections: flags.maxConnections,
      maxConnectionsPerClient: flags.maxConnectionsPerClient,
      headersTimeoutMs: flags.headersTimeout,
      requestTimeoutMs: flags.requestTimeout,
      keepAliveTimeoutMs: flags.idleTimeout,
    },
    storeLimits: { maxBacklogEvents: flags.maxBacklogEvents, maxBacklogBytes: flags.maxBacklogBytes },
    egress: { allow: flags.egressAllow, deny: flags.egressDeny },
    ...(flags.oidcIssuer.length > 0 ? { oidc: { issuers: flags.oidcIssuer } } : {}),
    ...(flags.authenticationOidc === 'enabled'
      ? {
          oidcSending: {
            ...(flags.authenticationOidcIssuer !== undefined ? { issuer: flags.authenticationOidcIssuer } : {}),
            ...(flags.defaultAuthorizationMode !== undefined ? { defaultAuthorizationMode: flags.defaultAuthorizationMode } : {}),
          },
        }
      : {}),
    ...(flags.tlsCert !== undefined && flags.tlsKey !== undefined
      ? { tls: { certFile: flags.tlsCert, keyFile: flags.tlsKey, ...(flags.tlsClientCa !== undefined ? { clientCaFile: flags.tlsClientCa } : {}) } }
      : {}),
  };
}

// `scheme://user:password@host` in any logged string: the password is replaced before the line is written.
function redactValue(v: unknown, depth: number): unknown {
  if (typeof v === 'string') return redactUrlsIn(v);
  // A logged error stays an error of its class (pino's serializer writes its type, code and stack), texts redacted.
  if (v instanceof Error) {
    const copy = Object.assign(Object.create(Object.getPrototypeOf(v) as object) as Error, v);
    copy.message = redactUrlsIn(v.message);
    if (v.stack !== undefined) copy.stack = redactUrlsIn(v.stack);
    if (v.cause !== undefined && depth <= 3) copy.cause = redactValue(v.cause, depth + 1);
    return copy;
  }
  if (depth > 3 || v === null || typeof v !== 'object' || Array.isArray(v)) return v;
  let out: Record<string, unknown> | undefined;
  for (const [k, x] of Object.entries(v)) {
    const r = redactValue(x, depth + 1);
    if (r !== x) (out ??= { ...(v as Record<string, unknown>) })[k] = r;
  }
  return out ?? v;
}

/** pino hooks that keep credentials in URLs (`https://user:secret@host`) out of every log line, message and fields. */
export const redactingLogHooks = {
  logMethod(this: unknown, args: unknown[], method: (...a: unknown[]) => void): void {
    method.apply(
      this,
      args.map((a) => redactValue(a, 0)),
    );
  },
};

/** Kinds that start processes or containers (`apiVersion kind`), refused under `--no-exec`. */
export const EXEC_KINDS: readonly string[] = [...WORKLOAD_KINDS, 'sources.knative.dev/v1 ContainerSource', 'sinks.knative.dev/v1alpha1 JobSink'];

/** One `file:line:col: message` per resource that would start a process or container. */
export function execRefusals(config: SluiceConfig): string[] {
  return config.resources
    .filter((r) => EXEC_KINDS.includes(`${r.apiVersion} ${r.kind}`))
    .map((r) => {
      const p = r.position([]);
      return `${r.file}:${p.line}:${p.col}: ${r.kind}/${r.name}: would start a process or container, which --no-exec forbids`;
    });
}

/**
 * `file:line:col: …` lines for resources the flags forbid: processes and containers under `--no-exec`, EventPolicies
 * without `--authentication-oidc enabled` (Knative refuses them while the feature is off).
 */
export function flagRefusals(flags: TrustFlags, config: SluiceConfig): string[] {
  return [...(flags.exec === false ? execRefusals(config) : []), ...(flags.authenticationOidc === 'enabled' ? [] : eventPolicyRefusals(config))];
}

/** A usage error for flags that only work together, or undefined. */
export function trustUsageError(flags: TrustFlags): string | undefined {
  if ((flags.tlsCert === undefined) !== (flags.tlsKey === undefined)) return '--tls-cert and --tls-key go together';
  if (flags.tlsClientCa !== undefined && flags.tlsCert === undefined) return '--tls-client-ca needs --tls-cert and --tls-key';
  if (flags.authenticationOidcIssuer !== undefined && flags.authenticationOidc !== 'enabled') return '--authentication-oidc-issuer needs --authentication-oidc enabled';
  if (flags.defaultAuthorizationMode !== undefined && flags.authenticationOidc !== 'enabled') return '--default-authorization-mode needs --authentication-oidc enabled';
  if (flags.authenticationOidcIssuer !== undefined && !/^https?:\/\/[^/]/.test(flags.authenticationOidcIssuer)) return '--authentication-oidc-issuer must be an http(s) URL';
  return undefined;
}
