// The cashier: answers an order event with a receipt event (binary mode), which the Subscription sends on as its
// reply; an order without an item is refused with 400. Listens on $PORT (Knative's contract; Sluice sets it).
import { createServer } from 'node:http';
import { randomUUID } from 'node:crypto';

const port = Number(process.env.PORT ?? 8080);
const currency = process.env.CURRENCY ?? 'USD';

createServer((req, res) => {
  const chunks = [];
  req.on('data', (c) => chunks.push(c));
  req.on('end', () => {
    let order = {};
    try {
      order = JSON.parse(Buffer.concat(chunks).toString('utf8'));
    } catch {
      // not JSON: no item
    }
    console.log(`order ${req.headers['ce-id']}: ${order.item ?? '(no item)'}`);
    if (typeof order.item !== 'string') {
      res.writeHead(400, { 'content-type': 'text/plain' });
      res.end('an order needs an item');
      return;
    }
    res.writeHead(200, {
      'ce-specversion': '1.0',
      'ce-id': randomUUID(),
      'ce-type': 'dev.sluice.samples.receipt',
      'ce-source': 'examples/apps/channel-subscription/cashier',
      'ce-orderid': String(req.headers['ce-id']),
      'content-type': 'application/json',
    });
    res.end(JSON.stringify({ item: order.item, paid: `3.50 ${currency}` }));
  });
}).listen(port, () => console.log(`cashier listening on ${port}`));
