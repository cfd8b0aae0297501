// Shared end-to-end helpers: spawn the real `sluice` CLI like a user does, and run real HTTP subscribers.
import { spawn, type ChildProcess } from 'node:child_process';
import { createServer, type IncomingHttpHeaders, type Server } from 'node:http';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { AddressInfo } from 'node:net';
import { decodeHttp, type CloudEvent } from '@sluice/core';

/** Repository root. */
export const ROOT = new URL('../../', import.meta.url).pathname;
/** The built CLI entry point, as `npx sluice` runs it. */
export const SLUICE_BIN = join(ROOT, 'packages/cli/dist/bin.js');

/** Makes a temporary directory removed by the returned function. */
export function tempDir(prefix = 'sluice-e2e-'): { path: string; remove: () => void } {
  const path = mkdtempSync(join(tmpdir(), prefix));
  return { path, remove: () => rmSync(path, { recursive: true, force: true }) };
}

/** Polls until `predicate` holds, failing with `what` after `timeoutMs`. */
export async function waitFor(predicate: () => boolean, what: string, timeoutMs = 10_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!predicate()) {
    if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 10));
  }
}

/** Runs the CLI to completion (for one-shot commands such as validate). */
export function runCli(args: string[], options: { cwd?: string; env?: NodeJS.ProcessEnv; timeoutMs?: number } = {}): Promise<{ code: number | null; stdout: string; stderr: string }> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [SLUICE_BIN, ...args], { cwd: options.cwd ?? ROOT, env: { ...process.env, ...options.env } });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
    child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
    const timer = setTimeout(() => {
      child.kill('SIGKILL');
      reject(new Error(`sluice ${args.join(' ')} did not finish in time\n${stdout}\n${stderr}`));
    }, options.timeoutMs ?? 30_000);
    child.on('exit', (code) => {
      clearTimeout(timer);
      resolve({ code, stdout, stderr });
    });
  });
}

/** A running `sluice run` process. */
export interface SluiceProcess {
  readonly url: string;
  /** Base URL of the admin API (started on a free port). */
  readonly adminUrl: string;
  readonly child: ChildProcess;
  readonly dataDir: string;
  output(): string;
  /** Sends a signal and waits for the exit; returns the exit code. */
  stop(signal?: NodeJS.Signals): Promise<number | null>;
}

/** Writes `yaml` to a file and starts `sluice run` on it with a free port; resolves once it printed its ready line. */
export async function startSluice(options: { yaml: string; dataDir: string; args?: string[]; env?: NodeJS.ProcessEnv }): Promise<SluiceProcess> {
  const file = join(options.dataDir, 'config.yaml');
  writeFileSync(file, options.yaml);
  const child = spawn(process.execPath, [SLUICE_BIN, 'run', '-f', file, '--port', '0', '--admin-port', '0', '--data-dir', join(options.dataDir, 'store'), ...(options.args ?? [])], {
    cwd: ROOT,
    env: { ...process.env, SLUICE_LOG_LEVEL: process.env['SLUICE_LOG_LEVEL'] ?? 'warn', ...options.env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let out = '';
  child.stdout!.on('data', (d: Buffer) => (out += d.toString()));
  child.stderr!.on('data', (d: Buffer) => (out += d.toString()));
  const exited = new Promise<number | null>((resolve) => child.on('exit', (code) => resolve(code)));
  const [url, adminUrl] = await new Promise<[string, string]>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`sluice did not become ready:\n${out}`)), 20_000);
    const onData = (): void => {
      const m = /sluice ready on (http:\/\/\S+) \(.*admin (http:\/\/[^\s)]+)\)/.exec(out);
      if (m) {
        clearTimeout(timer);
        child.stdout!.off('data', onData);
        resolve([m[1]!, m[2]!]);
      }
    };
    child.stdout!.on('data', onData);
    void exited.then((code) => {
      clearTimeout(timer);
      reject(new Error(`sluice exited with ${code} before it was ready:\n${out}`));
    });
  });
  return {
    url,
    adminUrl,
    child,
    dataDir: options.dataDir,
    output: () => out,
    stop: async (signal = 'SIGTERM') => {
      if (child.exitCode === null && child.signalCode === null) child.kill(signal);
      return exited;
    },
  };
}

/** One request a subscriber received. */
export interface Received {
  readonly headers: IncomingHttpHeaders;
  readonly body: Buffer;
  /** The decoded event, or undefined if the request was not a valid CloudEvent. */
  readonly event: CloudEvent | undefined;
  readonly at: number;
}

/** How a subscriber answers: status, headers and body; default 202 with no body. */
export interface Reply {
  status?: number;
  headers?: Record<string, string>;
  body?: string | Buffer;
  /** Never answer (the connection stays open until the client gives up). */
  hang?: boolean;
}

/** A real HTTP subscriber on a free loopback port that records every request. */
export interface Subscriber {
  readonly url: string;
  readonly received: Received[];
  /** Ids of the events received, in arrival order. */
  ids(): string[];
  waitForCount(n: number, timeoutMs?: number): Promise<void>;
  close(): Promise<void>;
}

/** Starts a subscriber; `respond` decides each answer (by request number, 0-based). */
export async function startSubscriber(respond: (received: Received, index: number) => Reply = () => ({})): Promise<Subscriber> {
  const received: Received[] = [];
  const server: Server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      const body = Buffer.concat(chunks);
      let event: CloudEvent | undefined;
      try {
        event = decodeHttp(req.headers, body)[0];
      } catch {
        event = undefined;
      }
      const r: Received = { headers: req.headers, body, event, at: Date.now() };
      const index = received.length;
      received.push(r);
      const reply = respond(r, index);
      if (reply.hang) return;
      res.writeHead(reply.status ?? 202, reply.headers ?? {});
      res.end(reply.body ?? '');
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}/`;
  return {
    url,
    received,
    ids: () => received.map((r) => String(r.event?.attributes['id'])),
    waitForCount: (n, timeoutMs = 20_000) => waitFor(() => received.length >= n, `${n} requests at ${url} (got ${received.length})`, timeoutMs),
    close: () =>
      new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections();
      }),
  };
}

/** Posts a binary-mode CloudEvent; returns status and body text. */
export async function postEvent(
  url: string,
  attrs: Record<string, string>,
  data: string | Buffer = '',
  extraHeaders: Record<string, string> = {},
): Promise<{ status: number; body: string; headers: Headers }> {
  const headers: Record<string, string> = { 'ce-specversion': '1.0', 'content-type': 'application/json', ...extraHeaders };
  for (const [k, v] of Object.entries(attrs)) headers[`ce-${k}`] = v;
  const res = await fetch(url, { method: 'POST', headers, body: data });
  return { status: res.status, body: await res.text(), headers: res.headers };
}

/** Binary-mode headers for a reply event. */
export function replyHeaders(attrs: Record<string, string>, contentType = 'application/json'): Record<string, string> {
  const headers: Record<string, string> = { 'ce-specversion': '1.0', 'content-type': contentType };
  for (const [k, v] of Object.entries(attrs)) headers[`ce-${k}`] = v;
  return headers;
}
