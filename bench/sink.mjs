// Benchmark subscriber, run as its own process: answers 202 at once and measures end-to-end latency from the
// `ce-benchts` header (send time, ms since epoch with fractions, set by the load generator on the same machine).
// Commands arrive over IPC: {cmd:'reset'} and {cmd:'stats'} → {count, firstAt, lastAt, latencies summary}.
import { createServer } from 'node:http';

let latencies = [];
let count = 0;
let firstAt = 0;
let lastAt = 0;
const origin = performance.timeOrigin;
// `node sink.mjs hang`: a dead subscriber that accepts connections and never answers (for backlog measurements).
const hang = process.argv[2] === 'hang';

const server = createServer((req, res) => {
  req.on('data', () => {});
  req.on('end', () => {
    if (hang) {
      count++;
      return;
    }
    const now = origin + performance.now();
    const ts = Number(req.headers['ce-benchts']);
    if (count === 0) firstAt = now;
    lastAt = now;
    count++;
    if (Number.isFinite(ts) && latencies.length < 2_000_000) latencies.push(now - ts);
    res.writeHead(202, { 'content-length': 0 });
    res.end();
  });
});
server.keepAliveTimeout = 60_000;

function pct(sorted, p) {
  return sorted.length === 0 ? NaN : sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))];
}

process.on('message', (m) => {
  if (m.cmd === 'reset') {
    latencies = [];
    count = 0;
    firstAt = 0;
    lastAt = 0;
    process.send({ ok: true });
  } else if (m.cmd === 'stats') {
    const sorted = Float64Array.from(latencies).sort();
    process.send({ count, firstAt, lastAt, p50: pct(sorted, 50), p99: pct(sorted, 99), p999: pct(sorted, 99.9), max: sorted[sorted.length - 1] ?? NaN });
  }
});

server.listen(0, '127.0.0.1', () => process.send({ port: server.address().port }));
