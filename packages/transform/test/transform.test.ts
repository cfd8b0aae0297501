// Unit tests of the EventTransform logic: expression positions for file:line:col errors, evaluation limits, the
// result → CloudEvent rules, and the checks a configuration gets.
import { after, test } from 'node:test';
import assert from 'node:assert/strict';
import { brokerChecks } from '@sluice/config';
import { configFiles } from '@sluice/testing';
import { isSluiceError } from '@sluice/core';
import { TransformExpression, checkExpression, resultToEvent, transformChecks } from '../src/index.js';

const files = configFiles({ checks: [brokerChecks(), transformChecks()], prefix: 'sluice-transform-' });
after(() => files.remove());

function validate(yaml: string): string[] {
  return files.errors(yaml, { name: 'c.yaml' });
}

const head = 'apiVersion: eventing.knative.dev/v1alpha1\nkind: EventTransform\nmetadata:\n  name: t\nspec:\n';

test('checkExpression points at the start of the offending token', () => {
  assert.equal(checkExpression('foo bar')?.offset, 4);
  assert.equal(checkExpression('{\n  "a": ]\n}')?.offset, 9);
  assert.equal(checkExpression('$$.data.(')?.offset, 9);
  assert.equal(checkExpression('$merge([$, {"a": 1}])'), undefined);
});

test('syntax errors are reported at their line and column: quoted, plain and literal block scalars', () => {
  assert.deepEqual(validate(head + '  jsonata:\n    expression: "data.( "\n'), ['c.yaml:7:25: EventTransform/t: invalid JSONata expression: Expected ")" before end of expression (JSONata S0203)']);
  assert.deepEqual(validate(head + '  jsonata:\n    expression: foo bar\n'), ['c.yaml:7:21: EventTransform/t: invalid JSONata expression: Syntax error: "bar" (JSONata S0201)']);
  assert.deepEqual(validate(head + '  jsonata:\n    expression: |\n      {\n        "id": id,\n          "type": ]\n      }\n'), [
    'c.yaml:10:19: EventTransform/t: invalid JSONata expression: The symbol "]" cannot be used as a unary operator (JSONata S0211)',
  ]);
  assert.match(
    validate(head + '  sink:\n    uri: http://x/\n  jsonata:\n    expression: "$"\n  reply:\n    jsonata:\n      expression: "a b"\n')[0]!,
    /^c\.yaml:12:22: EventTransform\/t: invalid JSONata expression: Syntax error: "b"/,
  );
});

test('reply needs a sink and one of jsonata / discard; sinks are checked destinations without CACerts', () => {
  assert.deepEqual(validate(head + '  jsonata:\n    expression: $\n  reply:\n    discard: true\n'), [
    'c.yaml:9:5: EventTransform/t: reply is set without spec.sink (the reply transforms what the sink answers)',
  ]);
  assert.deepEqual(validate(head + '  sink:\n    uri: http://x/\n  jsonata:\n    expression: $\n  reply:\n    discard: true\n    jsonata:\n      expression: $\n'), [
    'c.yaml:11:14: EventTransform/t: reply sets both jsonata and discard: true; set one of them',
  ]);
  assert.deepEqual(validate(head + '  sink:\n    ref:\n      apiVersion: eventing.knative.dev/v1\n      kind: Broker\n      name: nope\n    CACerts: abc\n  jsonata:\n    expression: $\n'), [
    'c.yaml:10:13: EventTransform/t: Broker "default/nope" is not declared in the configuration',
    'c.yaml:11:14: EventTransform/t: CACerts for the sink is not supported for JSONata transformations (as in Knative)',
  ]);
  assert.match(validate(head + '  jsonata: {}\n')[0]!, /spec\.jsonata: missing required field "expression"/);
  assert.match(validate(head + '  jsonata:\n    expression: $\n  other: 1\n')[0]!, /spec\.other: unknown field "other"/);
  assert.match(validate(head + '  sink:\n    uri: http://x/\n')[0]!, /spec: missing required field "jsonata"/);
});

test('a runaway expression is stopped by the evaluation limits instead of holding the event loop', async () => {
  const deep = TransformExpression.compile('($f := function($n) { 1 + $f($n + 1) }; $f(0))', { timeoutMs: 60_000, maxDepth: 100 });
  await assert.rejects(deep.evaluate({}), (err: unknown) => isSluiceError(err, 'SLUICE_TRANSFORM_FAILED') && /stack/i.test((err as Error).message));
  const long = TransformExpression.compile('$count($map([1..5000000], function($v) { $v * 2 }))', { timeoutMs: 50, maxDepth: 1000 });
  await assert.rejects(long.evaluate({}), (err: unknown) => isSluiceError(err, 'SLUICE_TRANSFORM_FAILED') && /timeout/i.test((err as Error).message));
});

test('resultToEvent accepts a valid CloudEvent object and says why anything else is not one', () => {
  const ev = resultToEvent({ specversion: '1.0', id: '1', source: '/s', type: 't', data: { a: 1 } }, 'x');
  assert.equal(ev.attributes['datacontenttype'], 'application/json');
  assert.deepEqual(JSON.parse(ev.data!.toString()), { a: 1 });
  const reason = (v: unknown): string => {
    try {
      resultToEvent(v, 'the expression');
      return 'accepted';
    } catch (err) {
      return (err as Error).message;
    }
  };
  assert.match(reason(undefined), /produced nothing/);
  assert.match(reason('text'), /produced "text", not a CloudEvent object/);
  assert.match(reason([1]), /produced an array/);
  assert.match(reason({ specversion: '1.0', id: '1', source: '/s' }), /missing required attribute "type"/);
  assert.match(reason({ specversion: '1.0', id: '1', source: '/s', type: 't', nested: { a: 1 } }), /attribute "nested" must be a string/);
});
