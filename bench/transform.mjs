// In-process cost of an EventTransform step: the event → JSON form, one JSONata evaluation (the `jsonata` package),
// and the result → validated CloudEvent → structured body, on the 1 KiB benchmark event. Async evaluation is awaited
// one at a time, as a request would.
import { decodeHttp, encodeStructured, eventToJson } from '../packages/core/dist/index.js';
import { TransformExpression, resultToEvent } from '../packages/transform/dist/index.js';

const body = Buffer.from(JSON.stringify({ data: 'x'.repeat(1000) }));
const headers = { 'ce-specversion': '1.0', 'ce-id': '1', 'ce-source': '/bench', 'ce-type': 'bench', 'content-type': 'application/json' };
const event = decodeHttp(headers, body)[0];

async function measure(fn, ms = 1000) {
  for (let i = 0; i < 2000; i++) await fn(); // warm-up: let the JIT settle before timing
  let n = 0;
  const end = performance.now() + ms;
  while (performance.now() < end) for (let i = 0; i < 50; i++, n++) await fn();
  return (n / ms) * 1000;
}

/** Expressions measured: the benchmark's reshape, and a larger object construction as in the docs' example. */
export const EXPRESSIONS = [
  '$merge([$, {"type": "bench.transformed", "size": $length(data.data)}])',
  '{"specversion": "1.0", "id": "s-" & id, "type": "bench.summary", "source": "/t", "data": {"n": $length(data.data), "head": $substring(data.data, 0, 10)}}',
];

export async function run() {
  const out = [];
  const codecOnly = await measure(() => encodeStructured(resultToEvent(eventToJson(event), 'x')));
  for (const expression of EXPRESSIONS) {
    const compiled = TransformExpression.compile(expression);
    const perSec = await measure(async () => encodeStructured(resultToEvent(await compiled.evaluate(eventToJson(event)), 'x')));
    out.push({ expression, perSec, codecOnlyPerSec: codecOnly, microsPerEvent: 1e6 / perSec });
  }
  return out;
}
