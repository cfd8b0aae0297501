// The helloworld subscriber: receives a CloudEvent (binary mode) and replies with a new one, which the broker routes
// to the Triggers that want it. Listens on $PORT (Knative's contract; Sluice sets it).
import { createServer } from 'node:http';
import { randomUUID } from 'node:crypto';

const port = Number(process.env.PORT ?? 8080);

createServer((req, res) => {
  const chunks = [];
  req.on('data', (c) => chunks.push(c));
  req.on('end', () => {
    const body = Buffer.concat(chunks).toString('utf8');
    console.log(`event received: type=${req.headers['ce-type']} source=${req.headers['ce-source']} id=${req.headers['ce-id']} data=${body}`);
    let name = 'world';
    try {
      name = JSON.parse(body).name ?? name;
    } catch {
      // not JSON: greet the world
    }
    res.writeHead(200, {
      'ce-specversion': '1.0',
      'ce-id': randomUUID(),
      'ce-type': 'dev.sluice.samples.hello.reply',
      'ce-source': 'examples/apps/helloworld',
      'content-type': 'application/json',
    });
    res.end(JSON.stringify({ msg: `Hello, ${name}!` }));
  });
}).listen(port, () => console.log(`helloworld listening on ${port}`));
