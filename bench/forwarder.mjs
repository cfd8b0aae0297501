// The baselines: a bare Node HTTP forwarder (node:http in, undici out), no parsing, no storage. It answers 202 after
// forwarding, like a synchronous broker would. Its throughput is the practical ceiling for one event on this machine.
//
// `node forwarder.mjs URL durable=DIR`: the durable baseline. Each body is written to a log file in DIR and the file
// is fdatasynced before the 202 and before the event is forwarded, with the same group commit as Sluice's store
// (the bodies that arrive while one fdatasync runs are written together and share the next one; the write is
// synchronous, the fdatasync runs on libuv's thread pool). The log is 16 MiB, allocated and synced at start and
// overwritten in a circle, as SQLite reuses its write-ahead log after a checkpoint. So the difference between this
// and a durable Sluice is the cost of Sluice, and between this and the bare forwarder the cost of the disk.
import { closeSync, fdatasync, fsyncSync, openSync, writeSync } from 'node:fs';
import { createServer } from 'node:http';
import { join } from 'node:path';
import { Agent, request } from 'undici';

const target = process.argv[2];
const durableDir = process.argv.find((a) => a.startsWith('durable='))?.slice(8);
const dispatcher = new Agent({ connections: 128 });

const LOG_BYTES = 16 * 1024 * 1024;
let fd;
let offset = 0;
if (durableDir) {
  fd = openSync(join(durableDir, 'forwarder.log'), 'w+');
  const zeros = Buffer.alloc(1024 * 1024);
  for (let off = 0; off < LOG_BYTES; off += zeros.length) writeSync(fd, zeros, 0, zeros.length, off);
  fsyncSync(fd);
  process.on('exit', () => closeSync(fd));
}
/** Appends waiting for the next commit, and whether an fdatasync is running. */
let waiting = [];
let syncing = false;
let scheduled = false;

function commit() {
  const batch = waiting;
  waiting = [];
  syncing = true;
  const header = Buffer.alloc(8);
  const parts = [];
  for (const { body } of batch) {
    const h = Buffer.from(header);
    h.writeUInt32LE(body.length, 0);
    parts.push(h, body);
  }
  const buf = Buffer.concat(parts);
  if (offset + buf.length > LOG_BYTES) offset = 0;
  writeSync(fd, buf, 0, buf.length, offset);
  offset += buf.length;
  fdatasync(fd, (err) => {
    syncing = false;
    for (const w of batch) w.done(err);
    if (waiting.length > 0) commit();
  });
}

function durably(body, done) {
  waiting.push({ body, done });
  // Like the store: a commit gathers what arrived in this event-loop turn, unless an fdatasync is running (then the
  // next commit starts when it ends).
  if (!syncing && !scheduled) {
    scheduled = true;
    setImmediate(() => {
      scheduled = false;
      if (!syncing && waiting.length > 0) commit();
    });
  }
}

async function forward(headers, body) {
  const r = await request(target, { method: 'POST', headers, body, dispatcher });
  await r.body.dump();
}

const server = createServer((req, res) => {
  const chunks = [];
  req.on('data', (c) => chunks.push(c));
  req.on('end', () => {
    const headers = {};
    for (const [k, v] of Object.entries(req.headers)) if (k.startsWith('ce-') || k === 'content-type') headers[k] = v;
    const body = Buffer.concat(chunks);
    if (fd !== undefined) {
      durably(body, (err) => {
        if (err) return res.writeHead(503).end(String(err));
        res.writeHead(202, { 'content-length': 0 }).end();
        forward(headers, body).catch(() => {});
      });
      return;
    }
    forward(headers, body).then(
      () => res.writeHead(202, { 'content-length': 0 }).end(),
      (err) => res.writeHead(502).end(String(err)),
    );
  });
});
server.keepAliveTimeout = 60_000;
server.listen(0, '127.0.0.1', () => process.send({ port: server.address().port }));
