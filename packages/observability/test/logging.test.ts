import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createLogger, defaultLogFormat, prettyLine } from '../src/index.js';

function capture() {
  const lines: string[] = [];
  return { lines, destination: { write: (l: string) => lines.push(l) } };
}

test('json: one record per line, level as a name, ISO time, the message and fields', () => {
  const { lines, destination } = capture();
  const logger = createLogger({ level: 'info', format: 'json', destination });
  logger.debug({ a: 1 }, 'hidden');
  logger.warn({ trigger: 'default/t', status: 503 }, 'subscriber failing');
  assert.equal(lines.length, 1);
  const r = JSON.parse(lines[0]!) as Record<string, unknown>;
  assert.equal(r['level'], 'warn');
  assert.match(String(r['time']), /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$/);
  assert.equal(r['msg'], 'subscriber failing');
  assert.equal(r['trigger'], 'default/t');
  assert.equal(r['status'], 503);
});

test('pretty: time, level, message, then fields; colours only when asked', () => {
  const { lines, destination } = capture();
  createLogger({ level: 'debug', format: 'pretty', destination, color: false }).info({ url: 'http://x/', n: 2, note: 'two words' }, 'ready');
  assert.match(lines[0]!, /^\d\d:\d\d:\d\d\.\d{3} INFO {2}ready {2}url=http:\/\/x\/ n=2 note="two words"\n$/);
  assert.ok(!lines[0]!.includes('\u001b['));
  const coloured = prettyLine('{"level":"error","time":"2026-12-05T20:00:00.000Z","msg":"boom"}', true);
  assert.ok(coloured.includes('\u001b[31mERROR'));
  assert.equal(prettyLine('not json'), 'not json\n');
});

test('the default format follows the terminal', () => {
  assert.equal(defaultLogFormat({ isTTY: true }), 'pretty');
  assert.equal(defaultLogFormat({ isTTY: false }), 'json');
  assert.equal(defaultLogFormat({}), 'json');
});

test('a logged error keeps its type, code and stack; a pretty line shows its message, and its stack at error level', () => {
  const { lines, destination } = capture();
  const err = Object.assign(new Error('disk full'), { code: 'ENOSPC' });
  createLogger({ level: 'info', format: 'json', destination }).error({ err }, 'write failed');
  const r = JSON.parse(lines[0]!) as { err: { type: string; message: string; code: string; stack: string } };
  assert.equal(r.err.type, 'Error');
  assert.equal(r.err.message, 'disk full');
  assert.equal(r.err.code, 'ENOSPC');
  assert.match(r.err.stack, /^Error: disk full\n\s+at /);

  const pretty = capture();
  const logger = createLogger({ level: 'info', format: 'pretty', destination: pretty.destination, color: false });
  logger.error({ err }, 'write failed');
  logger.warn({ err }, 'write failed');
  const [errorLine, warnLine] = pretty.lines;
  assert.match(errorLine!, /ERROR write failed {2}err="disk full"\n {4}Error: disk full\n {4}\s*at /);
  assert.match(warnLine!, /WARN {2}write failed {2}err="disk full"\n$/);
});
