// Runs every case of the official CESQL v1.0.0 TCK (vendor/cesql-tck/ beside this file, vendored unchanged)
// against compileCesql: one test per case, named `<file> > <case name>`.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readdirSync, readFileSync } from 'node:fs';
import { isMap, isScalar, isSeq, parse, parseDocument } from 'yaml';
import { CesqlError, compileCesql, type CesqlEvent, type CesqlValue } from '../src/cesql/index.js';

interface TckCase {
  name: unknown; // `TRUE`, `true`, … are YAML booleans: see sourceText()
  expression: unknown; // some are YAML scalars (TRUE, 0, -10), see sourceText()
  result?: CesqlValue;
  error?: string;
  event?: Record<string, unknown>;
  eventOverrides?: Record<string, unknown>;
}

interface TckFile {
  name: string;
  tests: TckCase[];
}

const TCK_DIR = new URL('./vendor/cesql-tck/', import.meta.url);

// Any valid event without the `myext` and `missing` extensions the missing-attribute cases rely on.
const DEFAULT_EVENT: CesqlEvent = { specversion: '1.0', id: 'tck-id', source: 'https://tck.example/source', type: 'tck.default' };

// Divergences from the vendored expectations, each justified against the spec text.
const OVERRIDES: Readonly<Record<string, { result: CesqlValue; error?: string }>> = {
  // Stale upstream case: it predates the cast matrix of spec §3.7, where Integer → Boolean is a MUST-support cast
  // (0 → false, anything else → true), so `NOT 10` is `NOT TRUE` = false with no error. sdk-go's copy of this file
  // (sql/v2/test/tck/not_operator.yaml) was corrected the same way.
  'not_operator.yaml > Invalid int cast': { result: false },
};

// Names and expressions that YAML reads as booleans or numbers (`TRUE`, `False`, `-10`) are used as written:
// `String(false)` would turn the case-sensitivity case `FALSE` into `false` and give two tests the same name.
function sourceTexts(yamlText: string, key: string): (string | undefined)[] {
  const tests = parseDocument(yamlText, { schema: 'core' }).get('tests', true);
  assert.ok(isSeq(tests));
  return tests.items.map((item) => {
    const node = isMap(item) ? item.get(key, true) : undefined;
    return isScalar(node) ? node.source : undefined;
  });
}

function sourceText(parsed: unknown, source: string | undefined): string {
  return typeof parsed === 'string' ? parsed : (source ?? String(parsed));
}

function toAttributes(source: Record<string, unknown>, where: string): Record<string, string | number | boolean> {
  const out: Record<string, string | number | boolean> = {};
  for (const [k, v] of Object.entries(source)) {
    // The core schema keeps timestamps as strings; anything else non-primitive would be a harness bug.
    assert.ok(typeof v === 'string' || typeof v === 'number' || typeof v === 'boolean', `${where}: attribute ${k} is ${typeof v}`);
    out[k] = v;
  }
  return out;
}

function inputEvent(c: TckCase, where: string): CesqlEvent {
  const base = c.event === undefined ? { ...DEFAULT_EVENT } : toAttributes(c.event, where);
  return { ...base, ...(c.eventOverrides === undefined ? {} : toAttributes(c.eventOverrides, where)) };
}

const files = readdirSync(TCK_DIR)
  .filter((f) => f.endsWith('.yaml'))
  .sort();
let total = 0;
const titles = new Set<string>();

for (const file of files) {
  const text = readFileSync(new URL(file, TCK_DIR), 'utf8');
  const suite = parse(text, { schema: 'core' }) as TckFile;
  const names = sourceTexts(text, 'name');
  const expressions = sourceTexts(text, 'expression');
  suite.tests.forEach((c, i) => {
    total += 1;
    const title = `${file} > ${sourceText(c.name, names[i])}`;
    titles.add(title);
    const expression = sourceText(c.expression, expressions[i]);
    test(title, () => {
      const expected = OVERRIDES[title] ?? { result: c.result, error: c.error };

      if (expected.error === 'parse' || expected.error === 'missingFunction') {
        // Both are detected while compiling (parse errors per the reference harness; function dispatch because
        // spec §3.3 says checks SHOULD happen at compile time when possible), so there is no program and no value:
        // a filter using such an expression is rejected when it is created.
        assert.throws(
          () => compileCesql(expression),
          (err: unknown) => {
            assert.ok(err instanceof CesqlError, `expected a CesqlError, got ${String(err)}`);
            assert.equal(err.kind, expected.error);
            assert.equal(typeof err.position, 'number');
            return true;
          },
        );
        return;
      }

      const program = compileCesql(expression);
      const event = inputEvent(c, title);
      const { value, errors } = program.evaluate(event);
      assert.deepEqual(
        errors.map((e) => e.kind),
        expected.error === undefined ? [] : [expected.error],
        `errors: ${errors.map((e) => e.message).join('; ')}`,
      );
      assert.strictEqual(value, expected.result);
      assert.equal(program.matches(event), value === true && errors.length === 0);
    });
  });
}

test('TCK inventory: all 18 files and 275 uniquely named cases are loaded; every override names a case', () => {
  assert.equal(files.length, 18);
  assert.equal(total, 275);
  assert.equal(titles.size, 275);
  for (const title of Object.keys(OVERRIDES)) assert.ok(titles.has(title), `override for unknown case ${title}`);
});
