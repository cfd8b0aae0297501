#!/usr/bin/env node
// Packs Sluice as one installable npm package named `sluice`, the name of its command, so `npx sluice` runs this
// package and never somebody else's. Sluice's own workspace packages are not published on their own: esbuild bundles
// the built CLI and them into one module, and every third-party package stays an ordinary dependency that npm
// installs (better-sqlite3 builds or downloads its native module as usual). The JSON Schemas ship beside the bundle.
//
//   npm run build && node scripts/pack.mjs [--out DIR]      # prints the tarball's path
//   npm install -g ./sluice-<version>.tgz                    # then: sluice --version
import { execFileSync } from 'node:child_process';
import { chmodSync, cpSync, existsSync, mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { build } from 'esbuild';

const root = resolve(fileURLToPath(new URL('..', import.meta.url)));
const { values } = parseArgs({ options: { out: { type: 'string', default: join(root, '.cache', 'pack') } } });
const readJson = (file) => JSON.parse(readFileSync(file, 'utf8'));

const rootPkg = readJson(join(root, 'package.json'));
const workspaces = new Map(
  rootPkg.workspaces.map((dir) => {
    const pkg = readJson(join(root, dir, 'package.json'));
    return [pkg.name, pkg];
  }),
);
// The third-party dependencies of the CLI and of every workspace package it reaches (test support stays out).
const dependencies = {};
const seen = new Set();
const visit = (name) => {
  if (seen.has(name)) return;
  seen.add(name);
  for (const [dep, range] of Object.entries(workspaces.get(name)?.dependencies ?? {})) {
    if (workspaces.has(dep)) visit(dep);
    else dependencies[dep] = range;
  }
};
visit('@sluice/cli');
const entry = join(root, 'packages/cli/dist/bin.js');
if (!existsSync(entry)) throw new Error('packages/cli/dist/bin.js is missing: run `npm run build` first');

const stage = join(values.out, 'stage');
rmSync(stage, { recursive: true, force: true });
mkdirSync(stage, { recursive: true });
await build({
  entryPoints: [entry],
  outfile: join(stage, 'dist', 'sluice.js'),
  bundle: true,
  platform: 'node',
  format: 'esm',
  target: 'node20',
  external: Object.keys(dependencies).flatMap((name) => [name, `${name}/*`]),
  logLevel: 'warning',
});
chmodSync(join(stage, 'dist', 'sluice.js'), 0o755);
// Resolved relative to the bundle: the config package's `../schemas/`, the dashboard's `../assets/`.
cpSync(join(root, 'schemas'), join(stage, 'schemas'), { recursive: true });
cpSync(join(root, 'packages/dashboard/assets'), join(stage, 'assets'), { recursive: true });
for (const file of ['README.md', 'LICENSE']) if (existsSync(join(root, file))) cpSync(join(root, file), join(stage, file));

const manifest = {
  name: 'sluice',
  version: rootPkg.version,
  description: rootPkg.description,
  license: rootPkg.license,
  type: 'module',
  engines: rootPkg.engines,
  bin: { sluice: 'dist/sluice.js' },
  files: ['dist', 'schemas', 'assets', 'README.md', 'LICENSE'],
  dependencies: Object.fromEntries(Object.entries(dependencies).sort(([a], [b]) => a.localeCompare(b))),
};
writeFileSync(join(stage, 'package.json'), `${JSON.stringify(manifest, null, 2)}\n`);
const out = execFileSync('npm', ['pack', '--json', '--pack-destination', values.out], { cwd: stage, encoding: 'utf8' });
const [{ filename }] = JSON.parse(out);
process.stdout.write(`${join(values.out, filename)}\n`);
