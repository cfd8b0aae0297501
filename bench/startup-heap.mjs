// Bench-only preload of bench/startup.mjs (`--expose-gc --import ./bench/startup-heap.mjs` through NODE_OPTIONS):
// on SIGUSR2 the process collects garbage twice and writes what is left to $SLUICE_BENCH_HEAP_FILE (JSON, bytes): the
// heap used, V8's old space used, and the resident set. What a full collection leaves is what every later mark-compact
// marks again. Nothing of it is in Sluice itself.
import { writeFileSync } from 'node:fs';
import { getHeapSpaceStatistics } from 'node:v8';

const file = process.env.SLUICE_BENCH_HEAP_FILE;
if (file && typeof globalThis.gc === 'function') {
  process.on('SIGUSR2', () => {
    globalThis.gc();
    globalThis.gc();
    const old = getHeapSpaceStatistics().find((s) => s.space_name === 'old_space');
    const { heapUsed, rss } = process.memoryUsage();
    writeFileSync(file, JSON.stringify({ heapUsed, oldSpaceUsed: old?.space_used_size ?? NaN, rss }));
  });
}
