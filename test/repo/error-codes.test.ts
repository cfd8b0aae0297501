// docs/errors.md is checked against the one table of error codes (ERROR_CODES in @sluice/core): every code is
// described with the HTTP status the table gives it, the page names no code the table lacks, and every `SLUICE_…`
// string in the packages' sources is either a code of the table or the name of an environment variable.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readdirSync, readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { ERROR_CODES, errorStatus, isErrorCode, type ErrorCodeInfo } from '@sluice/core';

const root = new URL('../../', import.meta.url).pathname;

interface DocRow {
  readonly line: number;
  readonly codes: readonly string[];
  readonly status: number | undefined;
}

/** The rows of the page's tables: the codes in the first cell and its `[status]`, if any. */
function docRows(): DocRow[] {
  const rows: DocRow[] = [];
  readFileSync(join(root, 'docs/errors.md'), 'utf8')
    .split('\n')
    .forEach((text, i) => {
      const first = /^\|([^|]*)\|/.exec(text)?.[1];
      if (first === undefined) return;
      const codes = [...first.matchAll(/`(SLUICE_[A-Z0-9_*]*)`/g)].map((m) => m[1]!);
      if (codes.length === 0) return;
      const status = /\[(\d{3})\]/.exec(first)?.[1];
      rows.push({ line: i + 1, codes, status: status === undefined ? undefined : Number(status) });
    });
  return rows;
}

test('docs/errors.md describes every code of ERROR_CODES with its HTTP status, and no other code', () => {
  const rows = docRows();
  const problems: string[] = [];
  for (const [code, info] of Object.entries(ERROR_CODES) as [string, ErrorCodeInfo][]) {
    const where = rows.filter((r) => r.codes.includes(code));
    if (where.length === 0) problems.push(`${code} is not described`);
    for (const r of where) {
      if (r.status !== info.status) problems.push(`errors.md:${r.line}: ${code} is shown [${r.status ?? 'no status'}], ERROR_CODES has ${info.status ?? 'no status'}`);
    }
  }
  for (const r of rows) {
    for (const code of r.codes) if (!isErrorCode(code)) problems.push(`errors.md:${r.line}: ${code} is not in ERROR_CODES`);
  }
  assert.deepEqual(problems, []);
  assert.ok(rows.length > 50, `the page's tables were read (${rows.length} rows)`);
});

test('a code without a status answers 500 if it ever reaches an HTTP client; one with a status answers that', () => {
  assert.equal(errorStatus('SLUICE_CONFIG_YAML'), 500);
  assert.equal(errorStatus('SLUICE_STORE_BACKLOG_FULL'), 429);
  for (const info of Object.values(ERROR_CODES) as ErrorCodeInfo[]) {
    if (info.status !== undefined) assert.ok(info.status >= 400 && info.status < 600, `status ${info.status}`);
  }
});

/** Source files of the product (not the test support package, whose SLUICE_ names are the test runner's variables). */
function sourceFiles(): string[] {
  const out: string[] = [];
  const walk = (dir: string): void => {
    for (const name of readdirSync(dir)) {
      const path = join(dir, name);
      if (statSync(path).isDirectory()) walk(path);
      else if (/\.tsx?$/.test(name)) out.push(path);
    }
  };
  for (const pkg of readdirSync(join(root, 'packages'))) {
    if (pkg === 'testing') continue;
    const src = join(root, 'packages', pkg, 'src');
    try {
      walk(src);
    } catch {
      // a package without src
    }
  }
  return out;
}

test('every SLUICE_… string in the packages is a code of ERROR_CODES or an environment variable', () => {
  const files = sourceFiles().map((f) => ({ f, text: readFileSync(f, 'utf8') }));
  const all = files.map((x) => x.text).join('\n');
  // Names read from the environment: `.env('X')` (commander), `env['X']` / `env.X`, or a constant `…_ENV = 'X'`.
  const envNames = new Set([...all.matchAll(/(?:\.env\(\s*|env\[\s*|env\.|_ENV\w* = )['"]?(SLUICE_[A-Z0-9_]+)/g)].map((m) => m[1]!));
  const unknown: string[] = [];
  for (const { f, text } of files) {
    for (const m of text.matchAll(/['"`](SLUICE_[A-Z0-9_]+)['"`]/g)) {
      const name = m[1]!;
      if (!isErrorCode(name) && !envNames.has(name)) unknown.push(`${f.slice(root.length)}: ${name}`);
    }
  }
  assert.deepEqual(unknown, []);
  assert.ok(envNames.has('SLUICE_PORT'), 'environment variables were found');
});
