// After `tsc -b`: make the CLI entry point executable, so `npx sluice` works on a fresh clone (tsc does not set modes).
import { chmodSync } from 'node:fs';

chmodSync(new URL('../packages/cli/dist/bin.js', import.meta.url), 0o755);
