// For tests that drive SluiceRuntime in process (live-reconfiguration, workloads-reload): configurations written to
// files and loaded as `sluice run` loads them, with the checks the test's components need.
import assert from 'node:assert/strict';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { loadConfig, type SemanticCheck, type SluiceConfig } from '@sluice/config';

/** A loader of configurations from YAML text: each is written to its own file in `dir` and must load without errors. */
export function configLoader(dir: string, checks: readonly SemanticCheck[]): (yaml: string) => SluiceConfig {
  let n = 0;
  return (yaml) => {
    const file = join(dir, `c${n++}.yaml`);
    writeFileSync(file, yaml);
    const r = loadConfig([file], { checks: [...checks], strict: false });
    assert.deepEqual(
      r.errors.map((e) => e.message),
      [],
    );
    return r.config;
  };
}
