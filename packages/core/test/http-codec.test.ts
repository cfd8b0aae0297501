import { test } from 'node:test';
import assert from 'node:assert/strict';
import { CloudEvent as SdkEvent, HTTP } from 'cloudevents';
import { decodeHttp, encodeBinary, encodeStructured, isSluiceError } from '../src/index.js';

const binaryHeaders = { 'ce-specversion': '1.0', 'ce-id': '1', 'ce-source': '/s', 'ce-type': 't', 'content-type': 'application/json' };

test('binary mode decodes headers into attributes and the body into data', () => {
  const [e] = decodeHttp({ ...binaryHeaders, 'ce-myext': 'v' }, Buffer.from('{"a":1}'));
  assert.deepEqual(e!.attributes, { specversion: '1.0', id: '1', source: '/s', type: 't', myext: 'v', datacontenttype: 'application/json' });
  assert.equal(e!.data!.toString(), '{"a":1}');
});

test('binary header values are percent-decoded, and raw % from non-conforming senders is kept', () => {
  const [e] = decodeHttp({ ...binaryHeaders, 'ce-subject': 'Euro%20%E2%82%AC%20%F0%9F%98%80', 'ce-raw': '100%' }, Buffer.alloc(0));
  assert.equal(e!.attributes['subject'], 'Euro € 😀');
  assert.equal(e!.attributes['raw'], '100%');
  assert.equal(e!.data, undefined);
});

test('binary encoding percent-encodes what the binding requires and round-trips', () => {
  const event = { attributes: { specversion: '1.0', id: 'x y', source: '/s', type: 't', subject: 'Euro € "q" 50%' }, data: Buffer.from('hi') };
  const m = encodeBinary(event);
  assert.equal(m.headers['ce-subject'], 'Euro%20%E2%82%AC%20%22q%22%2050%25');
  const [back] = decodeHttp(m.headers, m.body);
  assert.deepEqual(back!.attributes, event.attributes);
});

test('structured mode keeps typed extensions and JSON data; data_base64 decodes to bytes', () => {
  const body = JSON.stringify({ specversion: '1.0', id: '1', source: '/s', type: 't', n: 5, b: true, data: { x: [1, 2] } });
  const [e] = decodeHttp({ 'content-type': 'application/cloudevents+json; charset=utf-8' }, Buffer.from(body));
  assert.equal(e!.attributes['n'], 5);
  assert.equal(e!.attributes['b'], true);
  assert.equal(e!.attributes['datacontenttype'], 'application/json');
  assert.deepEqual(JSON.parse(e!.data!.toString()), { x: [1, 2] });
  const body64 = JSON.stringify({ specversion: '1.0', id: '1', source: '/s', type: 't', datacontenttype: 'application/octet-stream', data_base64: Buffer.from([0, 255]).toString('base64') });
  const [b] = decodeHttp({ 'content-type': 'application/cloudevents+json' }, Buffer.from(body64));
  assert.deepEqual([...b!.data!], [0, 255]);
  const out = JSON.parse(encodeStructured(b!).body.toString()) as Record<string, unknown>;
  assert.equal(out['data_base64'], 'AP8=');
});

test('batched mode yields every event and names the failing entry', () => {
  const ok = { specversion: '1.0', id: '1', source: '/s', type: 't' };
  const events = decodeHttp({ 'content-type': 'application/cloudevents-batch+json' }, Buffer.from(JSON.stringify([ok, { ...ok, id: '2' }])));
  assert.equal(events.length, 2);
  assert.throws(
    () => decodeHttp({ 'content-type': 'application/cloudevents-batch+json' }, Buffer.from(JSON.stringify([ok, { ...ok, id: undefined }]))),
    (err: unknown) => isSluiceError(err, 'SLUICE_EVENT_INVALID') && /batch entry 1: missing required attribute "id"/.test(err.message),
  );
});

test('invalid events are rejected, never repaired', () => {
  const cases: Array<[Record<string, string>, string, RegExp]> = [
    [{ 'ce-specversion': '1.0', 'ce-source': '/s', 'ce-type': 't' }, '', /missing required attribute "id"/],
    [{ 'ce-id': '1', 'ce-source': '/s', 'ce-type': 't' }, '', /missing required attribute "specversion"/],
    [{ ...binaryHeaders, 'ce-specversion': '19.0' }, '', /unsupported specversion/],
    [{ ...binaryHeaders, 'ce-time': 'yesterday' }, '', /RFC 3339/],
    [{ ...binaryHeaders, 'ce-bad_name': 'x' }, '', /invalid attribute name/],
    [{ 'content-type': 'application/cloudevents+json' }, '{not json', /not valid JSON/],
    [{ 'content-type': 'application/cloudevents+json' }, '[]', /must be a JSON object/],
  ];
  for (const [headers, body, message] of cases) {
    assert.throws(() => decodeHttp(headers, Buffer.from(body)), message);
  }
  assert.throws(
    () => decodeHttp({ 'content-type': 'application/cloudevents+avro' }, Buffer.from('x')),
    (e: unknown) => isSluiceError(e, 'SLUICE_EVENT_UNSUPPORTED_FORMAT'),
  );
});

test('interoperates with the CloudEvents JS SDK in both directions', () => {
  const sdk = new SdkEvent({ type: 'com.example', source: '/sdk', subject: 'a b', data: { hello: 'world' }, myext: 'v' });
  for (const message of [HTTP.binary(sdk), HTTP.structured(sdk)]) {
    const [e] = decodeHttp(message.headers, Buffer.from(message.body as string));
    assert.equal(e!.attributes['id'], sdk.id);
    assert.equal(e!.attributes['myext'], 'v');
    assert.deepEqual(JSON.parse(e!.data!.toString()), { hello: 'world' });
    const out = encodeBinary(e!);
    const back = HTTP.toEvent({ headers: out.headers, body: out.body.toString('utf8') }) as SdkEvent;
    assert.equal(back.type, 'com.example');
    assert.deepEqual(back.data, { hello: 'world' });
  }
});
