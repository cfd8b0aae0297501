// A step of the moderation Sequence, as a Knative Service. MODE=bad-words marks the event with the extension
// badwordfilter (good or bad); MODE=sentiment adds sentimentresult and makes it a moderated-comment, the type the
// broker's db-insert-trigger waits for. Each replies with the event, which the Sequence passes on.
import { createServer } from 'node:http';

const port = Number(process.env.PORT ?? 8080);
const mode = process.env.MODE;
const BAD = ['awful', 'stupid'];
const HAPPY = ['great', 'love', 'wonderful'];

createServer((req, res) => {
  const chunks = [];
  req.on('data', (c) => chunks.push(c));
  req.on('end', () => {
    const raw = Buffer.concat(chunks).toString('utf8');
    const words = String(JSON.parse(raw || '{}').reviewText ?? '')
      .toLowerCase()
      .split(/\W+/);
    const headers = { 'content-type': 'application/json' };
    for (const [k, v] of Object.entries(req.headers)) if (k.startsWith('ce-')) headers[k] = v;
    if (mode === 'bad-words') headers['ce-badwordfilter'] = words.some((w) => BAD.includes(w)) ? 'bad' : 'good';
    else {
      headers['ce-sentimentresult'] = words.some((w) => HAPPY.includes(w)) ? 'positive' : 'neutral';
      headers['ce-type'] = 'moderated-comment';
    }
    console.log(`${process.env.K_SERVICE}: ${mode === 'bad-words' ? `badwordfilter ${headers['ce-badwordfilter']}` : `sentimentresult ${headers['ce-sentimentresult']}`}`);
    res.writeHead(200, headers).end(raw);
  });
}).listen(port, () => console.log(`${process.env.K_SERVICE} listening on ${port}`));
