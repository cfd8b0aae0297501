import { test } from 'node:test';
import assert from 'node:assert/strict';
import { isSluiceError, validateEvent } from '@sluice/core';
import { PING_EVENT_TYPE, PingSourceComponent, checkPingSpec, makePingEvent, type PingSource, type PingSourceSpec } from '../src/ping-source.js';
import { waitFor } from '@sluice/testing';
import { ManualTime, startSinkAndRuntime } from './helpers.js';

function source(spec: Partial<PingSourceSpec>, namespace?: string): PingSource {
  return {
    apiVersion: 'sources.knative.dev/v1',
    kind: 'PingSource',
    metadata: { name: 'ping', ...(namespace ? { namespace } : {}) },
    spec: { sink: { uri: 'http://127.0.0.1:1/' }, ...spec },
  };
}

const T = Date.parse('2026-05-01T12:00:00.000Z');

test('the event Knative emits: type, source, id, time, data and content type', () => {
  const e = makePingEvent(source({ contentType: 'application/json', data: '{"message":"hi"}' }, 'team-a'), 'id-1', T);
  assert.deepEqual(e.attributes, {
    specversion: '1.0',
    id: 'id-1',
    type: PING_EVENT_TYPE,
    source: '/apis/v1/namespaces/team-a/pingsources/ping',
    time: '2026-05-01T12:00:00.000Z',
    datacontenttype: 'application/json',
  });
  assert.equal(e.attributes['type'], 'dev.knative.sources.ping');
  assert.equal(e.data?.toString(), '{"message":"hi"}');
  validateEvent(e);
});

test('namespace defaults to default; no data means no datacontenttype', () => {
  const e = makePingEvent(source({ contentType: 'text/plain' }), 'x', T);
  assert.equal(e.attributes['source'], '/apis/v1/namespaces/default/pingsources/ping');
  assert.equal(e.data, undefined);
  assert.equal(e.attributes['datacontenttype'], undefined);
  assert.equal(e.attributes['subject'], undefined);
});

test('dataBase64 is decoded into the data bytes', () => {
  const bytes = Buffer.from([0, 1, 2, 250, 255]);
  const e = makePingEvent(source({ contentType: 'application/octet-stream', dataBase64: bytes.toString('base64') }), 'x', T);
  assert.deepEqual(e.data, bytes);
});

test('ceOverrides extensions are set, names lower-cased', () => {
  const e = makePingEvent(source({ ceOverrides: { extensions: { team: 'a', Region: 'eu' } } }), 'x', T);
  assert.equal(e.attributes['team'], 'a');
  assert.equal(e.attributes['region'], 'eu');
  validateEvent(e);
});

test('checkPingSpec: Knative validation rules', () => {
  const msgs = (spec: Partial<PingSourceSpec>): string[] => checkPingSpec(source(spec).spec).map((p) => `${p.path.join('.')}: ${p.message}`);
  assert.deepEqual(msgs({ schedule: '*/1 * * * * *', data: 'x' }), []);
  assert.deepEqual(msgs({ data: 'a', dataBase64: 'YQ==' }), ['spec.dataBase64: data and dataBase64 are mutually exclusive: set only one']);
  assert.match(msgs({ contentType: 'application/json', data: 'not json' })[0]!, /^spec\.data: is not valid JSON/);
  assert.match(msgs({ contentType: 'application/json', data: '[1,2]' })[0]!, /must be a JSON object/);
  assert.deepEqual(msgs({ contentType: 'text/plain', data: 'not json' }), []);
  assert.match(msgs({ dataBase64: 'not base64!' })[0]!, /not valid base64/);
  assert.match(msgs({ contentType: 'application/json', dataBase64: Buffer.from('nope').toString('base64') })[0]!, /decoded data is not valid JSON/);
  assert.match(msgs({ schedule: '@every 5m' })[0]!, /^spec\.schedule: invalid schedule: @every/);
  const tz = checkPingSpec(source({ timezone: 'Not/AZone' }).spec);
  assert.equal(tz[0]!.code, 'SLUICE_CONFIG_TIMEZONE');
  assert.deepEqual(tz[0]!.path, ['spec', 'timezone']);
  assert.match(msgs({ ceOverrides: { extensions: { type: 'x' } } })[0]!, /core attribute/);
});

test('PingSourceComponent sends one event per tick to the resolved sink, with retries on 503', async (t) => {
  let calls = 0;
  const { sink, rt } = await startSinkAndRuntime(t, () => (++calls === 1 ? { status: 503 } : { status: 202 }));
  const time = new ManualTime(T);
  let n = 0;
  const src = source({ schedule: '* * * * *', data: 'tick', ceOverrides: { extensions: { a: 'b' } } });
  src.spec.sink = { uri: sink.url };
  const c = new PingSourceComponent(src, { now: time.clock, timers: time, newId: () => `id-${++n}` });
  await c.start(rt.ctx);
  assert.equal(c.name, 'PingSource default/ping');
  time.advanceTo(T + 60_000);
  await waitFor(() => sink.received.length === 2, 'the retry', 5000);
  await c.stop();
  assert.equal(sink.received.length, 2);
  const r = sink.received[1]!;
  assert.equal(r.headers['ce-id'], 'id-1');
  assert.equal(r.headers['ce-type'], 'dev.knative.sources.ping');
  assert.equal(r.headers['ce-source'], '/apis/v1/namespaces/default/pingsources/ping');
  assert.equal(r.headers['ce-time'], '2026-05-01T12:01:00.000Z');
  assert.equal(r.headers['ce-a'], 'b');
  assert.equal(r.headers['kn-namespace'], 'default');
  assert.equal(r.body.toString(), 'tick');
});

test('a refusing sink gets one clear log line with status, body and event id', async (t) => {
  const { sink, logger, rt } = await startSinkAndRuntime(t, () => ({ status: 400, headers: { 'content-type': 'text/plain' }, body: 'bad event: no thanks' }));
  const time = new ManualTime(T);
  const c = new PingSourceComponent({ ...source({ schedule: '* * * * *' }), spec: { schedule: '* * * * *', sink: { uri: sink.url } } }, { now: time.clock, timers: time, newId: () => 'the-id' });
  await c.start(rt.ctx);
  time.advanceTo(T + 60_000);
  await c.stop();
  assert.equal(sink.received.length, 1, '400 is final: no retry');
  const warn = logger.lines.find((l) => l.level === 'warn')!;
  assert.match(warn.msg!, /sink refused event the-id: HTTP 400 after 1 attempt: bad event: no thanks/);
  assert.equal(warn.obj['status'], 400);
  assert.equal(warn.bindings['source'], 'PingSource default/ping');
  assert.ok(logger.lines.some((l) => l.level === 'error' && /event lost/.test(l.msg ?? '')));
});

test('stop() ends retries early and an invalid schedule is a typed error', async (t) => {
  const { sink, rt } = await startSinkAndRuntime(t, () => ({ status: 503 }));
  const time = new ManualTime(T);
  const src = source({ schedule: '* * * * *' });
  src.spec.sink = { uri: sink.url };
  const c = new PingSourceComponent(src, { now: time.clock, timers: time });
  await c.start(rt.ctx);
  time.advanceTo(T + 60_000);
  await waitFor(() => sink.received.length >= 1, 'condition', 5000);
  const started = Date.now();
  await c.stop();
  assert.ok(Date.now() - started < 1000, 'did not sit through 5 retries');
  assert.ok(sink.received.length < 6);
  assert.throws(
    () => new PingSourceComponent(source({ schedule: '@every 1s' })),
    (e) => isSluiceError(e, 'SLUICE_SOURCE_SCHEDULE_INVALID'),
  );
});
