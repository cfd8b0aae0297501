#!/usr/bin/env node
// The services of the Knative docs' Sequence and Parallel examples, as one dependency-free HTTP server, so that
// `sequence.yaml` and `parallel.yaml` run unchanged (their `Service` refs resolve through
// `--service-url-template 'http://127.0.0.1:9000/{name}'`):
//
//   /first /second /third                appender: adds " - Handled by <0|1|2>" to data.message and replies
//   /even-filter /odd-filter             reply with the event unchanged when data.value is even / odd; otherwise
//                                        202 with no body (the Parallel branch drops the event)
//   /even-transformer /odd-transformer   reply with data {"message": "we are even!"} / {"message": "this is odd!"}
//   /event-display                       prints every event as one JSON line on stdout, answers 202
//
// PORT: listening port (default 9000). Events arrive in HTTP binary mode (Sluice's default) or structured mode.
import { createServer } from 'node:http';

const port = Number(process.env.PORT ?? '9000');

function decode(req, body) {
  const contentType = req.headers['content-type'] ?? '';
  if (contentType.startsWith('application/cloudevents+json')) {
    const { data, data_base64: b64, ...attributes } = JSON.parse(body.toString());
    return { attributes, data: b64 !== undefined ? Buffer.from(b64, 'base64').toString() : typeof data === 'string' ? data : JSON.stringify(data) };
  }
  const attributes = {};
  for (const [name, value] of Object.entries(req.headers)) {
    if (name.startsWith('ce-')) attributes[name.slice(3)] = decodeURIComponent(String(value));
  }
  if (contentType) attributes.datacontenttype = contentType;
  return { attributes, data: body.toString() };
}

function reply(res, attributes, data) {
  const headers = { 'content-type': 'application/json' };
  for (const [name, value] of Object.entries(attributes)) {
    if (name !== 'datacontenttype') headers[`ce-${name}`] = encodeURIComponent(String(value));
  }
  res.writeHead(200, headers).end(JSON.stringify(data));
}

function json(text) {
  try {
    return JSON.parse(text);
  } catch {
    return {};
  }
}

const appenders = { first: 0, second: 1, third: 2 };

const server = createServer((req, res) => {
  const chunks = [];
  req.on('data', (c) => chunks.push(c));
  req.on('end', () => {
    const name = (req.url ?? '/').split('?')[0].replace(/^\/+|\/+$/g, '');
    let event;
    try {
      event = decode(req, Buffer.concat(chunks));
    } catch {
      res.writeHead(400).end('not a CloudEvent');
      return;
    }
    const data = json(event.data);
    if (name in appenders) {
      reply(res, event.attributes, { ...data, message: `${data.message ?? ''} - Handled by ${appenders[name]}` });
    } else if (name === 'even-filter' || name === 'odd-filter') {
      const even = Number(data.value) % 2 === 0;
      if (even === (name === 'even-filter')) reply(res, event.attributes, data);
      else res.writeHead(202).end();
    } else if (name === 'even-transformer' || name === 'odd-transformer') {
      reply(res, event.attributes, { message: name === 'even-transformer' ? 'we are even!' : 'this is odd!', value: data.value });
    } else if (name === 'event-display') {
      console.log(JSON.stringify({ display: event.attributes, data: json(event.data) }));
      res.writeHead(202).end();
    } else {
      res.writeHead(404).end(`no service ${name}`);
    }
  });
});
server.listen(port, '127.0.0.1', () => console.log(`services listening on http://127.0.0.1:${server.address().port}`));
const stop = () => server.close(() => process.exit(0));
process.on('SIGTERM', stop);
process.on('SIGINT', stop);
