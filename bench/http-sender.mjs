// CPU per delivery of the HTTP sender (`UndiciSender.send`, @sluice/delivery) in process: a 1 KiB binary-mode event
// posted to a loopback subscriber (its own process) that answers 202 with no body, 32 sends in flight. Each build runs
// in a child process of its own, the builds taking turns for BENCH_SENDER_ROUNDS rounds (default 3) of 10,000 sends
// after a warm-up; it prints µs of the sending process's CPU (user + system) per send, every round.
//
//   node bench/http-sender.mjs                                   # this checkout (after `npx tsc -b`)
//   BENCH_SENDER_BUILDS=before=/old/checkout,after=. node bench/http-sender.mjs
import { fork } from 'node:child_process';
import { createServer } from 'node:http';
import { resolve } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';

const SENDS = 10_000;
const IN_FLIGHT = 32;

if (process.argv[2] === 'subscriber') {
  const server = createServer((req, res) => {
    req.resume();
    req.on('end', () => {
      res.writeHead(202, { 'content-length': '0' });
      res.end();
    });
  });
  server.listen(0, '127.0.0.1', () => process.send(server.address().port));
} else if (process.argv[2] === 'sender') {
  const { UndiciSender } = await import(pathToFileURL(resolve(process.argv[3], 'packages/delivery/dist/index.js')).href);
  const sender = new UndiciSender();
  const url = `http://127.0.0.1:${process.argv[4]}/`;
  const event = { attributes: { specversion: '1.0', id: 'bench-1', source: '/bench', type: 'dev.sluice.bench', datacontenttype: 'application/json' }, data: Buffer.alloc(1024, 97) };
  const round = async (n) => {
    const before = process.cpuUsage();
    let sent = 0;
    await Promise.all(
      Array.from({ length: IN_FLIGHT }, async () => {
        while (sent++ < n) {
          const res = await sender.send(url, event, { timeoutMs: 10_000 });
          if (!res.ok) throw res.error;
        }
      }),
    );
    const used = process.cpuUsage(before);
    return (used.user + used.system) / n;
  };
  await round(SENDS / 2);
  process.on('message', async () => process.send(await round(SENDS)));
  process.send('ready');
} else {
  const builds = (process.env.BENCH_SENDER_BUILDS ?? 'this=.').split(',').map((b) => {
    const [name, dir] = b.split('=');
    return { name, dir: resolve(dir), perSend: [] };
  });
  const rounds = Number(process.env.BENCH_SENDER_ROUNDS ?? 3);
  const self = fileURLToPath(import.meta.url);
  const subscriber = fork(self, ['subscriber']);
  const port = await new Promise((r) => subscriber.once('message', r));
  for (const b of builds) {
    b.child = fork(self, ['sender', b.dir, String(port)]);
    await new Promise((r) => b.child.once('message', r));
  }
  for (let r = 0; r < rounds; r++) {
    for (const b of builds) {
      b.child.send('round');
      b.perSend.push(await new Promise((done) => b.child.once('message', done)));
    }
  }
  console.log(`HTTP sender, CPU µs per send (1 KiB binary event, loopback 202, ${IN_FLIGHT} in flight, ${SENDS.toLocaleString('en')} sends per round)`);
  for (const b of builds) console.log(`${b.name}: ${b.perSend.map((v) => v.toFixed(1)).join(', ')}`);
  for (const b of builds) b.child.kill();
  subscriber.kill();
}
