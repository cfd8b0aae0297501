// The repository stands alone: no tracked file may point at files beside the checkout (a clone on another machine
// would fail), nor cite documents that are not in the repository. The patterns are built from parts so that this
// file does not match itself.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { readdirSync, readFileSync, statSync } from 'node:fs';
import { join, relative } from 'node:path';

const root = new URL('../../', import.meta.url).pathname;

const FORBIDDEN: readonly { pattern: RegExp; why: string }[] = [
  { pattern: new RegExp(['\\.\\.', 'shared'].join('/')), why: 'a path to a folder beside the repository' },
  { pattern: new RegExp(['', 'work', 'shared', ''].join('/')), why: 'an absolute path on one team machine' },
  { pattern: new RegExp(['vendor', 'data'].join('-') + '/'), why: 'the unvendored location of test data' },
  { pattern: new RegExp(['\\bthe', 'brief\\b'].join(' '), 'i'), why: 'a document that is not in the repository' },
];

/** Tracked files when this is a git checkout; otherwise every file but dependencies and build output. */
function repositoryFiles(): string[] {
  try {
    const out = execFileSync('git', ['ls-files', '-z'], { cwd: root, encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'] });
    return out.split('\0').filter((f) => f !== '');
  } catch {
    const files: string[] = [];
    const walk = (dir: string): void => {
      for (const name of readdirSync(dir)) {
        if (name === 'node_modules' || name === 'dist' || name.startsWith('.')) continue;
        const path = join(dir, name);
        if (statSync(path).isDirectory()) walk(path);
        else files.push(relative(root, path));
      }
    };
    walk(root);
    return files;
  }
}

test('no file in the repository refers to files outside it', () => {
  const files = repositoryFiles();
  assert.ok(files.length > 100, `expected the repository's files, found ${files.length}`);
  const offences: string[] = [];
  for (const file of files) {
    let text: string;
    try {
      text = readFileSync(join(root, file), 'utf8');
    } catch {
      continue; // deleted in the working tree but still tracked
    }
    if (text.includes('\0')) continue; // binary
    text.split('\n').forEach((line, i) => {
      for (const { pattern, why } of FORBIDDEN) {
        if (pattern.test(line)) offences.push(`${file}:${i + 1}: ${why}: ${line.trim().slice(0, 120)}`);
      }
    });
  }
  assert.deepEqual(offences, []);
});

test('the CESQL TCK is vendored inside the repository with its licence and provenance', () => {
  const dir = join(root, 'packages/core/test/vendor/cesql-tck');
  const names = readdirSync(dir);
  assert.equal(names.filter((n) => n.endsWith('.yaml')).length, 18);
  assert.match(readFileSync(join(dir, 'LICENSE'), 'utf8'), /Apache License/);
  assert.match(readFileSync(join(dir, 'README.md'), 'utf8'), /commit `[0-9a-f]{40}`/);
});
