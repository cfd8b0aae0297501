// Test helpers: an in-process runtime on an in-memory store (subscribers and polling come from @sluice/testing).
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { brokerChecks, loadConfig } from '@sluice/config';
import { SluiceRuntime } from '@sluice/broker';
import { SqliteEventStore } from '@sluice/store';
import { channelChecks, channelComponents } from '../src/index.js';

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
