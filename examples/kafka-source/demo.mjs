// One command: a real Kafka (KAFKA_BROKERS, or started through deploy/local-services), `sluice run` on
// kafka-source.yaml, a subscriber that prints what the Trigger delivers, and the three sample records of
// produce.mjs. Run after `npx tsc -b`:  node examples/kafka-source/demo.mjs
import { spawn } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { produce } from './produce.mjs';

const root = fileURLToPath(new URL('../../', import.meta.url));
let kafka;
let brokers = process.env.KAFKA_BROKERS;
if (!brokers) {
  const { start } = await import('../../deploy/local-services/kafka.mjs');
  kafka = await start();
  brokers = kafka.env.KAFKA_BROKERS;
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
    console.log(`\n${attrs.type}\n${JSON.stringify(attrs, null, 2)}\ndata: ${Buffer.concat(chunks).toString()}`);
    received++;
    res.writeHead(202).end();
  });
});
await new Promise((r) => subscriber.listen(0, '127.0.0.1', r));

const dir = mkdtempSync(join(tmpdir(), 'sluice-kafka-demo-'));
const topic = `orders-${Date.now()}`;
const yaml = readFileSync(join(root, 'examples/kafka-source/kafka-source.yaml'), 'utf8')
  .replace('http://127.0.0.1:8081/', `http://127.0.0.1:${subscriber.address().port}/`)
  .replace('- 127.0.0.1:9092', `- "${brokers}"`)
  .replace('- orders', `- ${topic}`)
  .replace('orders-to-broker', `demo-${topic}`);
writeFileSync(join(dir, 'config.yaml'), yaml);
await produce(brokers, topic);
const sluice = spawn(process.execPath, [join(root, 'packages/cli/dist/bin.js'), 'run', '-f', join(dir, 'config.yaml'), '--port', '0', '--data-dir', join(dir, 'store')], {
  stdio: ['ignore', 'inherit', 'inherit'],
});
const deadline = Date.now() + 60_000;
while (received < 3 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 100));
sluice.kill('SIGTERM');
await new Promise((r) => sluice.once('exit', r));
subscriber.close();
rmSync(dir, { recursive: true, force: true });
await kafka?.stop();
console.log(received === 3 ? '\nall 3 records arrived' : `\nonly ${received} of 3 records arrived`);
process.exitCode = received === 3 ? 0 : 1;
