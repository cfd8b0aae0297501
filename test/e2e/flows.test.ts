// Sequence and Parallel (Knative's flows API and its e2e tests SequenceTest, ParallelWithTwoBranches) against the real
// `sluice` CLI: the Knative docs' examples run unchanged (but for the PingSource schedule) with the example services
// process (examples/channels/services.mjs) standing in for the Knative Services, plus real HTTP subscribers.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, type ChildProcess } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { ROOT, cleanupScope, postEvent, replyHeaders, startSubscriber, waitFor, waitForIdle, type SluiceProcess, type Subscriber } from './harness.js';
import { startSluiceIn } from './fixtures.js';
import { broker, documents, resource, trigger } from './manifests.js';

const cleanup = cleanupScope();

interface Displayed {
  display: Record<string, string>;
  data: Record<string, unknown>;
}

/** Starts examples/channels/services.mjs on a free port; collects what its event-display prints. */
async function startServices(): Promise<{ url: string; displayed: Displayed[] }> {
  const child: ChildProcess = spawn(process.execPath, [join(ROOT, 'examples/channels/services.mjs')], { env: { ...process.env, PORT: '0' }, stdio: ['ignore', 'pipe', 'inherit'] });
  const exited = new Promise<void>((resolve) => child.on('exit', () => resolve()));
  cleanup.add(async () => {
    if (child.exitCode === null && child.signalCode === null) child.kill('SIGTERM');
    await exited;
  });
  const displayed: Displayed[] = [];
  let buffer = '';
  let url = '';
  child.stdout!.on('data', (d: Buffer) => {
    buffer += d.toString();
    let nl: number;
    while ((nl = buffer.indexOf('\n')) >= 0) {
      const line = buffer.slice(0, nl);
      buffer = buffer.slice(nl + 1);
      const m = /services listening on (http:\/\/\S+)/.exec(line);
      if (m) url = m[1]!;
      else if (line.startsWith('{')) displayed.push(JSON.parse(line) as Displayed);
    }
  });
  await waitFor(() => url !== '', 'the example services to listen');
  return { url, displayed };
}

/** Runs `yaml`; the subscribers it sends to are closed after it stops, at the end of the file. */
function run(yaml: string, options: { subscribers?: Subscriber[]; args?: string[] } = {}): Promise<SluiceProcess> {
  cleanup.add(...(options.subscribers ?? []).map((s) => () => s.close()));
  return startSluiceIn(cleanup, { yaml, ...(options.args ? { args: options.args } : {}) });
}

test('Sequence (the Knative docs example): PingSource → 3 appending steps → reply to event-display', async () => {
  const services = await startServices();
  // The docs' YAML as shipped in examples/, firing every second instead of every 10 seconds.
  const yaml = readFileSync(join(ROOT, 'examples/channels/sequence.yaml'), 'utf8').replace('schedule: "*/10 * * * * *"', 'schedule: "* * * * * *"');
  assert.match(yaml, /schedule: "\* \* \* \* \* \*"/);
  await run(yaml, { args: ['--service-url-template', `${services.url}/{name}`] });
  await waitFor(() => services.displayed.length >= 2, 'two events at event-display', 15_000);
  for (const d of services.displayed) {
    assert.deepEqual(d.data, { message: 'Hello world! - Handled by 0 - Handled by 1 - Handled by 2' });
    assert.equal(d.display['type'], 'dev.knative.sources.ping');
    assert.equal(d.display['source'], '/apis/v1/namespaces/default/pingsources/ping-source');
  }
  const ids = services.displayed.map((d) => d.display['id']);
  assert.equal(new Set(ids).size, ids.length, 'each ping event reaches event-display once');
});

test('Sequence: a step that replies nothing ends the chain; each step has its own delivery; a Trigger feeds it by ref', async () => {
  const step0 = await startSubscriber((r, i) =>
    i === 0 ? { status: 500 } : { status: 200, headers: replyHeaders({ id: String(r.event!.attributes['id']), source: '/step0', type: 'step0' }), body: `${String(r.event!.data)}+0` },
  );
  const step1 = await startSubscriber((r) =>
    String(r.event!.data).startsWith('stop')
      ? { status: 202 }
      : { status: 200, headers: replyHeaders({ id: String(r.event!.attributes['id']), source: '/step1', type: 'step1' }), body: `${String(r.event!.data)}+1` },
  );
  const final = await startSubscriber();
  const sluice = await run(
    documents(
      broker('default'),
      trigger('into-sequence', { broker: 'default', subscriber: { apiVersion: 'flows.knative.dev/v1', kind: 'Sequence', name: 'two-steps' } }),
      resource('flows.knative.dev/v1', 'Sequence', 'two-steps', {
        steps: [{ uri: step0.url, delivery: { retry: 1, backoffDelay: 'PT0.02S' } }, { uri: step1.url }],
        reply: { uri: final.url },
      }),
    ),
    { subscribers: [step0, step1, final] },
  );
  await postEvent(`${sluice.url}/default/default`, { id: 'go', source: '/t', type: 't' }, 'go', { 'content-type': 'text/plain' });
  await final.waitForCount(1);
  await postEvent(`${sluice.url}/default/default`, { id: 'stop', source: '/t', type: 't' }, 'stop', { 'content-type': 'text/plain' });
  await step1.waitForCount(2);
  await waitForIdle(sluice);
  assert.equal(step0.received.length, 3, 'go: one failed attempt and its retry; stop: one attempt');
  assert.deepEqual(final.ids(), ['go'], 'the chain ended at the step that replied nothing');
  assert.equal(final.received[0]!.event!.data!.toString(), 'go+0+1');
  assert.equal(final.received[0]!.event!.attributes['type'], 'step1');
  // The address of a Sequence is its first channel, as in Knative.
  assert.equal((await postEvent(`${sluice.url}/channels/default/two-steps-kn-sequence-0`, { id: 'direct', source: '/t', type: 't' }, 'direct', { 'content-type': 'text/plain' })).status, 202);
  await final.waitForCount(2);
  assert.equal(final.received[1]!.event!.data!.toString(), 'direct+0+1');
});

test('Parallel (the Knative docs odd/even example) plus a branch without filter: exactly the right events arrive', async () => {
  const services = await startServices();
  const unfiltered = await startSubscriber((r) => ({
    status: 200,
    headers: replyHeaders({ id: `${String(r.event!.attributes['id'])}-all`, source: '/all', type: 'all' }),
    body: String(r.event!.data),
  }));
  const branchReply = await startSubscriber();
  const doc = readFileSync(join(ROOT, 'examples/channels/parallel.yaml'), 'utf8');
  // A third branch without filter (its channel subscribes the ingress directly), with its own reply destination.
  const yaml = doc.replace(
    '  reply:\n    ref:\n      apiVersion: serving.knative.dev/v1\n      kind: Service\n      name: event-display\n',
    `    - subscriber:\n        uri: ${unfiltered.url}\n      reply:\n        uri: ${branchReply.url}\n  reply:\n    ref:\n      apiVersion: serving.knative.dev/v1\n      kind: Service\n      name: event-display\n`,
  );
  assert.notEqual(yaml, doc);
  const sluice = await run(yaml, { subscribers: [unfiltered, branchReply], args: ['--service-url-template', `${services.url}/{name}`] });
  for (const value of [1, 2, 3, 4]) {
    assert.equal((await postEvent(`${sluice.url}/default/flows`, { id: `n${value}`, source: '/numbers', type: 'number' }, JSON.stringify({ value }))).status, 202);
  }
  // Not for the Parallel: the Trigger filters on type.
  await postEvent(`${sluice.url}/default/flows`, { id: 'other', source: '/numbers', type: 'other' }, '{"value": 6}');
  await waitFor(() => services.displayed.length >= 4 && branchReply.received.length >= 4, 'the transformed events', 15_000);
  await waitForIdle(sluice);
  const shown = services.displayed.map((d) => `${d.display['id']}:${String(d.data['message'])}`).sort();
  assert.deepEqual(shown, ['n1:this is odd!', 'n2:we are even!', 'n3:this is odd!', 'n4:we are even!'], 'each number passed exactly one filter');
  assert.deepEqual(unfiltered.ids().sort(), ['n1', 'n2', 'n3', 'n4'], 'the branch without filter gets every event once');
  assert.deepEqual(branchReply.ids().sort(), ['n1-all', 'n2-all', 'n3-all', 'n4-all'], "the branch's reply goes to the branch reply, not spec.reply");
  // The address of a Parallel is its ingress channel.
  assert.equal((await postEvent(`${sluice.url}/channels/default/odd-even-parallel-kn-parallel`, { id: 'n8', source: '/numbers', type: 'number' }, '{"value": 8}')).status, 202);
  await waitFor(() => services.displayed.some((d) => d.display['id'] === 'n8'), 'n8 at event-display');
  assert.equal(services.displayed.find((d) => d.display['id'] === 'n8')!.data['message'], 'we are even!');
});
