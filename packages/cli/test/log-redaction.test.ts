import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createLogger } from '@sluice/observability';
import { redactingLogHooks } from '../src/trust-options.js';
import { fatalMessage } from '../src/main.js';

test('credentials in URLs are redacted from messages, fields and logged errors, which keep their type, code and stack', () => {
  const lines: string[] = [];
  const logger = createLogger({ level: 'info', format: 'json', destination: { write: (l: string) => lines.push(l) }, hooks: redactingLogHooks });
  const err = Object.assign(new Error('cannot reach https://alice:s3cret@sink.example/x'), { code: 'ECONNREFUSED' });
  logger.warn({ sink: 'https://alice:s3cret@sink.example/x', err }, 'delivery to https://bob:hunter2@h/ failed');
  assert.equal(lines.length, 1);
  assert.ok(!lines[0]!.includes('s3cret') && !lines[0]!.includes('hunter2'), lines[0]);
  const r = JSON.parse(lines[0]!) as { msg: string; sink: string; err: { type: string; message: string; code: string; stack: string } };
  assert.equal(r.msg, 'delivery to https://bob:***@h/ failed');
  assert.equal(r.sink, 'https://alice:***@sink.example/x');
  assert.equal(r.err.type, 'Error');
  assert.equal(r.err.code, 'ECONNREFUSED');
  assert.equal(r.err.message, 'cannot reach https://alice:***@sink.example/x');
  assert.match(r.err.stack, /^Error: cannot reach https:\/\/alice:\*\*\*@sink\.example\/x\n\s+at /);
});

test('the line the CLI prints for an unhandled error shows a URL password as ***', () => {
  assert.equal(fatalMessage(new Error('cannot reach https://alice:s3cret@sink.example/x')), 'sluice: cannot reach https://alice:***@sink.example/x\n');
  assert.equal(fatalMessage('plain'), 'sluice: plain\n');
});
