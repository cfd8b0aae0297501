import { test } from 'node:test';
import assert from 'node:assert/strict';
import { LOG_NAME_KINDS, brokerLog, channelLog, logName, parseLogName, subscriptionGroup, triggerGroup } from '../src/index.js';

test('the four names keep the format stored on disk and in Kafka', () => {
  assert.equal(brokerLog('default', 'orders'), 'broker:default/orders');
  assert.equal(channelLog('shop', 'c-1'), 'channel:shop/c-1');
  assert.equal(triggerGroup('default', 'all'), 'trigger:default/all');
  assert.equal(subscriptionGroup('shop', 's'), 'subscription:shop/s');
  assert.equal(logName({ kind: 'trigger', namespace: 'a', name: 'b' }), 'trigger:a/b');
});

test('a namespace/name key gives the same name as its parts; a key without a namespace is used as is', () => {
  assert.equal(brokerLog('default/orders'), brokerLog('default', 'orders'));
  assert.equal(channelLog('shop/c-1'), channelLog('shop', 'c-1'));
  assert.equal(triggerGroup('default/all'), triggerGroup('default', 'all'));
  assert.equal(subscriptionGroup('shop/s'), subscriptionGroup('shop', 's'));
  assert.equal(triggerGroup('all'), 'trigger:all');
  assert.equal(parseLogName(triggerGroup('all')), undefined, 'it names no trigger');
});

test('every name reads back as what built it, for names with every character a DNS label allows', () => {
  const long = `a${'-9'.repeat(30)}z`; // 62 characters: digits, hyphens, at most a label's length
  const build = {
    broker: brokerLog,
    channel: channelLog,
    trigger: triggerGroup,
    subscription: subscriptionGroup,
  } as const;
  for (const kind of LOG_NAME_KINDS) {
    for (const [namespace, name] of [
      ['default', 'orders'],
      ['0', '1'],
      ['x-y', 'a--b'],
      [long, long],
      ['kube-system', '9'],
    ] as const) {
      const value = build[kind](namespace, name);
      assert.deepEqual(parseLogName(value), { kind, namespace, name }, value);
      assert.deepEqual(parseLogName(value, kind), { kind, namespace, name }, value);
      assert.equal(logName(parseLogName(value)!), value);
    }
  }
});

test('parseLogName reads the namespace up to the first slash and the rest as the name', () => {
  assert.deepEqual(parseLogName('broker:ns/a/b'), { kind: 'broker', namespace: 'ns', name: 'a/b' });
  assert.deepEqual(parseLogName('trigger:ns/a:b'), { kind: 'trigger', namespace: 'ns', name: 'a:b' });
});

test('parseLogName rejects other strings and, when given a kind, names of another kind', () => {
  for (const value of ['', 'log', 'g1', 'broker:', 'broker:ns', 'broker:ns/', 'broker:/name', 'broker/ns/name', 'Broker:ns/name', 'source:ns/name', ' broker:ns/name', 'broker:ns/line\nbreak']) {
    assert.equal(parseLogName(value), undefined, JSON.stringify(value));
  }
  assert.equal(parseLogName('trigger:default/all', 'broker'), undefined);
  assert.equal(parseLogName('broker:default/orders', 'trigger'), undefined);
  assert.equal(parseLogName('subscription:default/s', 'trigger'), undefined);
  assert.equal(parseLogName('channel:default/c', 'broker'), undefined);
});
