// Benchmark OTLP/HTTP receiver, run as its own process: accepts trace exports (POST /v1/traces), answers 200 and
// counts requests and bytes, so the tracing phase of the benchmark pays for a real export. Reports its port over IPC;
// {cmd:'stats'} → {requests, bytes}.
import { createServer } from 'node:http';

let requests = 0;
let bytes = 0;
const server = createServer((req, res) => {
  req.on('data', (c) => (bytes += c.length));
  req.on('end', () => {
    requests++;
    res.writeHead(200, { 'content-type': req.headers['content-type'] ?? 'application/x-protobuf', 'content-length': 0 }).end();
  });
});
server.listen(0, '127.0.0.1', () => process.send({ port: server.address().port }));
process.on('message', (m) => {
  if (m.cmd === 'stats') process.send({ requests, bytes });
});
process.on('disconnect', () => process.exit(0));
