// A workload bound by a SinkBinding: it knows nothing of where events go and reads K_SINK (and K_CE_OVERRIDES), which
// the SinkBinding injects. Sends one heartbeat every $PERIOD seconds.
import { randomUUID } from 'node:crypto';

const sink = process.env.K_SINK;
if (!sink) {
  console.error('K_SINK is not set: is this workload bound by a SinkBinding?');
  process.exit(1);
}
const extensions = process.env.K_CE_OVERRIDES ? (JSON.parse(process.env.K_CE_OVERRIDES).extensions ?? {}) : {};
const period = Number(process.env.PERIOD ?? 5) * 1000;
let n = 0;

async function beat() {
  n++;
  const headers = {
    'ce-specversion': '1.0',
    'ce-id': randomUUID(),
    'ce-type': 'dev.sluice.samples.heartbeat',
    'ce-source': `examples/apps/sinkbinding/${process.env.HOSTNAME_LABEL ?? 'heartbeat'}`,
    'content-type': 'application/json',
  };
  for (const [k, v] of Object.entries(extensions)) headers[`ce-${k}`] = String(v);
  try {
    const res = await fetch(sink, { method: 'POST', headers, body: JSON.stringify({ beat: n }) });
    console.log(`heartbeat ${n} sent: ${res.status}`);
  } catch (err) {
    console.log(`heartbeat ${n} failed: ${err.message}`);
  }
}

void beat();
setInterval(beat, period);
