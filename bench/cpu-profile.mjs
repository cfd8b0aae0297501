// Bench-only preload (`node --import ./bench/cpu-profile.mjs`, passed to the Sluice process through NODE_OPTIONS):
// a CPU profile of one phase. A SIGUSR2 starts V8's sampling profiler (node:inspector, in process), the next
// SIGUSR2 stops it and writes the profile to $SLUICE_BENCH_CPU_PROF_FILE (.cpuprofile JSON, the format of `--cpu-prof`
// and Chrome DevTools). Unlike `--cpu-prof`, the profile holds only the bracketed phase, not start-up and shutdown.
// Without the variable the preload does nothing; nothing of it is in Sluice itself.
import { writeFileSync } from 'node:fs';
import { Session } from 'node:inspector';

const file = process.env.SLUICE_BENCH_CPU_PROF_FILE;
if (file) {
  const session = new Session();
  session.connect();
  const post = (method, params = {}) => new Promise((resolve, reject) => session.post(method, params, (err, r) => (err ? reject(err) : resolve(r))));
  let running = false;
  process.on('SIGUSR2', () => {
    if (!running) {
      running = true;
      // 100 µs sampling: about 10,000 samples per CPU second, enough to rank frames of a few µs per event.
      post('Profiler.enable')
        .then(() => post('Profiler.setSamplingInterval', { interval: 100 }))
        .then(() => post('Profiler.start'))
        .then(() => writeFileSync(`${file}.started`, ''));
      return;
    }
    running = false;
    post('Profiler.stop').then(({ profile }) => writeFileSync(file, JSON.stringify(profile)));
  });
}
