// Bench-only preload (`node --import ./bench/event-loop-delay.mjs`, passed to the Sluice process through NODE_OPTIONS):
// records the event-loop delay of the process it runs in with perf_hooks.monitorEventLoopDelay. SIGUSR2 writes the
// histogram recorded since the previous SIGUSR2 to $SLUICE_BENCH_ELD_FILE (JSON, milliseconds) and starts a new one,
// so the bench can bracket one phase. Nothing of it is in Sluice itself.
import { writeFileSync } from 'node:fs';
import { monitorEventLoopDelay } from 'node:perf_hooks';

const file = process.env.SLUICE_BENCH_ELD_FILE;
if (file) {
  let h = monitorEventLoopDelay({ resolution: 1 });
  h.enable();
  process.on('SIGUSR2', () => {
    h.disable();
    const ms = (ns) => ns / 1e6;
    const snapshot = { count: h.count, mean: ms(h.mean), p50: ms(h.percentile(50)), p99: ms(h.percentile(99)), p999: ms(h.percentile(99.9)), max: ms(h.max) };
    writeFileSync(file, JSON.stringify(snapshot));
    h = monitorEventLoopDelay({ resolution: 1 });
    h.enable();
  });
}
