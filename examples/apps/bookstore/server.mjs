// The bookstore's back end: POST /add-comment turns a review into a CloudEvent sent to K_SINK (the SinkBinding binds
// this Deployment to the broker); POST /insert is where moderated comments arrive (a database insert in a real
// store: here one log line). Listens on $PORT, as the runtime contract asks.
import { createServer } from 'node:http';
import { randomUUID } from 'node:crypto';

const port = Number(process.env.PORT ?? 8000);

function body(req) {
  return new Promise((resolve) => {
    const chunks = [];
    req.on('data', (c) => chunks.push(c));
    req.on('end', () => resolve(Buffer.concat(chunks).toString('utf8')));
  });
}

createServer(async (req, res) => {
  const text = await body(req);
  if (req.method === 'POST' && req.url === '/add-comment') {
    const { comment } = JSON.parse(text || '{}');
    const sent = await fetch(process.env.K_SINK, {
      method: 'POST',
      headers: { 'content-type': 'application/json', 'ce-specversion': '1.0', 'ce-id': randomUUID(), 'ce-source': '/bookstore/node-server', 'ce-type': 'new-review-comment' },
      body: JSON.stringify({ reviewText: comment }),
    });
    console.log(`comment sent to the broker: ${sent.status}`);
    res.writeHead(sent.ok ? 202 : 502).end();
    return;
  }
  if (req.method === 'POST' && req.url === '/insert') {
    const data = JSON.parse(text || '{}');
    console.log(`stored comment "${data.reviewText}" (sentiment ${req.headers['ce-sentimentresult']})`);
    res.writeHead(202).end();
    return;
  }
  res.writeHead(404).end();
}).listen(port, () => console.log(`node-server listening on ${port}`));
