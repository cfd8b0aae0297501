// EventPolicy and token requirements on channels, flows, JobSinks and EventTransforms (docs/security.md "Who may send: EventPolicy"), against a
// spawned `sluice run --authentication-oidc enabled`: producers' tokens from an external issuer, Subscriptions' from
// Sluice's own, the same rules as brokers'.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { replyHeaders, startSluice, startSubscriber, waitFor } from './harness.js';
import { broker, channel, channelRef, documents, eventPolicy, eventTransform, resource, subscription, transformRef, trigger, triggerRef, type Ref } from './manifests.js';
import { startIssuer } from './oidc-issuer.js';
import { assertPolicies, brokerAudience, channelAudience as imc, sendEvent as send, statusOf, type PolicyStatus } from './trust-fixtures.js';

const PRODUCERS = { sub: 'system:serviceaccount:shop:producer-*' };

test('channels and flows require a token and apply EventPolicies and the default mode; Subscriptions send to channels as themselves', async () => {
  const issuer = await startIssuer();
  const sub = await startSubscriber();
  const dls = await startSubscriber();
  // Each step of the Sequence answers with the event it got, so the second step is reached through an inner channel.
  const step = await startSubscriber((r) => ({ status: 200, headers: replyHeaders({ id: String(r.event!.attributes['id']), source: '/step', type: 'stepped' }), body: '{}' }));
  const yaml = documents(
    channel('guarded', { labels: { team: 'orders' } }),
    channel('plain', {}, 'Channel'),
    channel('other'),
    eventPolicy('orders-in', {
      to: [{ selector: { apiVersion: 'messaging.knative.dev/v1', kind: 'InMemoryChannel', matchLabels: { team: 'orders' } } }],
      from: [PRODUCERS, { apiVersion: 'messaging.knative.dev/v1', kind: 'Subscription', name: 'forward' }],
    }),
    subscription('out', { channel: channelRef('guarded'), subscriber: sub.url }),
    subscription('forward', { channel: channelRef('plain', 'Channel'), subscriber: channelRef('guarded') }),
    subscription('sneak', { channel: channelRef('other'), subscriber: channelRef('guarded'), delivery: { retry: 0, deadLetterSink: dls.url } }),
    resource('flows.knative.dev/v1', 'Sequence', 'seq', { steps: [{ uri: step.url }, { uri: step.url }] }, { namespace: 'flows' }),
    eventPolicy('producers-only', { from: [PRODUCERS] }, { namespace: 'flows' }),
  );
  const sluice = await startSluice({ yaml, args: ['--authentication-oidc', 'enabled', '--oidc-issuer', issuer.url] });
  try {
    const ch = (ns: string, name: string) => `${sluice.url}/channels/${ns}/${name}`;
    const producer = (audience: string) => issuer.bearer('system:serviceaccount:shop:producer-1', audience);

    // An InMemoryChannel selected by a policy: the subjects it names pass, others 403, no token or another audience 401.
    assert.equal((await send(ch('default', 'guarded'), 'ok-1', await producer(imc('guarded')))).status, 202);
    const intruder = await send(ch('default', 'guarded'), 'no-1', await issuer.bearer('system:serviceaccount:shop:intruder', imc('guarded')));
    assert.equal(intruder.status, 403);
    assert.match(intruder.body, /SLUICE_FORBIDDEN.*system:serviceaccount:shop:intruder is not allowed by the EventPolicies of inmemorychannel default\/guarded \(orders-in\)/);
    const none = await send(ch('default', 'guarded'), 'no-2');
    assert.equal(none.status, 401);
    assert.match(none.body, /bearer token/);
    assert.equal((await send(ch('default', 'guarded'), 'no-3', await producer(brokerAudience('guarded')))).status, 401, 'a token for another audience');

    // A Channel without policies: the default mode (allow-same-namespace), by its own audience or its backing channel's.
    const local = 'system:serviceaccount:default:app';
    assert.equal((await send(ch('default', 'plain'), 'ok-2', await issuer.bearer(local, 'messaging.knative.dev/channel/default/plain'))).status, 202);
    assert.equal((await send(ch('default', 'plain'), 'ok-3', await issuer.bearer(local, imc('plain')))).status, 202);
    const foreign = await send(ch('default', 'plain'), 'no-4', await producer(imc('plain')));
    assert.equal(foreign.status, 403);
    assert.match(foreign.body, /no EventPolicy applies to channel default\/plain, the default authorization mode is allow-same-namespace/);

    // ok-2 and ok-3 reach `guarded` through the Subscription `forward`, whose token the policy names by ref; `sneak`
    // is not named: its send is refused (403) and dead-lettered.
    assert.equal((await send(ch('default', 'other'), 'sneaked', await issuer.bearer(local, imc('other')))).status, 202);
    await sub.waitForCount(3);
    assert.deepEqual(sub.ids().sort(), ['ok-1', 'ok-2', 'ok-3']);
    await dls.waitForCount(1);
    assert.equal(dls.received[0]!.event?.attributes['id'], 'sneaked');
    assert.equal(dls.received[0]!.event?.attributes['knativeerrorcode'], '403');

    // A Sequence is addressed by its own audience; the namespace-wide policy applies to it, and its inner channels
    // still take the steps' replies (they take events only from the Sequence's own Subscriptions).
    const seq = ch('flows', 'seq-kn-sequence-0');
    assert.equal((await send(seq, 'flow-1', await producer('flows.knative.dev/sequence/flows/seq'))).status, 202);
    assert.equal((await send(seq, 'no-5', await issuer.bearer('system:serviceaccount:flows:app', 'flows.knative.dev/sequence/flows/seq'))).status, 403, 'not named by the policy');
    await step.waitForCount(2);
    assert.deepEqual(step.ids(), ['flow-1', 'flow-1']);
    // Anyone else sending to an inner channel directly is refused.
    const inner = await send(ch('flows', 'seq-kn-sequence-1'), 'no-6', await producer(imc('seq-kn-sequence-1', 'flows')));
    assert.equal(inner.status, 403);
    assert.match(inner.body, /takes events only from system:serviceaccount:flows:seq-kn-sequence-0-oidc-messaging\.knative\.dev-subscription/);

    // Status as Knative's channels report it.
    const g = await statusOf(sluice.adminUrl, 'inmemorychannels/default/guarded');
    assertPolicies(g, ['orders-in']);
    assert.equal(g.status.address?.audience, imc('guarded'));
    const sq = await statusOf(sluice.adminUrl, 'sequences/flows/seq');
    assertPolicies(sq, ['producers-only']);
    assert.equal(sq.status.address?.audience, 'flows.knative.dev/sequence/flows/seq');
    assertPolicies(await statusOf(sluice.adminUrl, 'channels/default/plain'), []);
  } finally {
    await sluice.stop();
    issuer.close();
    await Promise.all([sub.close(), dls.close(), step.close()]);
  }
});

test('a JobSink requires a token and applies its EventPolicies; a Trigger sends to it as itself', async () => {
  const issuer = await startIssuer();
  const jobs: Ref = { apiVersion: 'sinks.knative.dev/v1alpha1', kind: 'JobSink', name: 'jobs' };
  const job = { spec: { template: { spec: { restartPolicy: 'Never', containers: [{ name: 'main', command: ['node', '-e', 'process.exit(0)'] }] } } } };
  const yaml = documents(
    broker('b'),
    trigger('to-job', { broker: 'b', subscriber: jobs }),
    resource(jobs.apiVersion, jobs.kind, jobs.name, { job }),
    eventPolicy('jobs-in', { to: [jobs], from: [PRODUCERS, triggerRef('to-job')] }),
  );
  const sluice = await startSluice({ yaml, args: ['--authentication-oidc', 'enabled', '--oidc-issuer', issuer.url] });
  try {
    const sink = `${sluice.url}/jobsinks/default/jobs`;
    const audience = 'sinks.knative.dev/jobsink/default/jobs';
    assert.equal((await send(sink, 'direct', await issuer.bearer('system:serviceaccount:shop:producer-1', audience))).status, 202);
    const other = await send(sink, 'no-1', await issuer.bearer('system:serviceaccount:default:app', audience));
    assert.equal(other.status, 403);
    assert.match(other.body, /SLUICE_FORBIDDEN.*not allowed by the EventPolicies of jobsink default\/jobs \(jobs-in\)/);
    assert.equal((await send(sink, 'no-2')).status, 401);
    // Through the broker: the Trigger's token names it, and the policy names the Trigger.
    assert.equal((await send(`${sluice.url}/default/b`, 'via-trigger', await issuer.bearer('system:serviceaccount:default:app', brokerAudience('b')))).status, 202);
    type View = PolicyStatus & { status: { jobs: Record<string, number>; recentJobs: { id: string }[] } };
    const view = async () => (await statusOf(sluice.adminUrl, 'jobsinks/default/jobs')) as View;
    await waitFor(async () => (await view()).status.jobs['succeeded'] === 2, 'two jobs to succeed', 30_000);
    const v = await view();
    assert.deepEqual(v.status.recentJobs.map((j) => j.id).sort(), ['direct', 'via-trigger']);
    assertPolicies(v, ['jobs-in']);
    assert.equal(v.status.address?.audience, audience);
  } finally {
    await sluice.stop();
    issuer.close();
  }
});

test('an EventTransform requires a token and applies its EventPolicies; a Trigger sends to it as itself and the policy can refuse another', async () => {
  const issuer = await startIssuer();
  const sub = await startSubscriber();
  const dls = await startSubscriber();
  const shape = transformRef('shape');
  const yaml = documents(
    broker('b'),
    trigger('to-shape', { broker: 'b', filter: { type: 'order' }, subscriber: shape }),
    trigger('sneaky', { broker: 'b', filter: { type: 'sneak' }, subscriber: shape, delivery: { retry: 0, deadLetterSink: dls.url } }),
    trigger('shaped-out', { broker: 'b', filter: { type: 'shaped' }, subscriber: sub.url }),
    eventTransform('shape', { expression: '$merge([$, {"type": "shaped"}])' }),
    eventPolicy('shape-in', { to: [shape], from: [PRODUCERS, triggerRef('to-shape')] }),
  );
  const sluice = await startSluice({ yaml, args: ['--authentication-oidc', 'enabled', '--oidc-issuer', issuer.url] });
  try {
    const transform = `${sluice.url}/transforms/default/shape`;
    const audience = 'eventing.knative.dev/eventtransform/default/shape';
    const direct = await send(transform, 'direct', await issuer.bearer('system:serviceaccount:shop:producer-1', audience));
    assert.equal(direct.status, 200, direct.body);
    assert.equal((JSON.parse(direct.body) as { type: string }).type, 'shaped');
    const other = await send(transform, 'no-1', await issuer.bearer('system:serviceaccount:default:app', audience));
    assert.equal(other.status, 403);
    assert.match(other.body, /SLUICE_FORBIDDEN.*not allowed by the EventPolicies of eventtransform default\/shape \(shape-in\)/);
    assert.equal((await send(transform, 'no-2')).status, 401);
    const wrongAudience = await send(transform, 'no-3', await issuer.bearer('system:serviceaccount:shop:producer-1', brokerAudience('b')));
    assert.equal(wrongAudience.status, 401);
    // Through the broker: the Trigger's token names it, the policy names the Trigger, and the reply comes back shaped.
    const brokerToken = await issuer.bearer('system:serviceaccount:default:app', brokerAudience('b'));
    assert.equal((await send(`${sluice.url}/default/b`, 'via-trigger', brokerToken, 'order')).status, 202);
    await sub.waitForCount(1);
    assert.equal(sub.received[0]!.event?.attributes['id'], 'via-trigger');
    // A Trigger the policy does not name is refused (403) and its event dead-lettered.
    assert.equal((await send(`${sluice.url}/default/b`, 'sneaked', brokerToken, 'sneak')).status, 202);
    await dls.waitForCount(1);
    assert.equal(dls.received[0]!.event?.attributes['knativeerrorcode'], '403');
    const v = await statusOf(sluice.adminUrl, 'eventtransforms/default/shape');
    assertPolicies(v, ['shape-in']);
    assert.equal(v.status.address?.audience, audience);
    assert.equal(sub.received.length, 1);
  } finally {
    await sluice.stop();
    await sub.close();
    await dls.close();
    issuer.close();
  }
});
