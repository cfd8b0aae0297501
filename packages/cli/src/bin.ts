#!/usr/bin/env node
// Only this import is static: a SIGHUP while the rest loads must not end the process (startup-signals.ts).
import { holdHangups } from './startup-signals.js';

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
