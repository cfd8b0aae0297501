import { test } from 'node:test';
import assert from 'node:assert/strict';
import type { ResourceView } from '@sluice/admin';
import { resourceTable } from '../src/get.js';

const ready = { conditions: [{ type: 'Ready', status: 'True' as const }] };

test('get: addressables show their URL and sources their sink, as kubectl and kn list them', () => {
  const channels: ResourceView[] = [
    {
      apiVersion: 'messaging.knative.dev/v1',
      kind: 'InMemoryChannel',
      metadata: { name: 'orders', namespace: 'default' },
      status: { ...ready, address: { url: 'http://127.0.0.1:8080/channels/default/orders' } },
    },
  ];
  assert.match(
    resourceTable('InMemoryChannel', channels, { wide: false, allNamespaces: false, colour: false }),
    /^NAME +URL +READY +REASON\norders +http:\/\/127\.0\.0\.1:8080\/channels\/default\/orders +True\n$/,
  );
  const sources: ResourceView[] = [
    { apiVersion: 'sources.knative.dev/v1', kind: 'KafkaSource', metadata: { name: 'ks', namespace: 'default' }, status: { ...ready, sinkUri: 'http://127.0.0.1:8080/default/default' } },
  ];
  assert.match(resourceTable('KafkaSource', sources, { wide: false, allNamespaces: false, colour: false }), /^NAME +SINK +READY +REASON\nks +http:\S+\/default\/default +True\n$/);
  const plain: ResourceView[] = [{ apiVersion: 'v1', kind: 'Service', metadata: { name: 'svc', namespace: 'default' }, status: ready }];
  assert.match(resourceTable('Service', plain, { wide: false, allNamespaces: false, colour: false }), /^NAME +READY +REASON\n/);
});
