import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { rootCertificates } from 'node:tls';
import { Option, type Command } from 'commander';
import { Agent, fetch, type Response } from 'undici';
import { GENERATED_TOKEN_FILE, isLoopback } from '@sluice/admin';

/** Default admin API of `sluice run` (its --admin-host/--admin-port defaults). */
export const DEFAULT_ADMIN_URL = 'http://127.0.0.1:8090';

/** The flags every command that talks to the admin API takes. */
export interface AdminClientFlags {
  server: string;
  token?: string;
  adminCa?: string;
}

/** An answer of the admin API that is an error, or no answer at all: the command prints it as one line, exit 1. */
export class AdminClientError extends Error {}

/** Runs a command's work against the admin API: exit 0 when done, an AdminClientError as one line and exit 1. */
export function adminCommandRunner(onExit: (code: number) => void): (what: () => Promise<void>) => Promise<void> {
  return async (what) => {
    try {
      await what();
      onExit(0);
    } catch (err) {
      if (!(err instanceof AdminClientError)) throw err;
      process.stderr.write(`sluice: ${err.message}\n`);
      onExit(1);
    }
  };
}

/** Adds `--server`, `--token` and `--admin-ca` (with their environment variables) to a command. */
export function addAdminClientOptions(cmd: Command): Command {
  return cmd
    .addOption(new Option('--server <url>', 'admin API of the running sluice (the ready line prints it)').env('SLUICE_ADMIN').default(DEFAULT_ADMIN_URL))
    .addOption(new Option('--token <token>', `admin API token (default: ${join('$SLUICE_DATA_DIR', GENERATED_TOKEN_FILE)}, for a loopback --server)`).env('SLUICE_ADMIN_TOKEN'))
    .addOption(new Option('--admin-ca <file>', 'CA certificate (PEM) to trust for an https --server, besides the system roots').env('SLUICE_ADMIN_CA'));
}

/** The generated token of a `sluice run` with the same data dir (SLUICE_DATA_DIR, default `.sluice`), if readable. */
function generatedToken(): string | undefined {
  const file = join(process.env['SLUICE_DATA_DIR'] ?? '.sluice', GENERATED_TOKEN_FILE);
  if (!existsSync(file)) return undefined;
  try {
    return readFileSync(file, 'utf8').trim() || undefined;
  } catch {
    return undefined;
  }
}

/**
 * The token to send: --token / SLUICE_ADMIN_TOKEN, else the generated token of the local data dir — only to a
 * loopback server, so that pointing --server elsewhere never hands that machine's admin token to another one.
 */
function tokenFor(flags: AdminClientFlags): { token: string; guessed: boolean } | undefined {
  if (flags.token !== undefined && flags.token !== '') return { token: flags.token, guessed: false };
  let host: string;
  try {
    host = new URL(flags.server).hostname;
  } catch {
    return undefined;
  }
  const token = isLoopback(host) ? generatedToken() : undefined;
  return token === undefined ? undefined : { token, guessed: true };
}

const agents = new Map<string, Agent>();

function agentFor(caFile: string): Agent {
  let agent = agents.get(caFile);
  if (!agent) {
    let ca: string;
    try {
      ca = readFileSync(caFile, 'utf8');
    } catch (err) {
      throw new AdminClientError(`cannot read --admin-ca ${caFile}: ${(err as Error).message}`);
    }
    agent = new Agent({ connect: { ca: [...rootCertificates, ca] } });
    agents.set(caFile, agent);
  }
  return agent;
}

/**
 * Sends one request to the admin API with the token and CA the flags give, and returns the answer whatever its
 * status (a stream's body is left to the caller). No answer at all is an AdminClientError naming the address tried.
 */
export async function adminFetch(flags: AdminClientFlags, method: string, path: string, init: { body?: unknown; accept?: string; signal?: AbortSignal } = {}): Promise<Response> {
  const server = flags.server.replace(/\/$/, '');
  const token = tokenFor(flags);
  const res = await send(flags, method, `${server}${path}`, init, token?.token);
  // The generated token found in SLUICE_DATA_DIR may belong to another local sluice: when this one does not accept
  // it, ask again without (the server refused before doing anything), so that reads still work.
  if (token?.guessed === true && res.status === 401 && /invalid_token/.test(res.headers.get('www-authenticate') ?? '')) {
    await res.body?.cancel();
    return send(flags, method, `${server}${path}`, init, undefined);
  }
  return res;
}

async function send(flags: AdminClientFlags, method: string, url: string, init: { body?: unknown; accept?: string; signal?: AbortSignal }, token: string | undefined): Promise<Response> {
  const server = flags.server.replace(/\/$/, '');
  const headers: Record<string, string> = {};
  if (token !== undefined) headers['authorization'] = `Bearer ${token}`;
  if (init.accept !== undefined) headers['accept'] = init.accept;
  if (init.body !== undefined) headers['content-type'] = 'application/json';
  try {
    return await fetch(url, {
      method,
      headers,
      ...(init.body === undefined ? {} : { body: JSON.stringify(init.body) }),
      ...(init.signal === undefined ? {} : { signal: init.signal }),
      ...(flags.adminCa !== undefined ? { dispatcher: agentFor(flags.adminCa) } : {}),
    });
  } catch (err) {
    if (err instanceof AdminClientError || init.signal?.aborted) throw err;
    const cause = (err as { cause?: { code?: string; message?: string } }).cause;
    const why = cause?.code === 'ECONNREFUSED' ? 'connection refused' : (cause?.message ?? (err as Error).message);
    if (/certificate|self[- ]signed|CERT_|ERR_TLS/i.test(`${why} ${cause?.code ?? ''}`)) {
      throw new AdminClientError(`cannot verify the certificate of the Sluice admin API at ${server} (${why}): pass the CA that signed it with --admin-ca or SLUICE_ADMIN_CA`);
    }
    throw new AdminClientError(
      `cannot reach the Sluice admin API at ${server} (${why}): is \`sluice run\` running there? Set --server or SLUICE_ADMIN to its admin address (the ready line prints it)`,
    );
  }
}

/** The one line for an error answer: what the API said with its code and status, and for 401/403 how to pass a token. */
export function adminErrorLine(flags: AdminClientFlags, status: number, json: unknown): string {
  const server = flags.server.replace(/\/$/, '');
  const error = (json as { error?: { code?: string; message?: string } } | undefined)?.error;
  const said = error?.message ?? `HTTP ${status}`;
  const code = error?.code ? `${error.code}, ` : '';
  if (status === 401) {
    return `the admin API at ${server} refused the request: ${said} (${code}HTTP 401). Pass a token with --token or SLUICE_ADMIN_TOKEN (sluice run keeps one in <data dir>/${GENERATED_TOKEN_FILE}, read by default when SLUICE_DATA_DIR points at that data dir)`;
  }
  if (status === 403 && error?.code === 'SLUICE_ADMIN_FORBIDDEN') {
    return `the admin API at ${server} refused the request: ${said} (${code}HTTP 403). Pass a token with the edit role with --token or SLUICE_ADMIN_TOKEN`;
  }
  return error ? `${said} (${code}HTTP ${status})` : `the admin API at ${server} answered HTTP ${status}`;
}

/**
 * Calls the admin API and returns its JSON. Errors become one line: what the API said, or for 401/403 how to pass
 * a token, or for no answer the address tried and how to change it.
 */
export async function adminCall(flags: AdminClientFlags, method: 'GET' | 'POST' | 'PUT' | 'DELETE', path: string, body?: unknown): Promise<unknown> {
  const res = await adminFetch(flags, method, path, body === undefined ? {} : { body });
  const json: unknown = await res.json().catch(() => undefined);
  if (res.ok) return json;
  throw new AdminClientError(adminErrorLine(flags, res.status, json));
}
