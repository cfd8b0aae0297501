// CESQL engine tests beyond the TCK: positions, precedence, casts, LIKE, Integer edge cases, compile-once behaviour,
// and a cross-check of the compiled closures against the reference interpreter.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readdirSync, readFileSync } from 'node:fs';
import { parse } from 'yaml';
import { isSluiceError } from '../src/errors.js';
import { CesqlError, NO_ERRORS, compileAst, compileCesql, interpretCesql, parseCesql, type CesqlErrorKind, type CesqlEvent, type CesqlValue } from '../src/cesql/index.js';
import { compileNode } from '../src/cesql/compiler.js';
import { compileLikePattern, likeMatches, likeMatchesByTable } from '../src/cesql/like-pattern.js';

const EVENT: CesqlEvent = Object.freeze({
  specversion: '1.0',
  id: 'id-1',
  source: 'https://shop.example/commerce',
  type: 'order.created',
  myint: 10,
  mybool: true,
  mystr: 'abc',
  numstr: '42',
});

function run(expression: string, event: CesqlEvent = EVENT): { value: CesqlValue; errors: CesqlErrorKind[] } {
  const { value, errors } = compileCesql(expression).evaluate(event);
  return { value, errors: errors.map((e) => e.kind) };
}

function value(expression: string, event: CesqlEvent = EVENT): CesqlValue {
  const r = run(expression, event);
  assert.deepEqual(r.errors, [], `${expression}: unexpected errors`);
  return r.value;
}

function compileError(expression: string): CesqlError {
  try {
    compileCesql(expression);
  } catch (err) {
    assert.ok(err instanceof CesqlError, `${expression}: expected CesqlError, got ${String(err)}`);
    return err;
  }
  assert.fail(`${expression}: compiled without error`);
}

test('parse errors carry the offending position', () => {
  const cases: [string, number][] = [
    ['', 0],
    ['a @ b', 2],
    ["'abc", 0],
    ['"a\\"', 0],
    ['ABC(', 4],
    ['(1 + 2', 6],
    ['1 +', 3],
    ['1 2', 2],
    ['x LIKE 123', 7],
    ['x NOT', 2],
    ['EXISTS 1', 7],
    ['EXISTS AND', 7],
    ['2147483648', 0],
    ['1 + -2147483649', 4],
    ['a IN ()', 6],
    ['a IN 1', 5],
    ['CONCAT(1,)', 9],
    ['a_b', 0],
    ['fn1(2)', 0],
    ['TRUE(1)', 4],
    ['x ! y', 2],
  ];
  for (const [expression, position] of cases) {
    const err = compileError(expression);
    assert.equal(err.kind, 'parse', expression);
    assert.equal(err.position, position, `${expression}: ${err.message}`);
    assert.equal(err.code, 'SLUICE_CESQL_PARSE');
  }
});

test('unknown functions and wrong arities are rejected at compile time with the call position', () => {
  for (const [expression, position] of [
    ['FOO(1)', 0],
    ['1 + bar()', 4],
    ['CONCAT_WS()', 0],
    ['LENGTH()', 0],
    ['LENGTH(1, 2)', 0],
    ['SUBSTRING("a")', 0],
    ['SUBSTRING("a", 1, 2, 3)', 0],
    ['TRUE AND (FALSE OR abs(1, 2) = 1)', 19],
  ] as const) {
    const err = compileError(expression);
    assert.equal(err.kind, 'missingFunction', expression);
    assert.equal(err.code, 'SLUICE_CESQL_MISSING_FUNCTION');
    assert.equal(err.position, position, expression);
  }
  // Even in a branch that short-circuiting would never evaluate.
  assert.equal(compileError('FALSE AND NOPE(1)').kind, 'missingFunction');
  // Names are case-insensitive; overloads are by arity.
  assert.equal(value("length('abc') + Length('x')"), 4);
  assert.equal(value("substring('abcdef', 2) = SUBSTRING('abcdef', 2, 100)"), true);
});

test('CesqlError is a SluiceError with a stable code and no retry', () => {
  const err = compileError('(');
  assert.ok(isSluiceError(err, 'SLUICE_CESQL_PARSE'));
  assert.equal(err.retryable, false);
  assert.equal(err.name, 'CesqlError');
  const runtime = compileCesql('1 / 0').evaluate(EVENT).errors[0]!;
  assert.equal(runtime.code, 'SLUICE_CESQL_MATH');
  assert.equal(runtime.position, 2);
});

test('runtime errors point at the node that raised them', () => {
  const at = (expression: string): [CesqlErrorKind, number | undefined] => {
    const e = compileCesql(expression).evaluate(EVENT).errors[0]!;
    return [e.kind, e.position];
  };
  assert.deepEqual(at('1 + 5 % 0'), ['math', 6]);
  assert.deepEqual(at('  nope = 1'), ['missingAttribute', 2]);
  assert.deepEqual(at("1 + 'x'"), ['cast', 4]);
  assert.deepEqual(at('mystr = 3'), ['cast', 0]);
  assert.deepEqual(at("TRUE AND LEFT('a', -1) = ''"), ['functionEvaluation', 9]);
});

test('precedence follows the grammar: unary > LIKE > IN > * / % > + - > comparison > logic', () => {
  assert.equal(value('1 + 2 * 3'), 7);
  assert.equal(value('(1 + 2) * 3'), 9);
  assert.equal(value('10 - 4 - 3'), 3, 'left to right');
  assert.equal(value('100 / 10 / 5'), 2, 'left to right');
  assert.equal(value('1 + 2 = 3'), true);
  assert.equal(value('1 = 1 AND 2 < 3'), true);
  assert.equal(value('- 2 * 3'), -6);
  assert.equal(value('-myint + 1'), -9, 'unary minus binds tighter than +');
  // NOT binds tighter than comparisons: (NOT TRUE) = FALSE.
  assert.equal(value('NOT TRUE = FALSE'), true);
  assert.equal(value('NOT (TRUE = FALSE)'), true);
  assert.equal(value('NOT FALSE = FALSE'), false);
  // LIKE binds tighter than *: 2 * ('3' LIKE '3') = 2 * TRUE = 2.
  assert.equal(value("2 * 3 LIKE '3'"), 2);
  assert.equal(value("(2 * 3) LIKE '6'"), true);
  assert.equal(value('myint IN (10) = TRUE'), true);
  assert.equal(value('NOT EXISTS nope AND EXISTS id'), true);
  assert.equal(value("NOT mystr LIKE 'x'", { ...EVENT, mystr: 'false' }), false, '(NOT mystr) LIKE: "true" is not like "x"');
  assert.equal(value('TRUE XOR TRUE XOR TRUE'), true);
  assert.equal(value('FALSE OR FALSE OR TRUE'), true);
  assert.equal(value('4-1'), 3, 'a sign after an operand is subtraction');
  assert.equal(value('--10'), 10);
  assert.equal(value('-+5'), -5, '+5 is a signed literal');
});

test('mixing AND, OR and XOR without parentheses is rejected (spec text and grammar disagree on grouping)', () => {
  for (const expression of ['TRUE AND FALSE OR TRUE', 'TRUE OR FALSE AND FALSE', 'a XOR b AND c', 'x = 1 OR y = 2 AND z = 3']) {
    const err = compileError(expression);
    assert.equal(err.kind, 'parse', expression);
    assert.match(err.message, /parentheses/);
  }
  assert.equal(value('(TRUE AND FALSE) OR TRUE'), true);
  assert.equal(value('TRUE AND (FALSE OR TRUE)'), true);
  assert.equal(value('NOT (TRUE AND FALSE) OR FALSE'), true, 'NOT groups its operand, so one operator remains');
});

test('keywords, identifiers and function names are case-insensitive; string literals are not', () => {
  assert.equal(value('EXISTS ID and exists Source'), true);
  assert.equal(value("TYPE = 'order.created'"), true);
  assert.equal(value("Type = 'ORDER.CREATED'"), false);
  assert.equal(value("upper(mystr) Like 'A%'"), true);
  assert.equal(value('tRuE xOr FaLsE'), true);
});

test('string literals: both quote styles, escaped and doubled delimiters, other backslashes kept', () => {
  assert.equal(value(`'it\\'s'`), "it's");
  assert.equal(value(`"say \\"hi\\""`), 'say "hi"');
  assert.equal(value(`'it''s'`), "it's");
  assert.equal(value(`"a""b"`), 'a"b');
  assert.equal(value(`'a"b'`), 'a"b');
  assert.equal(value(`'a\\nb'`), 'a\\nb', 'no C escapes: backslash-n is two characters');
  assert.equal(value(`'\\\\'`), '\\\\', 'a backslash pair is kept verbatim, as in the ANTLR lexer');
  assert.equal(value(`''`), '');
  assert.equal(value(`'  spaced\ttab '`), '  spaced\ttab ');
});

test('whitespace: spaces, tabs and newlines separate tokens', () => {
  assert.equal(value('1\n+\t2\r\n=\n3'), true);
});

test('LIKE: wildcards, escapes, case and Unicode', () => {
  const like = (text: string, pattern: string): boolean => compileCesql(`s LIKE '${pattern}'`).evaluate({ s: text }).value as boolean;
  assert.equal(like('abc', 'abc'), true);
  assert.equal(like('ABC', 'abc'), false, 'case-sensitive');
  assert.equal(like('', '%'), true);
  assert.equal(like('', '_'), false);
  assert.equal(like('a\nb', 'a_b'), true, '_ matches a newline');
  assert.equal(like('line1\nline2', 'line1%2'), true, '% spans newlines');
  assert.equal(like('a%c', 'a\\%c'), true);
  assert.equal(like('abc', 'a\\%c'), false);
  assert.equal(like('a_c', 'a\\_c'), true);
  assert.equal(like('abc', 'a\\_c'), false);
  assert.equal(like('a\\c', 'a\\c'), true, 'a backslash before another character is literal');
  assert.equal(like('a\\\\', 'a\\\\'), true, 'a backslash pair reaches LIKE as two literal backslashes');
  // As in sdk-go, `\\%` is a literal backslash then an escaped %, so "backslash then wildcard" is not expressible.
  assert.equal(like('a\\%', 'a\\\\%'), true);
  assert.equal(like('a\\xyz', 'a\\\\%'), false);
  assert.equal(compileError("s LIKE 'a\\'").kind, 'parse', 'a final backslash escapes the closing quote');
  assert.equal(like('😀', '_'), true, '_ is one character, not one UTF-16 unit');
  assert.equal(like('x😀y', 'x_y'), true);
  assert.equal(like('😀😀', '_'), false);
  assert.equal(like('ab😀', '%_'), true);
  assert.equal(like('.*+?^${}()|[]', '.*+?^${}()|[]'), true, 'regex metacharacters are plain characters');
  assert.equal(like('abcabcabd', '%abc%abd'), true);
  assert.equal(like('abcbxd', 'a%b_d'), true);
  assert.equal(like('abcabd', 'a%b_d'), false, 'the part after the last % is anchored at the end');
  assert.equal(like('aXbYc', 'a_b_c'), true);
  assert.equal(like('commerce.order', '%commerce%'), true);
  assert.equal(compileCesql("'abc' NOT LIKE 'a%'").evaluate({}).value, false);
  assert.equal(value("myint LIKE '1_'"), true, 'the left operand is cast to String');
});

test('LIKE: compiled, interpreted and table-driven matchers agree on generated inputs', () => {
  let seed = 42;
  const rand = (n: number): number => {
    seed = (seed * 1103515245 + 12345) % 2147483648;
    return seed % n;
  };
  const textAlphabet = ['a', 'b', '%', '_', '\\', '😀', '\n'];
  const patternAlphabet = ['a', 'b', '%', '_', '\\', '\\%', '\\_', '😀'];
  for (let i = 0; i < 20000; i++) {
    const text = Array.from({ length: rand(8) }, () => textAlphabet[rand(textAlphabet.length)]).join('');
    const pattern = Array.from({ length: rand(6) }, () => patternAlphabet[rand(patternAlphabet.length)]).join('');
    const expected = likeMatchesByTable(text, pattern);
    const what = `${JSON.stringify(text)} LIKE ${JSON.stringify(pattern)}`;
    assert.equal(compileLikePattern(pattern)(text), expected, `compiled: ${what}`);
    assert.equal(likeMatches(text, pattern), expected, `interpreted: ${what}`);
  }
});

test('implicit casts follow spec §3.7', () => {
  assert.equal(value("'10' = 10"), true, 'Integer on the right: left cast to Integer');
  assert.equal(value("10 = '010'"), false, 'String on the right: left cast to String');
  assert.equal(value("'010' = 10"), true);
  assert.equal(value("TRUE = 'true'"), true);
  assert.equal(value("TRUE = 'TRUE'"), false);
  assert.equal(value("'TRUE' = TRUE"), true);
  assert.equal(value('1 = TRUE'), true, 'Integer → Boolean: non-zero is true');
  assert.equal(value('0 = FALSE'), true);
  assert.equal(value('TRUE + TRUE'), 2);
  assert.equal(value('NOT 0'), true);
  assert.equal(value("'  7' = '  7'"), true);
  assert.deepEqual(run("' 7' + 0"), { value: 0, errors: ['cast'] }, 'no whitespace around numbers');
  assert.deepEqual(run("'2147483648' + 0"), { value: 0, errors: ['cast'] }, 'outside int32');
  assert.equal(value("'-2147483648' + 0"), -2147483648);
  assert.equal(value("'+7' + 0"), 7);
  assert.deepEqual(run("'yes' AND TRUE"), { value: false, errors: ['cast'] });
  assert.deepEqual(run("'abc' = 1"), { value: false, errors: ['cast'] }, 'a failed cast makes = false, never 0 = 1 style guesses');
  assert.deepEqual(run("'abc' != 1"), { value: false, errors: ['cast'] });
});

test('attributes keep their event type: Integer and Boolean extensions, everything else String', () => {
  assert.equal(value('myint'), 10);
  assert.equal(value('mybool'), true);
  assert.equal(value("myint = '10'"), true, 'right String: Integer attribute cast to String');
  assert.equal(value('numstr = 42'), true, 'right Integer: String attribute cast to Integer');
  assert.equal(value('numstr > 41'), true);
  assert.equal(value("mybool = 'true'"), true);
  assert.equal(value('10 = myint'), true, 'right is an attribute: its runtime type decides');
  assert.equal(value("'10' = myint"), true);
  assert.equal(value('TRUE = mystr', { mystr: 'True' }), false, 'right is a String: TRUE becomes "true", which is not "True"');
  assert.equal(value('TRUE = mystr', { mystr: 'true' }), true);
  assert.equal(value('myint IN (numstr, 10)'), true);
  assert.equal(value("numstr IN ('x', 42)"), true, 'String left: elements cast to String');
  assert.equal(value('myint = myint'), true);
  assert.equal(value('numstr = myint', { numstr: '10', myint: 10 }), true);
  assert.equal(value('big', { big: 2 ** 40 }), String(2 ** 40), 'a number outside int32 is not an Integer');
  assert.equal(value('half', { half: 0.5 }), '0.5');
});

test('IN: first match wins, elements are cast to the left type, a failed cast is an error', () => {
  assert.equal(value("'a' IN ('b', 'a', 1 / 0)"), true, 'stops at the first match');
  assert.deepEqual(run("'a' IN ('b', 1 / 0)"), { value: false, errors: ['math'] });
  assert.deepEqual(run("1 IN ('x', 1)"), { value: false, errors: ['cast'] }, "'x' cannot become an Integer");
  assert.equal(value("1 IN (1, 'x')"), true);
  assert.equal(value('2 NOT IN (1, 3)'), true);
  assert.equal(value("mybool IN ('TRUE')"), true, 'Boolean left: "TRUE" cast to true');
  assert.deepEqual(run("myint IN ('x', 10)"), { value: false, errors: ['cast'] }, 'dynamic left, constant set');
  assert.deepEqual(run('nope IN (1)'), { value: false, errors: ['missingAttribute'] });
  assert.deepEqual(run('1 IN (nope, 1)'), { value: false, errors: ['missingAttribute'] });
});

test('Integer arithmetic: truncated division, sign of the dividend, int32 bounds', () => {
  assert.equal(value('-7 / 2'), -3);
  assert.equal(value('7 / -2'), -3);
  assert.equal(value('-7 % 2'), -1);
  assert.equal(value('7 % -2'), 1);
  assert.equal(value('-4 % 2'), 0);
  assert.ok(Object.is(value('-4 % 2'), 0), 'no negative zero');
  assert.ok(Object.is(value('0 * -5'), 0), 'no negative zero');
  assert.ok(Object.is(value('-0'), 0), 'no negative zero');
  assert.equal(value('-2147483648'), -2147483648);
  assert.equal(value('2147483647 - 2147483647'), 0);
  // Overflow: the nearest bound plus a math error, the rule the spec gives for ABS.
  assert.deepEqual(run('2147483647 + 1'), { value: 2147483647, errors: ['math'] });
  assert.deepEqual(run('-2147483648 - 1'), { value: -2147483648, errors: ['math'] });
  assert.deepEqual(run('65536 * 65536'), { value: 2147483647, errors: ['math'] });
  assert.deepEqual(run('-2147483648 / -1'), { value: 2147483647, errors: ['math'] });
  assert.deepEqual(run('--2147483648'), { value: 2147483647, errors: ['math'] });
  assert.equal(value('-2147483648 % -1'), 0);
  assert.deepEqual(run('ABS(-2147483648) + 0'), { value: 0, errors: ['math'] }, 'only the raising node keeps its value');
  assert.deepEqual(run('1 / 0'), { value: 0, errors: ['math'] });
  assert.deepEqual(run('1 % 0'), { value: 0, errors: ['math'] });
});

test('fail-fast: the first error is reported and the expression yields its zero value', () => {
  assert.deepEqual(run('nope + 1 / 0'), { value: 0, errors: ['missingAttribute'] });
  assert.deepEqual(run('NOT (nope = 2)'), { value: false, errors: ['missingAttribute'] });
  assert.deepEqual(run("CONCAT('a', nope)"), { value: '', errors: ['missingAttribute'] });
  assert.deepEqual(run('LENGTH(nope)'), { value: 0, errors: ['missingAttribute'] });
  assert.deepEqual(run("'x' LIKE '%' AND nope"), { value: false, errors: ['missingAttribute'] });
  assert.deepEqual(run('TRUE OR nope'), { value: true, errors: [] }, 'short-circuit: nope never read');
  assert.deepEqual(run('FALSE AND 1 / 0 = 1'), { value: false, errors: [] });
  assert.deepEqual(run("LEFT('abc', -1)"), { value: 'abc', errors: ['functionEvaluation'] });
  assert.deepEqual(run("LENGTH(LEFT('abc', -1))"), { value: 0, errors: ['functionEvaluation'] });
});

test('EXISTS and absent attributes; inherited object members are not attributes', () => {
  assert.equal(value('EXISTS myint'), true);
  assert.equal(value('EXISTS nope'), false);
  assert.equal(value('EXISTS constructor'), false);
  assert.deepEqual(run('constructor'), { value: false, errors: ['missingAttribute'] });
  assert.equal(value('constructor', { constructor: 'x' }), 'x');
  assert.equal(value("toString = 'a'", { tostring: 'a' }), true, 'identifiers are lower-cased');
});

test('built-in functions', () => {
  assert.equal(value("LENGTH('😀ab')"), 3, 'code points, not UTF-16 units');
  assert.equal(value("LEFT('😀ab', 2)"), '😀a');
  assert.equal(value("RIGHT('a😀b', 2)"), '😀b');
  assert.equal(value("RIGHT('abc', 0)"), '');
  assert.equal(value("SUBSTRING('a😀bc', 2, 2)"), '😀b');
  assert.equal(value("SUBSTRING('abcdef', -3)"), 'def');
  assert.equal(value("SUBSTRING('abcdef', 6)"), 'f');
  assert.equal(value("SUBSTRING('abcdef', -6, 2)"), 'ab');
  assert.deepEqual(run("SUBSTRING('abc', 1, -1)"), { value: '', errors: ['functionEvaluation'] });
  assert.deepEqual(run("SUBSTRING('abc', 4)"), { value: '', errors: ['functionEvaluation'] });
  assert.equal(value("TRIM(' \t\n\u00a0\u0085a b\u3000 ')"), 'a b', 'Unicode white space');
  assert.equal(value("TRIM('\ufeffa')"), '\ufeffa', 'U+FEFF is not white space');
  assert.equal(value("UPPER('straße')"), 'STRASSE');
  assert.equal(value("LOWER('ÀB')"), 'àb');
  assert.equal(value("CONCAT_WS('-', 'a', 1, TRUE)"), 'a-1-true', 'arguments cast to String');
  assert.equal(value("CONCAT(myint, '/', mybool)"), '10/true');
  assert.equal(value('ABS(-5) + ABS(5)'), 10);
  assert.equal(value("INT('-12')"), -12);
  assert.equal(value("BOOL('False')"), false);
  assert.equal(value('STRING(myint)'), '10');
  assert.equal(value("IS_INT('12')"), true);
  assert.equal(value("IS_INT('1.5')"), false);
  assert.equal(value('IS_INT(TRUE)'), true, 'IS_* tell whether the cast would succeed');
  assert.equal(value("IS_BOOL('TRUE')"), true);
  assert.equal(value("IS_BOOL('yes')"), false);
  assert.equal(value('IS_STRING(myint)'), true);
  assert.deepEqual(run('IS_INT(nope)'), { value: false, errors: ['missingAttribute'] });
});

test('matches(): true only for Boolean true without error; unbound use works', () => {
  const { matches } = compileCesql("source LIKE '%commerce%' AND type IN ('order.created', 'order.updated')");
  assert.equal(matches(EVENT), true);
  assert.equal(matches({ ...EVENT, type: 'order.deleted' }), false);
  assert.equal(compileCesql('myint').matches(EVENT), false, 'an Integer never matches');
  assert.equal(compileCesql('mybool').matches(EVENT), true);
  assert.equal(compileCesql("'true'").matches(EVENT), false, 'a String never matches');
  assert.equal(compileCesql('nope = 1').matches(EVENT), false);
  assert.equal(compileCesql('NOT (nope = 1)').matches(EVENT), false, 'an error never matches');
  assert.equal(compileCesql('TRUE').matches({}), true);
});

test('compile once: the program never reads the tree again and never mutates the event', () => {
  const ast = parseCesql("type = 'order.created' AND myint + 1 > 10");
  const program = compileAst(ast);
  // Vandalise the tree: a program that re-walked it per evaluation would now fail or answer differently.
  const root = ast.root as unknown as Record<string, unknown>;
  root['kind'] = 'literal';
  root['value'] = false;
  root['left'] = null;
  assert.deepEqual(program.evaluate(EVENT), { value: true, errors: NO_ERRORS });
  const frozen = Object.freeze({ ...EVENT });
  for (let i = 0; i < 3; i++) assert.equal(program.matches(frozen), true);
  assert.equal(program.expression, "type = 'order.created' AND myint + 1 > 10");
});

test('successful results share one frozen empty errors array', () => {
  const program = compileCesql('myint > 1');
  const a = program.evaluate(EVENT);
  const b = program.evaluate(EVENT);
  assert.equal(a.errors, b.errors);
  assert.equal(a.errors, NO_ERRORS);
  assert.ok(Object.isFrozen(a.errors));
  assert.throws(() => a.errors.push(new CesqlError('generic', 'x')));
});

test('constant sub-expressions are folded at compile time, unless they raise an error', () => {
  const constant = (expression: string): boolean => compileNode(parseCesql(expression).root).constant;
  assert.equal(constant("1 + 2 * 3 = 7 AND LENGTH('abc') = 3"), true);
  assert.equal(constant("UPPER('a') IN ('A', 'B')"), true);
  assert.equal(constant('FALSE AND myint = 1'), true, 'short-circuit at compile time');
  assert.equal(constant('myint = 1'), false);
  assert.equal(constant('EXISTS myint'), false);
  assert.equal(constant('5 / 0'), false, 'the math error must surface on evaluation');
  assert.deepEqual(run('5 / 0'), { value: 0, errors: ['math'] });
});

test('deep nesting fails with a parse error instead of overflowing the stack', () => {
  assert.equal(compileError('('.repeat(5000) + '1' + ')'.repeat(5000)).kind, 'parse');
  assert.equal(compileError('NOT '.repeat(5000) + 'TRUE').kind, 'parse');
  assert.equal(compileError('-'.repeat(5000) + '1').kind, 'parse');
  assert.equal(value('('.repeat(50) + '1' + ')'.repeat(50)), 1);
  // Long left-leaning chains are trees too: bounded so compiling and evaluating cannot overflow the stack.
  const chain = (n: number): string => Array.from({ length: n }, (_, i) => `a = ${i}`).join(' OR ');
  assert.equal(compileCesql(chain(900)).evaluate({ a: 899 }).value, true);
  assert.equal(compileError(chain(5000)).kind, 'parse');
});

test('a non-string expression is a parse error, not a crash', () => {
  assert.equal(compileError(true as unknown as string).kind, 'parse');
  assert.equal(compileError(42 as unknown as string).kind, 'parse');
});

// The reference interpreter walks the tree with independent code; both must agree on every TCK case and on the
// expressions below, value and error kinds alike.
test('compiled programs agree with the reference interpreter', () => {
  const tckDir = new URL('./vendor/cesql-tck/', import.meta.url);
  const expressions: { expression: string; event: CesqlEvent }[] = [];
  for (const file of readdirSync(tckDir).filter((f) => f.endsWith('.yaml'))) {
    const suite = parse(readFileSync(new URL(file, tckDir), 'utf8'), { schema: 'core' }) as {
      tests: { expression: unknown; event?: CesqlEvent; eventOverrides?: CesqlEvent }[];
    };
    for (const c of suite.tests) {
      const base = c.event ?? { specversion: '1.0', id: 'i', source: 's', type: 't' };
      expressions.push({ expression: String(c.expression), event: { ...base, ...c.eventOverrides } });
    }
  }
  for (const expression of [
    'nope + 1 / 0',
    "myint IN ('x', 10)",
    "numstr IN ('x', 42)",
    '10 = myint',
    'mystr = myint',
    "'abc' = numstr",
    'myint = numstr',
    '2147483647 + myint',
    '-2147483648 / -1',
    'LEFT(mystr, myint - 20)',
    'SUBSTRING(mystr, myint)',
    "mystr LIKE '%b%' AND NOT mybool",
    "(mybool OR nope) AND myint > '9'",
    'myint IN (numstr, mystr)',
    'ABS(myint * -1)',
    "CONCAT_WS(mystr, myint, mybool, 'x')",
    'IS_BOOL(numstr) XOR IS_INT(numstr)',
    "'1' IN (mybool, 1)",
    'mybool IN (1, 0)',
  ]) {
    expressions.push({ expression, event: EVENT });
  }
  let compared = 0;
  for (const { expression, event } of expressions) {
    let ast;
    try {
      ast = parseCesql(expression);
    } catch {
      continue; // compile-time errors have no evaluation to compare
    }
    const compiled = compileAst(ast).evaluate(event);
    const interpreted = interpretCesql(ast, event);
    assert.deepEqual({ value: compiled.value, errors: compiled.errors.map((e) => e.kind) }, { value: interpreted.value, errors: interpreted.errors.map((e) => e.kind) }, expression);
    compared += 1;
  }
  assert.ok(compared > 280, `compared ${compared}`);
});
