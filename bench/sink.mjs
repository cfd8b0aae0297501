// Benchmark subscriber, run as its own process: answers 202 at once and measures end-to-end latency from the
// `ce-benchts` header (send time, ms since epoch with fractions, set by the load generator on the same machine), or
// the `benchts` attribute of a structured-mode event (as an EventTransform forwards it).
// Commands arrive over IPC: {cmd:'reset'} (with `prefix`: until the next reset only events whose id starts with it are
// counted; the others, late deliveries of an earlier phase, are answered and counted apart as `foreign`),
// {cmd:'stats'} → {count, distinct, foreign, firstAt, lastAt, latencies summary},
// {cmd:'ids'} → {ids: [...distinct ce-ids]}, {cmd:'record'} then {cmd:'times'} → {times: [[ce-id, arrival]...]}, {cmd:'heal'} (a `hang` or `slow` sink starts answering at once).
// Arguments: `hang` (never answer), `slow=MS` (answer after MS), `port=N` (listen on N instead of a free port).
import { createServer } from 'node:http';

let latencies = [];
let count = 0;
let firstAt = 0;
let lastAt = 0;
const origin = performance.timeOrigin;
// `node sink.mjs hang`: a dead subscriber that accepts connections and never answers (for backlog measurements).
const args = process.argv.slice(2);
let hang = args.includes('hang');
let slowMs = Number(args.find((a) => a.startsWith('slow='))?.slice(5) ?? 0);
const port = Number(args.find((a) => a.startsWith('port='))?.slice(5) ?? 0);
let ids = new Set();
/** Only events whose id starts with this are counted (set by {cmd:'reset', prefix}); `foreign` counts the others. */
let prefix = '';
let foreign = 0;
/** With {cmd:'record'}: [ce-id, arrival time] of each event until the next reset ({cmd:'times'} returns them). */
let times;

const server = createServer((req, res) => {
  const structured = String(req.headers['content-type'] ?? '').startsWith('application/cloudevents+json');
  const chunks = [];
  req.on('data', (c) => {
    if (structured) chunks.push(c);
  });
  req.on('end', () => {
    if (hang) {
      count++;
      return;
    }
    const answer = () => {
      const now = origin + performance.now();
      let ts = Number(req.headers['ce-benchts']);
      let id = req.headers['ce-id'];
      if (structured) {
        try {
          const event = JSON.parse(Buffer.concat(chunks).toString());
          ts = Number(event.benchts);
          id = event.id;
        } catch {
          ts = NaN;
        }
      }
      if (prefix !== '' && !String(id).startsWith(prefix)) {
        foreign++;
        res.writeHead(202, { 'content-length': 0 });
        res.end();
        return;
      }
      if (count === 0) firstAt = now;
      lastAt = now;
      count++;
      if (ids.size < 5_000_000) ids.add(id);
      if (Number.isFinite(ts) && latencies.length < 2_000_000) latencies.push(now - ts);
      if (times && times.length < 2_000_000) times.push([id, now]);
      res.writeHead(202, { 'content-length': 0 });
      res.end();
    };
    if (slowMs > 0) setTimeout(answer, slowMs);
    else answer();
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
    ids = new Set();
    times = undefined;
    prefix = m.prefix ?? '';
    foreign = 0;
    process.send({ ok: true });
  } else if (m.cmd === 'record') {
    times = [];
    process.send({ ok: true });
  } else if (m.cmd === 'times') {
    process.send({ times: times ?? [] });
  } else if (m.cmd === 'stats') {
    const sorted = Float64Array.from(latencies).sort();
    process.send({ count, distinct: ids.size, foreign, firstAt, lastAt, p50: pct(sorted, 50), p99: pct(sorted, 99), p999: pct(sorted, 99.9), max: sorted[sorted.length - 1] ?? NaN });
  } else if (m.cmd === 'ids') {
    process.send({ ids: [...ids] });
  } else if (m.cmd === 'heal') {
    hang = false;
    slowMs = 0;
    process.send({ ok: true });
  }
});

server.listen(port, '127.0.0.1', () => process.send({ port: server.address().port }));
