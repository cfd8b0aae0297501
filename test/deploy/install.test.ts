// `npm pack` → `npm install -g` gives a working `sluice` command outside the repository: the packed tarball carries
// the built workspace packages and the schemas, npm installs the third-party dependencies (and builds better-sqlite3),
// and the installed command validates and runs a configuration that delivers an event.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync, spawn } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { ROOT, postEvent, startSubscriber, tempDir, waitFor } from '@sluice/testing';
import { broker, documents, trigger } from '../e2e/manifests.js';

test('a packed tarball installs globally as `sluice` and runs outside the repository', { timeout: 1_200_000 }, async () => {
  const dir = tempDir('sluice-install-');
  const subscriber = await startSubscriber();
  try {
    const tarball = execFileSync(process.execPath, [join(ROOT, 'scripts/pack.mjs'), '--out', join(dir.path, 'pack')], { encoding: 'utf8' }).trim();
    assert.match(tarball, /sluice-\d+\.\d+\.\d+\.tgz$/);
    const prefix = join(dir.path, 'global');
    execFileSync('npm', ['install', '-g', '--prefix', prefix, '--no-audit', '--no-fund', '--prefer-offline', '--allow-scripts=better-sqlite3,protobufjs', tarball], {
      cwd: dir.path,
      stdio: ['ignore', 'ignore', 'inherit'],
    });
    const sluice = join(prefix, 'bin', 'sluice');
    const work = join(dir.path, 'app');
    execFileSync('mkdir', ['-p', work]);
    const env = { ...process.env, PATH: `${join(prefix, 'bin')}:${process.env['PATH'] ?? ''}` };

    assert.match(execFileSync(sluice, ['--version'], { cwd: work, env, encoding: 'utf8' }), /^\d+\.\d+\.\d+/);
    writeFileSync(join(work, 'app.yaml'), documents(broker('default'), trigger('all', { broker: 'default', subscriber: subscriber.url })));
    assert.match(execFileSync(sluice, ['validate', '-f', 'app.yaml'], { cwd: work, env, encoding: 'utf8' }), /2 resources valid/);

    const child = spawn(sluice, ['run', '-f', 'app.yaml', '--port', '0', '--admin-port', '0', '--data-dir', join(work, 'data')], { cwd: work, env });
    let output = '';
    child.stdout.on('data', (d: Buffer) => (output += d.toString()));
    child.stderr.on('data', (d: Buffer) => (output += d.toString()));
    try {
      await waitFor(() => /sluice ready on (http:\/\/\S+)/.test(output), `the installed sluice to start:\n${output}`, 60_000);
      const base = /sluice ready on (http:\/\/[^\s)]+)/.exec(output)?.[1] ?? '';
      const r = await postEvent(`${base}/default/default`, { id: 'installed-1', source: '/install', type: 'dev.sluice.install' }, '{"ok":true}');
      assert.equal(r.status, 202, r.body);
      await subscriber.waitForCount(1);
      assert.equal(subscriber.received[0]?.event?.attributes['id'], 'installed-1');
      // The dashboard's assets ship in the package.
      const admin = /admin (http:\/\/[^\s)"]+)/.exec(output)?.[1] ?? '';
      const ui = await fetch(`${admin}/ui/`);
      assert.equal(ui.status, 200);
      assert.match(await ui.text(), /<div id="app">/);
    } finally {
      child.kill('SIGTERM');
      await new Promise((resolve) => child.once('exit', resolve));
    }
  } finally {
    await subscriber.close();
    dir.remove();
  }
});
