import { test } from 'node:test';
import assert from 'node:assert/strict';
import { isSluiceError } from '@sluice/core';
import type { SemanticCheck, SluiceConfig } from '@sluice/config';
import type { BrokerClass } from '@sluice/store';
import { pluginChecks, pluginRuntimeOptions, type ComponentFactory, type SluicePlugin } from '../src/index.js';

const config = { resources: [], brokers: [], triggers: [] } as unknown as SluiceConfig;
const check = (): SemanticCheck => () => undefined;
const cls = (): BrokerClass => ({
  open: () => {
    throw new Error('not opened in this test');
  },
});

test('checks and components come from every plugin, in registry order; plugins without them add nothing', () => {
  const a = check();
  const b = check();
  const factoryA: ComponentFactory = () => [];
  const factoryC: ComponentFactory = () => [];
  const plugins: SluicePlugin[] = [
    { name: 'a', checks: () => [a], components: factoryA },
    { name: 'b', checks: () => [b] },
    { name: 'c', components: factoryC },
  ];
  assert.deepEqual(pluginChecks(plugins), [a, b]);
  assert.deepEqual(pluginRuntimeOptions(plugins, config).components, [factoryA, factoryC]);
});

test('broker classes are merged from every plugin and handed the configuration', () => {
  const seen: SluiceConfig[] = [];
  const kafka = cls();
  const other = cls();
  const { brokerClasses } = pluginRuntimeOptions(
    [
      { name: 'k', brokerClasses: (c) => (seen.push(c), { Kafka: kafka }) },
      { name: 'o', brokerClasses: () => ({ Other: other }) },
    ],
    config,
  );
  assert.deepEqual(brokerClasses, { Kafka: kafka, Other: other });
  assert.deepEqual(seen, [config]);
});

test('two plugins providing one broker class is an error naming the class', () => {
  assert.throws(
    () =>
      pluginRuntimeOptions(
        [
          { name: 'one', brokerClasses: () => ({ Kafka: cls() }) },
          { name: 'two', brokerClasses: () => ({ Kafka: cls() }) },
        ],
        config,
      ),
    (err: unknown) => isSluiceError(err, 'SLUICE_PLUGIN_CONFLICT') && /Kafka/.test(err.message) && /two/.test(err.message),
  );
});
