// CESQL evaluation throughput: compiled closures vs. the naive tree-walking reference interpreter, same AST, same
// events, same run. Needs the built engine: `npx tsc -b packages/core && node bench/cesql.mjs`.
// `run()` returns the rows for a bench driver; executed directly it prints a table.
import { pathToFileURL } from 'node:url';
import { compileAst, interpretCesql, parseCesql } from '../packages/core/dist/cesql/index.js';

const base = { specversion: '1.0', id: 'a1b2c3', source: 'https://shop.example/commerce/orders', type: 'order.created', time: '2024-05-01T10:00:00Z' };

// Each case alternates a matching and a non-matching event, as a filter sees both.
const CASES = [
  {
    expression: "source LIKE '%commerce%' AND type IN ('order.created','order.updated')",
    events: [base, { ...base, type: 'order.deleted' }],
  },
  {
    expression: "EXISTS myext AND myext = 'x'",
    events: [{ ...base, myext: 'x' }, base],
  },
  {
    expression: "CONCAT(type, '-', source) = 'a-b'",
    events: [{ ...base, type: 'a', source: 'b' }, base],
  },
  {
    expression: 'INT(myint) + 1 > 10',
    events: [
      { ...base, myint: '42' },
      { ...base, myint: 3 },
    ],
  },
];

// Runs `fn` over the events in batches until `durationMs` has passed; returns evaluations per second.
function measure(fn, events, durationMs) {
  const batch = 10_000;
  let sink = 0;
  for (let i = 0; i < 50_000; i++) if (fn(events[i & 1]).value === true) sink++; // warm-up (JIT)
  let count = 0;
  const start = process.hrtime.bigint();
  const budget = BigInt(Math.round(durationMs * 1e6));
  let elapsed;
  do {
    for (let i = 0; i < batch; i++) if (fn(events[i & 1]).value === true) sink++;
    count += batch;
    elapsed = process.hrtime.bigint() - start;
  } while (elapsed < budget);
  if (sink < 0) throw new Error('unreachable'); // keeps `sink` observable so the loop is not optimised away
  return count / (Number(elapsed) / 1e9);
}

/** Measures every case; returns `{ expression, compiledPerSec, naivePerSec, ratio }` rows. */
export async function run({ durationMs = 1000 } = {}) {
  const rows = [];
  for (const { expression, events } of CASES) {
    const ast = parseCesql(expression);
    const program = compileAst(ast);
    for (const event of events) {
      const a = program.evaluate(event);
      const b = interpretCesql(ast, event);
      if (a.value !== b.value || a.errors.length !== b.errors.length) {
        throw new Error(`compiled and naive disagree on ${expression}: ${a.value} vs ${b.value}`);
      }
    }
    const compiledPerSec = measure((e) => program.evaluate(e), events, durationMs);
    const naivePerSec = measure((e) => interpretCesql(ast, e), events, durationMs);
    rows.push({ expression, compiledPerSec, naivePerSec, ratio: compiledPerSec / naivePerSec });
  }
  return rows;
}

function format(rows) {
  const fmt = (n) => Math.round(n).toLocaleString('en-US');
  const table = [['expression', 'compiled ev/s', 'naive ev/s', 'ratio'], ...rows.map((r) => [r.expression, fmt(r.compiledPerSec), fmt(r.naivePerSec), `${r.ratio.toFixed(1)}x`])];
  const widths = table[0].map((_, c) => Math.max(...table.map((row) => row[c].length)));
  const line = (row) => `| ${row.map((cell, c) => (c === 0 ? cell.padEnd(widths[c]) : cell.padStart(widths[c]))).join(' | ')} |`;
  return [line(table[0]), `|${widths.map((w, c) => (c === 0 ? '-'.repeat(w + 2) : `${'-'.repeat(w + 1)}:`)).join('|')}|`, ...table.slice(1).map(line)].join('\n');
}

if (process.argv[1] !== undefined && import.meta.url === pathToFileURL(process.argv[1]).href) {
  console.log(`CESQL evaluate() throughput, Node ${process.version}, ~1 s per measurement\n`);
  console.log(format(await run()));
}
