// The baseline: a bare Node HTTP forwarder (node:http in, undici out), no parsing, no storage. It answers 202 after
// forwarding, like a synchronous broker would. Its throughput is the practical ceiling for one event on this machine.
import { createServer } from 'node:http';
import { Agent, request } from 'undici';

const target = process.argv[2];
const dispatcher = new Agent({ connections: 128 });
const server = createServer((req, res) => {
  const chunks = [];
  req.on('data', (c) => chunks.push(c));
  req.on('end', async () => {
    const headers = {};
    for (const [k, v] of Object.entries(req.headers)) if (k.startsWith('ce-') || k === 'content-type') headers[k] = v;
    try {
      const r = await request(target, { method: 'POST', headers, body: Buffer.concat(chunks), dispatcher });
      await r.body.dump();
      res.writeHead(202, { 'content-length': 0 }).end();
    } catch (err) {
      res.writeHead(502).end(String(err));
    }
  });
});
server.keepAliveTimeout = 60_000;
server.listen(0, '127.0.0.1', () => process.send({ port: server.address().port }));
