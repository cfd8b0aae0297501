import { test } from 'node:test';
import assert from 'node:assert/strict';
import { request } from 'undici';
import { validateEvent } from '@sluice/core';
import { githubSignature, standardWebhooksKey, standardWebhooksSignature } from '../src/signature.js';
import {
  WebhookRouter,
  WebhookSourceComponent,
  checkWebhookSource,
  deliveryIdOf,
  makeWebhookEvent,
  sanitizeExtensionName,
  webhookEventSource,
  type WebhookSource,
  type WebhookSourceSpec,
} from '../src/webhook-source.js';
import { startSubscriber, type Received, type Reply } from '@sluice/testing';
import { captureLogger, startRuntimeStub, startSinkAndRuntime } from './helpers.js';

function wh(spec: Partial<WebhookSourceSpec>, name = 'hook', annotations?: Record<string, string>): WebhookSource {
  return {
    apiVersion: 'sources.triggermesh.io/v1alpha1',
    kind: 'WebhookSource',
    metadata: { name, ...(annotations ? { annotations } : {}) },
    spec: { eventType: 'com.example.push', sink: { uri: 'http://127.0.0.1:1/' }, ...spec },
  };
}

test('extension names follow TriggerMesh', () => {
  assert.equal(sanitizeExtensionName('hX-GitHub-Event'), 'hxgithubevent');
  assert.equal(sanitizeExtensionName('hX-Very-Long-Header-Name-Indeed'), 'hxverylongheadername');
  assert.equal(sanitizeExtensionName('data'), 'data0');
  assert.equal(sanitizeExtensionName('Host'), 'data0');
});

test('event: type, source default, extensions from path, method, host, queries and headers; data is the raw body', () => {
  const src = wh({ eventExtensionAttributes: { from: ['path', 'method', 'host', 'queries', 'headers'] }, ceOverrides: { extensions: { team: 'a' } } }, 'hook');
  assert.equal(webhookEventSource(src), 'default.hook');
  const body = Buffer.from([0xff, 0x00, 0x01]);
  const e = makeWebhookEvent(
    src,
    {
      method: 'POST',
      path: '/gh',
      host: 'example.com',
      query: new URLSearchParams('a=1&b=2&b=3'),
      headers: { 'content-type': ['application/octet-stream'], authorization: ['Basic x'], 'x-event': ['push'], cookie: ['c'], 'ce-id': ['abc'] },
      body,
    },
    'id-1',
    Date.parse('2026-01-01T00:00:00Z'),
  );
  assert.deepEqual(e.attributes, {
    specversion: '1.0',
    id: 'id-1',
    type: 'com.example.push',
    source: 'default.hook',
    time: '2026-01-01T00:00:00.000Z',
    path: '/gh',
    method: 'POST',
    host: 'example.com',
    qa: '1',
    qb0: '2',
    qb1: '3',
    hcontenttype: 'application/octet-stream',
    hxevent: 'push',
    datacontenttype: 'application/octet-stream',
    team: 'a',
  });
  assert.deepEqual(e.data, body);
  validateEvent(e);
});

test('delivery id headers become the event id', () => {
  assert.equal(deliveryIdOf({ 'x-github-delivery': 'gh-1' }), 'gh-1');
  assert.equal(deliveryIdOf({ 'webhook-id': 'msg_1', 'x-github-delivery': 'gh-1' }), 'msg_1');
  assert.equal(deliveryIdOf({}), undefined);
});

async function setup(
  t: import('node:test').TestContext,
  spec: Partial<WebhookSourceSpec>,
  sinkRespond?: (r: Received) => Reply,
  annotations?: Record<string, string>,
  env: Record<string, string> = {},
) {
  const sink = await startSubscriber(sinkRespond);
  const logger = captureLogger();
  const rt = await startRuntimeStub(logger);
  const src = wh({ ...spec, sink: { uri: sink.url } }, 'hook', annotations);
  const c = new WebhookSourceComponent(src, new WebhookRouter(), { secrets: { env, readFile: () => 'from-file\n' }, newId: () => 'uuid-1' });
  await c.start(rt.ctx);
  t.after(async () => {
    await c.stop();
    await rt.close();
    await sink.close();
  });
  const post = async (body: string | Buffer, headers: Record<string, string> = {}, path = '/webhooks/default/hook', method = 'POST') => {
    const res = await request(rt.ctx.url + path, { method: method as 'POST', headers, body });
    const text = await res.body.text();
    return { status: res.statusCode, headers: res.headers, text, json: text ? (JSON.parse(text) as { error: { code: string } }) : undefined };
  };
  return { sink, logger, post, url: rt.ctx.url };
}

test('GitHub signature: 401 and nothing sent when wrong; 202 once the sink accepted when right', async (t) => {
  const { sink, post } = await setup(t, { signature: { type: 'github', secret: { valueFromEnv: 'GH_SECRET' } }, eventSource: 'https://github.com/o/r' }, undefined, undefined, {
    GH_SECRET: 's3cret',
  });
  const body = '{"zen":"Keep it logically awesome."}';
  const bad = await post(body, { 'content-type': 'application/json', 'x-hub-signature-256': githubSignature('wrong', Buffer.from(body)) });
  assert.equal(bad.status, 401);
  assert.equal(bad.json?.error.code, 'SLUICE_WEBHOOK_SIGNATURE_INVALID');
  const missing = await post(body, { 'content-type': 'application/json' });
  assert.equal(missing.status, 401);
  assert.equal(sink.received.length, 0);
  const good = await post(body, { 'content-type': 'application/json', 'x-hub-signature-256': githubSignature('s3cret', Buffer.from(body)), 'x-github-delivery': 'd-1' });
  assert.equal(good.status, 202);
  assert.equal(sink.received.length, 1);
  const r = sink.received[0]!;
  assert.equal(r.headers['ce-id'], 'd-1');
  assert.equal(r.headers['ce-type'], 'com.example.push');
  assert.equal(r.headers['ce-source'], 'https://github.com/o/r');
  assert.equal(r.headers['content-type'], 'application/json');
  assert.equal(r.body.toString(), body);
});

test('Standard Webhooks signature with a secret from a file', async (t) => {
  const secret = 'whsec_' + Buffer.from('0123456789abcdef0123456789abcdef').toString('base64');
  const { sink, post } = await setup(t, { signature: { type: 'standard-webhooks', secret: { value: secret }, tolerance: 'PT1M' } });
  const key = standardWebhooksKey(secret)!;
  const body = Buffer.from('{"type":"invoice.paid"}');
  const ts = String(Math.floor(Date.now() / 1000));
  const headers = { 'content-type': 'application/json', 'webhook-id': 'msg_9', 'webhook-timestamp': ts, 'webhook-signature': standardWebhooksSignature(key, 'msg_9', ts, body) };
  assert.equal((await post(body, headers)).status, 202);
  assert.equal(sink.received[0]!.headers['ce-id'], 'msg_9');
  const stale = String(Number(ts) - 120);
  const old = await post(body, { ...headers, 'webhook-timestamp': stale, 'webhook-signature': standardWebhooksSignature(key, 'msg_9', stale, body) });
  assert.equal(old.status, 401);
  assert.equal(sink.received.length, 1);
});

test('basic auth: 401 with WWW-Authenticate unless the credentials match', async (t) => {
  const { sink, post } = await setup(t, { basicAuthUsername: 'user', basicAuthPassword: { valueFromFile: '/run/secrets/pw' } });
  const auth = (u: string, p: string) => ({ authorization: 'Basic ' + Buffer.from(`${u}:${p}`).toString('base64') });
  const none = await post('x');
  assert.equal(none.status, 401);
  assert.match(String(none.headers['www-authenticate']), /^Basic/);
  assert.equal((await post('x', auth('user', 'nope'))).status, 401);
  assert.equal((await post('x', auth('other', 'from-file'))).status, 401);
  assert.equal(sink.received.length, 0);
  assert.equal((await post('x', auth('user', 'from-file'))).status, 202);
  assert.equal(sink.received[0]!.headers['ce-id'], 'uuid-1');
  assert.equal(sink.received[0]!.headers['authorization'], undefined);
});

test('OPTIONS answers the CloudEvents webhook handshake and CORS preflight', async (t) => {
  const { post } = await setup(t, { corsAllowOrigin: 'https://app.example' });
  const r = await post('', { 'webhook-request-origin': 'eventemitter.example.com', 'webhook-request-rate': '120', 'access-control-request-method': 'POST' }, '/webhooks/default/hook', 'OPTIONS');
  assert.equal(r.status, 200);
  assert.equal(r.headers['webhook-allowed-origin'], 'eventemitter.example.com');
  assert.equal(r.headers['webhook-allowed-rate'], '*');
  assert.equal(r.headers['allow'], 'POST, OPTIONS');
  assert.equal(r.headers['access-control-allow-origin'], 'https://app.example');
  assert.equal(r.headers['access-control-allow-methods'], 'POST, OPTIONS');
});

test('405 for other methods, 404 for unknown webhooks, 413 over the body limit', async (t) => {
  const { sink, post } = await setup(t, {}, undefined, { 'sluice.dev/max-body-bytes': '16' });
  const get = await post('', {}, '/webhooks/default/hook', 'PUT');
  assert.equal(get.status, 405);
  assert.equal(get.headers['allow'], 'POST, OPTIONS');
  const unknown = await post('x', {}, '/webhooks/default/nope');
  assert.equal(unknown.status, 404);
  assert.equal(unknown.json?.error.code, 'SLUICE_WEBHOOK_NOT_FOUND');
  const big = await post('x'.repeat(17));
  assert.equal(big.status, 413);
  assert.equal((await post('x'.repeat(16))).status, 202);
  assert.equal(sink.received.length, 1);
});

test('a sink that refuses makes the webhook answer 502; one that is down, 503 with Retry-After', async (t) => {
  let status = 400;
  const { sink, post, logger } = await setup(t, {}, () => ({ status, headers: { 'content-type': 'text/plain' }, body: 'nope' }));
  const refused = await post('x', { 'x-github-delivery': 'd-7' });
  assert.equal(refused.status, 502);
  assert.deepEqual(refused.json, { error: { code: 'SLUICE_SINK_REFUSED', message: 'the sink refused the event', eventId: 'd-7', sinkStatus: 400 } });
  assert.equal(sink.received.length, 1, 'a 400 is not retried');
  status = 500;
  const down = await post('x');
  assert.equal(down.status, 503);
  assert.equal(down.headers['retry-after'], '1');
  assert.equal(sink.received.length, 4, 'a 500 is retried twice');
  assert.ok(logger.lines.some((l) => l.level === 'warn' && /sink refused event d-7: HTTP 400 after 1 attempt: nope/.test(l.msg ?? '')));
});

test('extensions from the sub-path and query', async (t) => {
  const { sink, post } = await setup(t, { eventExtensionAttributes: { from: ['path', 'queries'] } });
  assert.equal((await post('x', { 'content-type': 'text/plain' }, '/webhooks/default/hook/github/org?repo=sluice')).status, 202);
  const r = sink.received[0]!;
  assert.equal(r.headers['ce-path'], '/github/org');
  assert.equal(r.headers['ce-qrepo'], 'sluice');
  assert.equal(r.headers['content-type'], 'text/plain');
});

test('after stop, requests get 503 until the server closes', async (t) => {
  const { sink, rt } = await startSinkAndRuntime(t);
  const c = new WebhookSourceComponent(wh({ sink: { uri: sink.url } }), new WebhookRouter());
  await c.start(rt.ctx);
  await c.stop();
  const res = await request(rt.ctx.url + '/webhooks/default/hook', { method: 'POST', body: 'x' });
  assert.equal(res.statusCode, 503);
  assert.equal(res.headers['retry-after'], '1');
  await res.body.dump();
  assert.equal(sink.received.length, 0);
});

test('credential-bearing headers never become event attributes', () => {
  const src = wh({ eventExtensionAttributes: { from: ['headers'] }, signature: { type: 'github', secret: { value: 's' } } });
  const e = makeWebhookEvent(
    src,
    {
      method: 'POST',
      path: '/',
      host: undefined,
      query: new URLSearchParams(),
      headers: {
        'x-gitlab-token': ['glt'],
        'x-api-key': ['k'],
        'x-hub-signature-256': ['sha256=1'],
        'x-hub-signature': ['sha1=1'],
        'webhook-signature': ['v1,x'],
        'x-auth-token': ['t'],
        'private-token': ['p'],
        'x-client-secret': ['s'],
        'proxy-authorization': ['Basic y'],
        'x-gitlab-event': ['Push Hook'],
        'x-request-id': ['r'],
      },
      body: Buffer.alloc(0),
    },
    'id-1',
    0,
  );
  const ext = Object.keys(e.attributes).filter((k) => k.startsWith('h'));
  assert.deepEqual(ext.sort(), ['hxgitlabevent', 'hxrequestid']);
});

test('Standard Webhooks: a webhook-id is accepted once within the tolerance; a failed delivery gives it back', async (t) => {
  const secret = 'whsec_' + Buffer.from('0123456789abcdef01234567').toString('base64');
  let refuse = true;
  const { sink, post } = await setup(t, { signature: { type: 'standard-webhooks', secret: { value: secret }, tolerance: 'PT5M' } }, () => (refuse ? { status: 400 } : {}));
  const key = standardWebhooksKey(secret)!;
  const body = Buffer.from('{"type":"invoice.paid"}');
  const signed = (id: string, ts = String(Math.floor(Date.now() / 1000))) => ({
    'content-type': 'application/json',
    'webhook-id': id,
    'webhook-timestamp': ts,
    'webhook-signature': standardWebhooksSignature(key, id, ts, body),
  });
  assert.equal((await post(body, signed('msg_1'))).status, 502, 'the sink refused: not accepted');
  refuse = false;
  assert.equal((await post(body, signed('msg_1'))).status, 202, "the sender's retry with the same id passes");
  const replay = await post(body, signed('msg_1'));
  assert.equal(replay.status, 409);
  assert.equal(replay.json?.error.code, 'SLUICE_WEBHOOK_REPLAYED');
  assert.equal((await post(body, signed('msg_2'))).status, 202);
  assert.equal(sink.received.filter((r) => r.headers['ce-id'] === 'msg_1' && r.headers['ce-id'] !== undefined).length, 2, 'one refused attempt and one accepted, never the replay');
});

test('Standard Webhooks keys under 24 bytes and tolerances over an hour are configuration errors', () => {
  const short = wh({ signature: { type: 'standard-webhooks', secret: { value: 'whsec_' + Buffer.from('sixteen-bytes-xx').toString('base64') } } });
  assert.match(
    checkWebhookSource(short)
      .map((p) => p.message)
      .join('\n'),
    /at least 24 bytes \(got 16\)/,
  );
  const long = wh({ signature: { type: 'standard-webhooks', secret: { value: 'whsec_' + Buffer.from('0123456789abcdef01234567').toString('base64') }, tolerance: 'PT2H' } });
  assert.match(
    checkWebhookSource(long)
      .map((p) => p.message)
      .join('\n'),
    /at most PT1H/,
  );
  const ok = wh({ signature: { type: 'standard-webhooks', secret: { value: 'whsec_' + Buffer.from('0123456789abcdef01234567').toString('base64') }, tolerance: 'PT1H' } });
  assert.deepEqual(checkWebhookSource(ok), []);
});
