#!/usr/bin/env node
// Only these imports are static: `sluice run` may first restart itself with a V8 flag (gc-mode.ts), and a SIGHUP
// while the rest loads must not end the process (startup-signals.ts).
import { relaunchForGc } from './gc-mode.js';
import { holdHangups } from './startup-signals.js';

relaunchForGc();
holdHangups();
const { main, fatalMessage } = await import('./main.js');

main(process.argv).then(
  (code) => {
    if (code !== undefined) process.exitCode = code;
  },
  (err: unknown) => {
    process.stderr.write(fatalMessage(err));
    process.exitCode = 1;
  },
);
