// `sluice validate` on the examples of the eventing kinds users pair with brokers (KafkaNamespaced, …): the shipped
// examples are valid, and each invalid example is reported at its file:line:col.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { runCli } from './harness.js';

test('KafkaNamespaced: the example is valid; a ConfigMap of another namespace is an error at spec.config.namespace', async () => {
  const ok = await runCli(['validate', '-f', 'examples/kafka-broker/kafka-namespaced.yaml']);
  assert.equal(ok.code, 0, ok.stderr);
  assert.match(ok.stdout, /3 resources valid/);
  const bad = await runCli(['validate', '-f', 'examples/kafka-broker/invalid.yaml']);
  assert.equal(bad.code, 1);
  assert.equal(
    bad.stderr.trim().split('\n')[0],
    `examples/kafka-broker/invalid.yaml:23:16: Broker/default: a KafkaNamespaced broker's spec.config must be a ConfigMap in the broker's namespace "team-a", not "knative-eventing"`,
  );
});
