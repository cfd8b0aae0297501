import { test } from 'node:test';
import assert from 'node:assert/strict';
import { PreciseDate } from '@google-cloud/precise-date';
import { validateEvent } from '@sluice/core';
import { formatRfc3339Nano, messageToEvent, pushEnvelope } from '../src/message-event.js';
import { parseGoDuration } from '../src/go-duration.js';
import { subscriptionId } from '../src/pubsub-settings.js';
import { applyCeOverrides } from '@sluice/sources';

const context = { project: 'my-proj', topic: 'orders', subscription: 'sluice_default_orders' };

test('a message becomes knative-gcp messagePublished event, with the push envelope as data', () => {
  const message = { id: '1234567', data: Buffer.from('{"n":1}'), attributes: { origin: 'shop', 'Weird-Key#1': 'v' }, publishTime: new PreciseDate('2024-05-01T10:00:00.123456789Z') };
  const event = messageToEvent(message, context);
  validateEvent(event);
  assert.deepEqual(event.attributes, {
    specversion: '1.0',
    id: '1234567',
    source: '//pubsub.googleapis.com/projects/my-proj/topics/orders',
    type: 'google.cloud.pubsub.topic.v1.messagePublished',
    dataschema: 'https://raw.githubusercontent.com/googleapis/google-cloudevents/master/proto/google/events/cloud/pubsub/v1/data.proto',
    datacontenttype: 'application/json',
    time: '2024-05-01T10:00:00.123456789Z',
  });
  // Field order and names as knative-gcp's PushMessage struct marshals them.
  assert.equal(
    event.data!.toString(),
    '{"subscription":"sluice_default_orders","message":{"messageId":"1234567","data":"eyJuIjoxfQ==","attributes":{"origin":"shop","Weird-Key#1":"v"},"publishTime":"2024-05-01T10:00:00.123456789Z"}}',
  );
});

test('envelope omissions: no attributes key when there are none; empty data is null', () => {
  const env = JSON.parse(pushEnvelope({ id: '9', data: Buffer.alloc(0), attributes: {}, publishTime: new Date('2024-05-01T10:00:00Z') }, 's').toString());
  assert.deepEqual(env, { subscription: 's', message: { messageId: '9', data: null, publishTime: '2024-05-01T10:00:00Z' } });
});

test('publish times print as Go RFC3339Nano: trailing zeros dropped', () => {
  assert.equal(formatRfc3339Nano(new PreciseDate('2019-02-27T20:02:19.100000000Z')), '2019-02-27T20:02:19.1Z');
  assert.equal(formatRfc3339Nano(new PreciseDate('2019-02-27T20:02:19.029534186Z')), '2019-02-27T20:02:19.029534186Z');
  assert.equal(formatRfc3339Nano(new Date('2019-02-27T20:02:19.000Z')), '2019-02-27T20:02:19Z');
  assert.equal(formatRfc3339Nano(new Date('2019-02-27T20:02:19.250Z')), '2019-02-27T20:02:19.25Z');
});

test('ceOverrides add extensions', () => {
  const e = applyCeOverrides(messageToEvent({ id: '1', data: Buffer.from('x'), attributes: {}, publishTime: new Date(0) }, context), { extensions: { env: 'prod' } });
  assert.equal(e.attributes['env'], 'prod');
});

test('Go durations as knative-gcp parses them', () => {
  assert.equal(parseGoDuration('30s'), 30_000);
  assert.equal(parseGoDuration('1m30s'), 90_000);
  assert.equal(parseGoDuration('168h'), 604_800_000);
  assert.equal(parseGoDuration('1.5h'), 5_400_000);
  assert.equal(parseGoDuration('250ms'), 250);
  assert.equal(parseGoDuration('0'), 0);
  assert.equal(parseGoDuration('-2s'), -2000);
  for (const bad of ['', '7d', '30', 's', '1 m', 'PT30S', '1m30']) assert.equal(parseGoDuration(bad), undefined, bad);
});

test('subscription IDs: stable, unambiguous, within Pub/Sub limits', () => {
  assert.equal(subscriptionId('default', 'orders'), 'sluice_default_orders');
  assert.notEqual(subscriptionId('a-b', 'c'), subscriptionId('a', 'b-c'));
  const long = subscriptionId('n'.repeat(200), 'm'.repeat(200));
  assert.equal(long.length, 255);
  assert.equal(long, subscriptionId('n'.repeat(200), 'm'.repeat(200)));
  assert.notEqual(long, subscriptionId('n'.repeat(200), 'm'.repeat(199) + 'x'));
});
