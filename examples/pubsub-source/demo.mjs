// One command: the real Pub/Sub emulator (PUBSUB_EMULATOR_HOST, or started through deploy/local-services),
// `sluice run` on pubsub-source.yaml, a subscriber that prints what the Trigger delivers, and the messages of
// publish.mjs. Run after `npx tsc -b`:  node examples/pubsub-source/demo.mjs
import { spawn } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { publish } from './publish.mjs';

process.env.METADATA_SERVER_DETECTION ??= 'none'; // everything stays on loopback
const root = fileURLToPath(new URL('../../', import.meta.url));
let emulator;
let host = process.env.PUBSUB_EMULATOR_HOST;
if (!host) {
  const { start } = await import('../../deploy/local-services/pubsub-emulator.mjs');
  emulator = await start();
  host = emulator.env.PUBSUB_EMULATOR_HOST;
}

let received = 0;
const subscriber = createServer((req, res) => {
  const chunks = [];
  req.on('data', (c) => chunks.push(c));
  req.on('end', () => {
    const attrs = Object.fromEntries(
      Object.entries(req.headers)
        .filter(([k]) => k.startsWith('ce-'))
        .map(([k, v]) => [k.slice(3), v]),
    );
    if (req.headers['content-type']) attrs.datacontenttype = req.headers['content-type'];
    console.log(`\n${JSON.stringify(attrs, null, 2)}\ndata: ${Buffer.concat(chunks).toString()}`);
    received++;
    res.writeHead(202).end();
  });
});
await new Promise((r) => subscriber.listen(0, '127.0.0.1', r));

const dir = mkdtempSync(join(tmpdir(), 'sluice-pubsub-demo-'));
const topic = `orders-${Date.now()}`;
const yaml = readFileSync(join(root, 'examples/pubsub-source/pubsub-source.yaml'), 'utf8')
  .replace('http://127.0.0.1:8081/', `http://127.0.0.1:${subscriber.address().port}/`)
  .replace('topic: orders', `topic: ${topic}`);
writeFileSync(join(dir, 'config.yaml'), yaml);
await publish(host, topic, true);
const sluice = spawn(process.execPath, [join(root, 'packages/cli/dist/bin.js'), 'run', '-f', join(dir, 'config.yaml'), '--port', '0', '--data-dir', join(dir, 'store')], {
  stdio: ['ignore', 'pipe', 'inherit'],
  env: { ...process.env, PUBSUB_EMULATOR_HOST: host },
});
// The source creates its subscription before Sluice says it is ready; messages published earlier would be missed.
await new Promise((resolve) => sluice.stdout.on('data', (d) => (process.stdout.write(d), /sluice ready/.test(d) && resolve())));
await publish(host, topic);
const deadline = Date.now() + 60_000;
while (received < 2 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 100));
sluice.kill('SIGTERM');
await new Promise((r) => sluice.once('exit', r));
subscriber.close();
rmSync(dir, { recursive: true, force: true });
await emulator?.stop();
console.log(received === 2 ? '\nboth messages arrived' : `\nonly ${received} of 2 messages arrived`);
process.exitCode = received === 2 ? 0 : 1;
