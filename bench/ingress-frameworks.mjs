// Ingress hot path, framework only: the same handler (read body, 202) on node:http and on express 5, one process
// each, so the choice of HTTP server for broker ingress is made on measured numbers. argv[2] = 'node' | 'express'.
import { createServer } from 'node:http';
import express from 'express';

const kind = process.argv[2];
let server;
if (kind === 'express') {
  const app = express();
  app.post('/:ns/:broker', express.raw({ type: '*/*', limit: '1mb' }), (req, res) => {
    if (!req.headers['ce-id']) return res.status(400).json({ error: 'missing id' });
    res.status(202).end();
  });
  server = createServer(app);
} else {
  server = createServer((req, res) => {
    const chunks = [];
    req.on('data', (c) => chunks.push(c));
    req.on('end', () => {
      if (!req.headers['ce-id']) {
        res.writeHead(400).end('missing id');
        return;
      }
      res.writeHead(202, { 'content-length': 0 }).end();
    });
  });
}
server.keepAliveTimeout = 60_000;
server.listen(0, '127.0.0.1', () => process.send({ port: server.address().port }));
