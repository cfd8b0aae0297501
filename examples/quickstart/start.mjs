#!/usr/bin/env node
// `npm start`: runs the quickstart — `sluice event-display` on :8081 and `sluice run` on :8080 with the embedded
// store in .sluice/ — and stops both on Ctrl-C. Both read the same environment variables as always
// (SLUICE_PORT, SLUICE_HOST, SLUICE_DATA_DIR, SLUICE_ADMIN_PORT, SLUICE_LOG_LEVEL, … see docs/operations.md), and
// SLUICE_DISPLAY_PORT moves the event display together with the trigger that points at it.
import { spawn } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = fileURLToPath(new URL('../..', import.meta.url));
const bin = `${root}packages/cli/dist/bin.js`;
const displayPort = process.env.SLUICE_DISPLAY_PORT ?? '8081';
let config = fileURLToPath(new URL('./sluice.yaml', import.meta.url));
let tempConfigDir;
if (displayPort !== '8081') {
  // The trigger's subscriber follows the display: same file with the display's address replaced.
  tempConfigDir = mkdtempSync(join(tmpdir(), 'sluice-quickstart-'));
  const text = readFileSync(config, 'utf8').replaceAll('http://127.0.0.1:8081/', `http://127.0.0.1:${displayPort}/`);
  config = join(tempConfigDir, 'sluice.yaml');
  writeFileSync(config, text);
}
const env = {
  ...process.env,
  SLUICE_DISPLAY_PORT: displayPort,
  SLUICE_DATA_DIR: process.env.SLUICE_DATA_DIR ?? `${root}.sluice`,
};

const children = [
  spawn(process.execPath, [bin, 'event-display'], { stdio: 'inherit', env }),
  // --watch: an edit saved in the quickstart's file is applied live, so the README's "edit the YAML" shows at once.
  spawn(process.execPath, [bin, 'run', '-f', config, ...(tempConfigDir ? [] : ['--watch'])], { stdio: 'inherit', env }),
];
const server = process.env.SLUICE_PORT && process.env.SLUICE_PORT !== '8080' ? ` --server http://127.0.0.1:${process.env.SLUICE_PORT}` : '';
console.log(`quickstart: send an event with
  npx sluice send --to broker:default --type dev.sluice.hello --source /me --data '{"msg":"hi"}'${server}
press Ctrl-C to stop`);

let exiting = false;
const stop = () => {
  if (exiting) return;
  exiting = true;
  for (const c of children) if (c.exitCode === null) c.kill('SIGTERM');
};
process.on('SIGINT', stop);
process.on('SIGTERM', stop);
let running = children.length;
for (const c of children) {
  c.on('exit', (code) => {
    if (!exiting && code !== 0) {
      console.error(`quickstart: a process exited with ${code}; stopping`);
      process.exitCode = code ?? 1;
    }
    stop();
    if (--running === 0 && tempConfigDir) rmSync(tempConfigDir, { recursive: true, force: true });
  });
}
