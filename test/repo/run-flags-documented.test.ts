// Every flag of `sluice run` and its environment variable, as `sluice run --help` prints them, is in the table of
// docs/operations.md: the page an operator reads to configure a service is complete.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { ROOT, SLUICE_BIN } from '@sluice/testing';

test('docs/operations.md lists every sluice run flag with its environment variable', () => {
  const help = execFileSync(process.execPath, [SLUICE_BIN, 'run', '--help'], { encoding: 'utf8' }).replace(/\s+/g, ' ');
  const page = readFileSync(join(ROOT, 'docs/operations.md'), 'utf8');
  const flags = [...help.matchAll(/(?:^|[ ,])(--[a-z][a-z-]*)(?= <| ?\(|,| [A-Za-z])/g)].map((m) => m[1]!).filter((f) => f !== '--help');
  assert.ok(flags.includes('--port') && flags.includes('--watch'), `flags read from the help: ${flags.join(' ')}`);
  const missingFlags = [...new Set(flags)].filter((f) => !page.includes(`\`${f}`));
  assert.deepEqual(missingFlags, [], 'flags of sluice run not in docs/operations.md');
  const envs = [...help.matchAll(/env: (SLUICE_[A-Z_]+)/g)].map((m) => m[1]!);
  assert.ok(envs.length >= flags.length / 2, `variables read from the help: ${envs.join(' ')}`);
  const missingEnvs = envs.filter((e) => !page.includes(`\`${e}\``));
  assert.deepEqual(missingEnvs, [], 'environment variables of sluice run not in docs/operations.md');
});
