// A Sequence step: appends $MESSAGE to the event's data.message and replies with the changed event, which the
// Sequence hands to the next step. Listens on $PORT (Knative's contract; Sluice sets it).
import { createServer } from 'node:http';

const port = Number(process.env.PORT ?? 8080);
const suffix = process.env.MESSAGE ?? '';

createServer((req, res) => {
  const chunks = [];
  req.on('data', (c) => chunks.push(c));
  req.on('end', () => {
    let data = {};
    try {
      data = JSON.parse(Buffer.concat(chunks).toString('utf8'));
    } catch {
      // keep an empty object
    }
    const message = `${data.message ?? ''}${suffix}`;
    console.log(`${process.env.K_SERVICE}: ${message}`);
    const headers = { 'content-type': 'application/json' };
    for (const [k, v] of Object.entries(req.headers)) if (k.startsWith('ce-')) headers[k] = v;
    headers['ce-type'] = 'dev.sluice.samples.appended';
    res.writeHead(200, headers);
    res.end(JSON.stringify({ ...data, message }));
  });
}).listen(port, () => console.log(`${process.env.K_SERVICE} (${process.env.K_REVISION}) listening on ${port}`));
