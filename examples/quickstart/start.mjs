#!/usr/bin/env node
// `npm start`: runs the quickstart — `sluice event-display` on :8081 and `sluice run` on :8080 with the embedded
// store in .sluice/ — and stops both on Ctrl-C. Ports: SLUICE_PORT, SLUICE_DISPLAY_PORT.
import { spawn } from 'node:child_process';
import { fileURLToPath } from 'node:url';

const root = fileURLToPath(new URL('../..', import.meta.url));
const bin = `${root}packages/cli/dist/bin.js`;
const port = process.env.SLUICE_PORT ?? '8080';
const displayPort = process.env.SLUICE_DISPLAY_PORT ?? '8081';
const config = fileURLToPath(new URL('./sluice.yaml', import.meta.url));

const children = [
  spawn(process.execPath, [bin, 'event-display', '--port', displayPort], { stdio: 'inherit' }),
  spawn(process.execPath, [bin, 'run', '-f', config, '--port', port, '--data-dir', `${root}.sluice`], { stdio: 'inherit' }),
];
console.log(`quickstart: send an event with
  npx sluice send --to broker:default --type dev.sluice.hello --source /me --data '{"msg":"hi"}'
press Ctrl-C to stop`);

let exiting = false;
const stop = () => {
  if (exiting) return;
  exiting = true;
  for (const c of children) if (c.exitCode === null) c.kill('SIGTERM');
};
process.on('SIGINT', stop);
process.on('SIGTERM', stop);
for (const c of children) {
  c.on('exit', (code) => {
    if (!exiting && code !== 0) {
      console.error(`quickstart: a process exited with ${code}; stopping`);
      process.exitCode = code ?? 1;
    }
    stop();
  });
}
