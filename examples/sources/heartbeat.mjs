#!/usr/bin/env node
// A ContainerSource / `sluice bind` workload written against Knative's container contract, with no dependencies:
// it POSTs a CloudEvent (HTTP binary mode) to $K_SINK every PERIOD seconds and sets the extensions of
// $K_CE_OVERRIDES on each one. The same script runs unchanged under Knative.
//
//   K_SINK            where to send (required)
//   K_CE_OVERRIDES    {"extensions":{"key":"value"}} (optional)
//   K_SINK_TIMEOUT    per-request timeout in seconds (optional; default 10)
//   PERIOD            seconds between events (default 1); COUNT: stop after that many (default: run forever)
//   NAMESPACE, NAME   used in the event source
//
// Data: {"id": <n>, "label": $LABEL, "pid": <this process's pid>}. The pid lets a test find (and kill) the process.
import { randomUUID } from 'node:crypto';

const sink = process.env.K_SINK;
if (!sink) {
  console.error('heartbeat: K_SINK is not set');
  process.exit(2);
}
let extensions = {};
if (process.env.K_CE_OVERRIDES) {
  try {
    extensions = JSON.parse(process.env.K_CE_OVERRIDES).extensions ?? {};
  } catch (err) {
    console.error(`heartbeat: K_CE_OVERRIDES is not valid JSON: ${err.message}`);
    process.exit(2);
  }
}
const periodMs = Number(process.env.PERIOD ?? '1') * 1000;
const count = process.env.COUNT === undefined ? Infinity : Number(process.env.COUNT);
const timeoutMs = Number(process.env.K_SINK_TIMEOUT ?? '10') * 1000;
const source = `heartbeat/${process.env.NAMESPACE ?? 'default'}/${process.env.NAME ?? 'heartbeat'}`;
const parent = process.ppid;

let sent = 0;
let failures = 0;
async function beat() {
  sent++;
  const headers = {
    'content-type': 'application/json',
    'ce-specversion': '1.0',
    'ce-id': randomUUID(),
    'ce-type': 'dev.sluice.samples.heartbeat',
    'ce-source': source,
    'ce-time': new Date().toISOString(),
  };
  // Overrides only set extensions; the CloudEvents core attributes above stay as they are.
  for (const [k, v] of Object.entries(extensions)) headers[`ce-${k.toLowerCase()}`] = String(v);
  const body = JSON.stringify({ id: sent, label: process.env.LABEL ?? 'heartbeat', pid: process.pid });
  try {
    const res = await fetch(sink, { method: 'POST', headers, body, signal: AbortSignal.timeout(timeoutMs) });
    await res.arrayBuffer();
    if (res.ok) failures = 0;
    else console.error(`heartbeat ${sent}: sink answered ${res.status}`);
    if (!res.ok) failures++;
  } catch (err) {
    failures++;
    console.error(`heartbeat ${sent}: ${err.message}`);
  }
  console.log(`heartbeat ${sent} sent`);
}

// Stop when the parent (Sluice) is gone, so a killed supervisor never leaves a heartbeat behind.
function parentGone() {
  return process.ppid !== parent;
}

process.on('SIGTERM', () => {
  console.log('heartbeat: SIGTERM, exiting');
  process.exit(0);
});

while (sent < count && !parentGone()) {
  await beat();
  if (sent < count) await new Promise((r) => setTimeout(r, periodMs));
}
process.exit(failures > 0 ? 1 : 0);
