import { test } from 'node:test';
import assert from 'node:assert/strict';
import type { Logger } from '@sluice/core';
import { kafkajsLogCreator } from '../src/index.js';

test('kafkajs errors and warnings are warnings, its info and debug lines debug; its own timestamp and logger name are dropped', () => {
  const lines: Array<[string, object, string | undefined]> = [];
  const logger: Logger = {
    debug: (o, m) => void lines.push(['debug', o, m]),
    info: (o, m) => void lines.push(['info', o, m]),
    warn: (o, m) => void lines.push(['warn', o, m]),
    error: (o, m) => void lines.push(['error', o, m]),
    child: () => logger,
  };
  const log = kafkajsLogCreator(logger)();
  log({
    namespace: 'Connection',
    level: 1,
    log: { message: 'Connection error', timestamp: 't', logger: 'kafkajs', broker: 'b:9092' },
  });
  log({ namespace: 'Consumer', level: 2, log: { message: 'rebalancing', timestamp: 't' } });
  log({ namespace: 'Consumer', level: 4, log: { message: 'Starting', timestamp: 't', groupId: 'g' } });
  log({ namespace: 'Runner', level: 5, log: { message: 'fetch', timestamp: 't' } });
  assert.deepEqual(lines, [
    ['warn', { kafkajs: 'Connection', broker: 'b:9092' }, 'Connection error'],
    ['warn', { kafkajs: 'Consumer' }, 'rebalancing'],
    ['debug', { kafkajs: 'Consumer', groupId: 'g' }, 'Starting'],
    ['debug', { kafkajs: 'Runner' }, 'fetch'],
  ]);
});
