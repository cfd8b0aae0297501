import { test } from 'node:test';
import assert from 'node:assert/strict';
import type { DestinationResolver, RuntimeComponent } from '@sluice/plugin';
import { pairComponents, planComponents, type RunningComponent } from '../src/component-host.js';

/** A component that does nothing; `register` makes it addressable. */
function component(name: string, addressable = false): RuntimeComponent {
  return { name, start: async () => {}, stop: async () => {}, ...(addressable ? { register: async () => {} } : {}) };
}
/** A running component; one with `register` registered addresses unless `addresses` says otherwise. */
const running = (c: RuntimeComponent, fingerprint: string | undefined, addresses = c.register !== undefined): RunningComponent => ({
  component: c,
  fingerprint,
  scope: { routes: new Set(), observers: new Set(), statuses: new Map(), published: new Set(), deliveries: new Set(), resolver: { hasAddresses: () => addresses } as unknown as DestinationResolver },
});

test('pairComponents keeps the same object, and a new object with the same name and resources', () => {
  const a = component('a');
  const b = component('b');
  const old = [running(a, 'fa'), running(b, 'fb')];
  const b2 = component('b');
  const pairs = pairComponents(old, [
    { component: a, fingerprint: 'fa' },
    { component: b2, fingerprint: 'fb' },
  ]);
  assert.equal(pairs.get(0), old[0]);
  assert.equal(pairs.get(1), old[1]);
});

test('pairComponents replaces a component whose resources changed or that names none', () => {
  const old = [running(component('a'), 'fa'), running(component('b'), undefined)];
  const pairs = pairComponents(old, [
    { component: component('a'), fingerprint: 'fa2' },
    { component: component('b'), fingerprint: undefined },
  ]);
  assert.equal(pairs.size, 0);
});

test('pairComponents pairs each running component once', () => {
  const old = [running(component('a'), 'f')];
  const pairs = pairComponents(old, [
    { component: component('a'), fingerprint: 'f' },
    { component: component('a'), fingerprint: 'f' },
  ]);
  assert.deepEqual([...pairs.keys()], [0]);
});

test('pairComponents keeps only the very same objects when an addressable component is replaced', () => {
  const same = component('same');
  const old = [running(component('channels', true), 'fc'), running(same, 'fs'), running(component('source'), 'fo')];
  const pairs = pairComponents(old, [
    { component: component('channels', true), fingerprint: 'fc2' },
    { component: same, fingerprint: 'fs' },
    { component: component('source'), fingerprint: 'fo' },
  ]);
  assert.deepEqual([...pairs.entries()], [[1, old[1]]]);
});

test('planComponents updates a running component of the same name in place when it can, and never when an addressable one is replaced', () => {
  const updatable = (name: string): RuntimeComponent => ({ ...component(name, true), update: async () => [] });
  const channels = updatable('channels');
  const source = component('source');
  const old = [running(channels, 'fc'), running(source, 'fs')];
  const plan = planComponents(old, [
    { component: updatable('channels'), fingerprint: 'fc2' },
    { component: component('source'), fingerprint: 'fs' },
  ]);
  assert.deepEqual([...plan.updated.entries()], [[0, old[0]]], 'the channels take the change in place');
  assert.deepEqual([...plan.kept.entries()], [[1, old[1]]], 'their addresses stay: the unchanged source is kept');

  const workloads = component('workloads', true);
  const withWorkloads = [running(channels, 'fc'), running(workloads, 'fw'), running(source, 'fs')];
  const replaced = planComponents(withWorkloads, [
    { component: updatable('channels'), fingerprint: 'fc2' },
    { component: component('workloads', true), fingerprint: 'fw2' },
    { component: component('source'), fingerprint: 'fs' },
  ]);
  assert.equal(replaced.updated.size, 0, 'a replaced addressable may move addresses the channels resolved');
  assert.equal(replaced.kept.size, 0);
});

test('a replaced component that registered no addresses (a SinkBinding) leaves the others running', () => {
  const binding = component('sinkbinding', true);
  const source = component('source');
  const channels = { ...component('channels', true), update: async () => [] };
  const old = [running(binding, 'fb', false), running(source, 'fs'), running(channels, 'fc')];
  const plan = planComponents(old, [
    { component: component('sinkbinding', true), fingerprint: 'fb2' },
    { component: component('source'), fingerprint: 'fs' },
    { component: { ...component('channels', true), update: async () => [] }, fingerprint: 'fc2' },
  ]);
  assert.deepEqual([...plan.kept.entries()], [[1, old[1]]], 'the unchanged source is kept');
  assert.deepEqual([...plan.updated.entries()], [[2, old[2]]], 'the channels take their change in place');
});

test('a component that says it cannot take a change in place (its addresses would move) is replaced, and the others with it', () => {
  const workloads = (movable: boolean): RuntimeComponent => ({ ...component('workloads', true), update: async () => [], canUpdate: () => movable });
  const source = component('source');
  const inPlace = [running(workloads(true), 'fw'), running(source, 'fs')];
  const plan = planComponents(inPlace, [
    { component: workloads(true), fingerprint: 'fw2' },
    { component: component('source'), fingerprint: 'fs' },
  ]);
  assert.deepEqual([...plan.updated.entries()], [[0, inPlace[0]]], 'the workloads take the change in place');
  assert.deepEqual([...plan.kept.entries()], [[1, inPlace[1]]], 'the source keeps running');

  const moving = [running(workloads(false), 'fw'), running(source, 'fs')];
  const replaced = planComponents(moving, [
    { component: workloads(false), fingerprint: 'fw2' },
    { component: component('source'), fingerprint: 'fs' },
  ]);
  assert.equal(replaced.updated.size, 0, 'addresses would move: the workloads are replaced');
  assert.equal(replaced.kept.size, 0, 'and the source, which may have resolved one of them, too');
});
