// Test helpers: real HTTP subscribers on loopback and an in-process runtime on an in-memory store.
import { createServer, type IncomingHttpHeaders } from 'node:http';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { AddressInfo } from 'node:net';
import { decodeHttp, type CloudEvent } from '@sluice/core';
import { brokerChecks, loadConfig } from '@sluice/config';
import { SluiceRuntime } from '@sluice/broker';
import { SqliteEventStore } from '@sluice/store';
import { channelChecks, channelComponents } from '../src/index.js';

export interface Hit {
  readonly headers: IncomingHttpHeaders;
  readonly event: CloudEvent | undefined;
}

export interface Answer {
  status?: number;
  headers?: Record<string, string>;
  body?: string;
}

/** A loopback HTTP server recording every request; `answer` decides each response (default 202). */
export async function sink(answer: (hit: Hit, i: number) => Answer = () => ({})) {
  const hits: Hit[] = [];
  const server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      let event: CloudEvent | undefined;
      try {
        event = decodeHttp(req.headers, Buffer.concat(chunks))[0];
      } catch {
        event = undefined;
      }
      const hit = { headers: req.headers, event };
      const a = answer(hit, hits.length);
      hits.push(hit);
      res.writeHead(a.status ?? 202, a.headers ?? {}).end(a.body ?? '');
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return {
    url: `http://127.0.0.1:${(server.address() as AddressInfo).port}/`,
    hits,
    close: () => new Promise<void>((resolve) => { server.close(() => resolve()); server.closeAllConnections(); }),
  };
}

/** Loads YAML with the broker and channel checks and runs it in-process; throws on configuration errors. */
export async function runYaml(yaml: string) {
  const dir = mkdtempSync(join(tmpdir(), 'sluice-channel-'));
  const file = join(dir, 'config.yaml');
  writeFileSync(file, yaml);
  const { config, errors } = loadConfig([file], { checks: [brokerChecks(), channelChecks()] });
  if (errors.length > 0) throw new Error(errors.map((e) => `${e.line}:${e.col}: ${e.message}`).join('\n'));
  const runtime = await SluiceRuntime.start(config, { port: 0, store: new SqliteEventStore({ path: ':memory:', durability: 'none' }), components: [channelComponents] });
  return {
    runtime,
    stop: async () => {
      await runtime.stop(2000);
      rmSync(dir, { recursive: true, force: true });
    },
  };
}

/** Polls until `predicate` holds. */
export async function until(predicate: () => boolean, what: string, timeoutMs = 5000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!predicate()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 10));
  }
}

/** POSTs a binary-mode event. */
export async function post(url: string, id: string, data = '{}', extra: Record<string, string> = {}): Promise<number> {
  const res = await fetch(url, {
    method: 'POST',
    headers: { 'ce-specversion': '1.0', 'ce-id': id, 'ce-source': '/test', 'ce-type': 'test.event', 'content-type': 'application/json', ...extra },
    body: data,
  });
  await res.arrayBuffer();
  return res.status;
}
