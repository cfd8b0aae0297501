// Bench-only preload (`node --import ./bench/cpu-profile.mjs`, passed to the Sluice process through NODE_OPTIONS):
// a profile of one phase. A SIGUSR2 starts V8's sampling profiler (node:inspector, in process), the next SIGUSR2 stops
// it and writes the profile to $SLUICE_BENCH_CPU_PROF_FILE. Unlike `--cpu-prof`, the profile holds only the bracketed
// phase, not start-up and shutdown. Without the variable the preload does nothing; nothing of it is in Sluice itself.
//
// SLUICE_BENCH_PROF_KIND=cpu (default): the CPU profiler, 100 µs sampling (.cpuprofile JSON, the format of `--cpu-prof`
// and Chrome DevTools). SLUICE_BENCH_PROF_KIND=alloc: the sampling heap profiler, keeping the samples of objects the
// collector has freed since (.heapprofile JSON): every byte allocated in the phase, by the stack that allocated it,
// not only what is still alive. V8 scales each sample by its odds of being drawn, so the sizes estimate bytes.
// SLUICE_BENCH_PROF_KIND=survivors: the same, keeping only what no scavenge freed: what outlived the young generation
// (promoted, whether a mark-compact freed it later or not), by the stack that allocated it.
import { writeFileSync } from 'node:fs';
import { Session } from 'node:inspector';

const file = process.env.SLUICE_BENCH_CPU_PROF_FILE;
const kind = process.env.SLUICE_BENCH_PROF_KIND ?? 'cpu';
const alloc = kind === 'alloc' || kind === 'survivors';
if (file) {
  const session = new Session();
  session.connect();
  const post = (method, params = {}) => new Promise((resolve, reject) => session.post(method, params, (err, r) => (err ? reject(err) : resolve(r))));
  const start = alloc
    ? // A sample every 4 KiB on average: a few hundred thousand per phase, enough to rank stacks of a few bytes per event.
      () =>
        post('HeapProfiler.enable').then(() =>
          post('HeapProfiler.startSampling', { samplingInterval: 4096, includeObjectsCollectedByMajorGC: true, includeObjectsCollectedByMinorGC: kind === 'alloc' }),
        )
    : // 100 µs sampling: about 10,000 samples per CPU second, enough to rank frames of a few µs per event.
      () =>
        post('Profiler.enable')
          .then(() => post('Profiler.setSamplingInterval', { interval: 100 }))
          .then(() => post('Profiler.start'));
  const stop = alloc ? () => post('HeapProfiler.stopSampling') : () => post('Profiler.stop');
  let running = false;
  process.on('SIGUSR2', () => {
    running = !running;
    if (running) start().then(() => writeFileSync(`${file}.started`, ''));
    else stop().then(({ profile }) => writeFileSync(file, JSON.stringify(profile)));
  });
}
