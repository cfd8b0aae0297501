// EventPolicy and token requirements on channels, flows, JobSinks and EventTransforms (docs/security.md "Who may send: EventPolicy"), against a
// spawned `sluice run --authentication-oidc enabled`: producers' tokens from an external issuer, Subscriptions' from
// Sluice's own, the same rules as brokers'.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { postEvent, replyHeaders, startSluice, startSubscriber, waitFor } from './harness.js';
import { startIssuer, type TestIssuer } from './oidc-issuer.js';

const bearer = async (issuer: TestIssuer, sub: string, audience: string): Promise<Record<string, string>> => ({ authorization: `Bearer ${await issuer.sign({ sub, aud: audience })}` });
const send = (url: string, id: string, headers: Record<string, string> = {}) => postEvent(url, { id, source: '/t', type: 't' }, '{}', headers);

test('channels and flows require a token and apply EventPolicies and the default mode; Subscriptions send to channels as themselves', async () => {
  const issuer = await startIssuer();
  const sub = await startSubscriber();
  const dls = await startSubscriber();
  // Each step of the Sequence answers with the event it got, so the second step is reached through an inner channel.
  const step = await startSubscriber((r) => ({ status: 200, headers: replyHeaders({ id: String(r.event!.attributes['id']), source: '/step', type: 'stepped' }), body: '{}' }));
  const yaml = `apiVersion: messaging.knative.dev/v1
kind: InMemoryChannel
metadata:
  name: guarded
  labels:
    team: orders
---
apiVersion: messaging.knative.dev/v1
kind: Channel
metadata:
  name: plain
---
apiVersion: messaging.knative.dev/v1
kind: InMemoryChannel
metadata:
  name: other
---
apiVersion: eventing.knative.dev/v1alpha1
kind: EventPolicy
metadata:
  name: orders-in
spec:
  to:
    - selector:
        apiVersion: messaging.knative.dev/v1
        kind: InMemoryChannel
        matchLabels:
          team: orders
  from:
    - sub: system:serviceaccount:shop:producer-*
    - ref:
        apiVersion: messaging.knative.dev/v1
        kind: Subscription
        name: forward
---
apiVersion: messaging.knative.dev/v1
kind: Subscription
metadata:
  name: out
spec:
  channel:
    apiVersion: messaging.knative.dev/v1
    kind: InMemoryChannel
    name: guarded
  subscriber:
    uri: ${sub.url}
---
apiVersion: messaging.knative.dev/v1
kind: Subscription
metadata:
  name: forward
spec:
  channel:
    apiVersion: messaging.knative.dev/v1
    kind: Channel
    name: plain
  subscriber:
    ref:
      apiVersion: messaging.knative.dev/v1
      kind: InMemoryChannel
      name: guarded
---
apiVersion: messaging.knative.dev/v1
kind: Subscription
metadata:
  name: sneak
spec:
  channel:
    apiVersion: messaging.knative.dev/v1
    kind: InMemoryChannel
    name: other
  subscriber:
    ref:
      apiVersion: messaging.knative.dev/v1
      kind: InMemoryChannel
      name: guarded
  delivery:
    retry: 0
    deadLetterSink:
      uri: ${dls.url}
---
apiVersion: flows.knative.dev/v1
kind: Sequence
metadata:
  name: seq
  namespace: flows
spec:
  steps:
    - uri: ${step.url}
    - uri: ${step.url}
---
apiVersion: eventing.knative.dev/v1alpha1
kind: EventPolicy
metadata:
  name: producers-only
  namespace: flows
spec:
  from:
    - sub: system:serviceaccount:shop:producer-*
`;
  const sluice = await startSluice({ yaml, args: ['--authentication-oidc', 'enabled', '--oidc-issuer', issuer.url] });
  try {
    const ch = (ns: string, name: string) => `${sluice.url}/channels/${ns}/${name}`;
    const imc = (name: string, ns = 'default') => `messaging.knative.dev/inmemorychannel/${ns}/${name}`;
    const producer = (audience: string) => bearer(issuer, 'system:serviceaccount:shop:producer-1', audience);

    // An InMemoryChannel selected by a policy: the subjects it names pass, others 403, no token or another audience 401.
    assert.equal((await send(ch('default', 'guarded'), 'ok-1', await producer(imc('guarded')))).status, 202);
    const intruder = await send(ch('default', 'guarded'), 'no-1', await bearer(issuer, 'system:serviceaccount:shop:intruder', imc('guarded')));
    assert.equal(intruder.status, 403);
    assert.match(intruder.body, /SLUICE_FORBIDDEN.*system:serviceaccount:shop:intruder is not allowed by the EventPolicies of inmemorychannel default\/guarded \(orders-in\)/);
    const none = await send(ch('default', 'guarded'), 'no-2');
    assert.equal(none.status, 401);
    assert.match(none.body, /bearer token/);
    assert.equal((await send(ch('default', 'guarded'), 'no-3', await producer('eventing.knative.dev/broker/default/guarded'))).status, 401, 'a token for another audience');

    // A Channel without policies: the default mode (allow-same-namespace), by its own audience or its backing channel's.
    const local = 'system:serviceaccount:default:app';
    assert.equal((await send(ch('default', 'plain'), 'ok-2', await bearer(issuer, local, 'messaging.knative.dev/channel/default/plain'))).status, 202);
    assert.equal((await send(ch('default', 'plain'), 'ok-3', await bearer(issuer, local, imc('plain')))).status, 202);
    const foreign = await send(ch('default', 'plain'), 'no-4', await producer(imc('plain')));
    assert.equal(foreign.status, 403);
    assert.match(foreign.body, /no EventPolicy applies to channel default\/plain, the default authorization mode is allow-same-namespace/);

    // ok-2 and ok-3 reach `guarded` through the Subscription `forward`, whose token the policy names by ref; `sneak`
    // is not named: its send is refused (403) and dead-lettered.
    assert.equal((await send(ch('default', 'other'), 'sneaked', await bearer(issuer, local, imc('other')))).status, 202);
    await sub.waitForCount(3);
    assert.deepEqual(sub.ids().sort(), ['ok-1', 'ok-2', 'ok-3']);
    await dls.waitForCount(1);
    assert.equal(dls.received[0]!.event?.attributes['id'], 'sneaked');
    assert.equal(dls.received[0]!.event?.attributes['knativeerrorcode'], '403');

    // A Sequence is addressed by its own audience; the namespace-wide policy applies to it, and its inner channels
    // still take the steps' replies (they take events only from the Sequence's own Subscriptions).
    const seq = ch('flows', 'seq-kn-sequence-0');
    assert.equal((await send(seq, 'flow-1', await producer('flows.knative.dev/sequence/flows/seq'))).status, 202);
    assert.equal((await send(seq, 'no-5', await bearer(issuer, 'system:serviceaccount:flows:app', 'flows.knative.dev/sequence/flows/seq'))).status, 403, 'not named by the policy');
    await step.waitForCount(2);
    assert.deepEqual(step.ids(), ['flow-1', 'flow-1']);
    // Anyone else sending to an inner channel directly is refused.
    const inner = await send(ch('flows', 'seq-kn-sequence-1'), 'no-6', await producer(imc('seq-kn-sequence-1', 'flows')));
    assert.equal(inner.status, 403);
    assert.match(inner.body, /takes events only from system:serviceaccount:flows:seq-kn-sequence-0-oidc-messaging\.knative\.dev-subscription/);

    // Status as Knative's channels report it.
    type Status = { status: { conditions: { type: string; status: string; reason?: string }[]; policies?: unknown; address?: { audience?: string } } };
    const g = (await (await fetch(`${sluice.adminUrl}/api/v1/inmemorychannels/default/guarded`)).json()) as Status;
    assert.equal(g.status.conditions.find((c) => c.type === 'EventPoliciesReady')?.status, 'True');
    assert.deepEqual(g.status.policies, [{ name: 'orders-in', apiVersion: 'eventing.knative.dev/v1alpha1' }]);
    assert.equal(g.status.address?.audience, imc('guarded'));
    const sq = (await (await fetch(`${sluice.adminUrl}/api/v1/sequences/flows/seq`)).json()) as Status;
    assert.equal(sq.status.conditions.find((c) => c.type === 'EventPoliciesReady')?.status, 'True');
    assert.deepEqual(sq.status.policies, [{ name: 'producers-only', apiVersion: 'eventing.knative.dev/v1alpha1' }]);
    assert.equal(sq.status.address?.audience, 'flows.knative.dev/sequence/flows/seq');
    const p = (await (await fetch(`${sluice.adminUrl}/api/v1/channels/default/plain`)).json()) as Status;
    assert.equal(p.status.conditions.find((c) => c.type === 'EventPoliciesReady')?.reason, 'DefaultAuthorizationMode');
    assert.equal(p.status.policies, undefined);
  } finally {
    await sluice.stop();
    issuer.close();
    await Promise.all([sub.close(), dls.close(), step.close()]);
  }
});

test('a JobSink requires a token and applies its EventPolicies; a Trigger sends to it as itself', async () => {
  const issuer = await startIssuer();
  const yaml = `apiVersion: eventing.knative.dev/v1
kind: Broker
metadata:
  name: b
---
apiVersion: eventing.knative.dev/v1
kind: Trigger
metadata:
  name: to-job
spec:
  broker: b
  subscriber:
    ref:
      apiVersion: sinks.knative.dev/v1alpha1
      kind: JobSink
      name: jobs
---
apiVersion: sinks.knative.dev/v1alpha1
kind: JobSink
metadata:
  name: jobs
spec:
  job:
    spec:
      template:
        spec:
          restartPolicy: Never
          containers:
            - name: main
              command: ["node", "-e", "process.exit(0)"]
---
apiVersion: eventing.knative.dev/v1alpha1
kind: EventPolicy
metadata:
  name: jobs-in
spec:
  to:
    - ref:
        apiVersion: sinks.knative.dev/v1alpha1
        kind: JobSink
        name: jobs
  from:
    - sub: system:serviceaccount:shop:producer-*
    - ref:
        apiVersion: eventing.knative.dev/v1
        kind: Trigger
        name: to-job
`;
  const sluice = await startSluice({ yaml, args: ['--authentication-oidc', 'enabled', '--oidc-issuer', issuer.url] });
  try {
    const job = `${sluice.url}/jobsinks/default/jobs`;
    const audience = 'sinks.knative.dev/jobsink/default/jobs';
    assert.equal((await send(job, 'direct', await bearer(issuer, 'system:serviceaccount:shop:producer-1', audience))).status, 202);
    const other = await send(job, 'no-1', await bearer(issuer, 'system:serviceaccount:default:app', audience));
    assert.equal(other.status, 403);
    assert.match(other.body, /SLUICE_FORBIDDEN.*not allowed by the EventPolicies of jobsink default\/jobs \(jobs-in\)/);
    assert.equal((await send(job, 'no-2')).status, 401);
    // Through the broker: the Trigger's token names it, and the policy names the Trigger.
    assert.equal((await send(`${sluice.url}/default/b`, 'via-trigger', await bearer(issuer, 'system:serviceaccount:default:app', 'eventing.knative.dev/broker/default/b'))).status, 202);
    type View = { status: { jobs: Record<string, number>; recentJobs: { id: string }[]; conditions: { type: string; status: string }[]; policies?: unknown; address: { audience?: string } } };
    const view = async () => (await (await fetch(`${sluice.adminUrl}/api/v1/jobsinks/default/jobs`)).json()) as View;
    await waitFor(async () => (await view()).status.jobs['succeeded'] === 2, 'two jobs to succeed', 30_000);
    const v = await view();
    assert.deepEqual(v.status.recentJobs.map((j) => j.id).sort(), ['direct', 'via-trigger']);
    assert.equal(v.status.conditions.find((c) => c.type === 'EventPoliciesReady')?.status, 'True');
    assert.deepEqual(v.status.policies, [{ name: 'jobs-in', apiVersion: 'eventing.knative.dev/v1alpha1' }]);
    assert.equal(v.status.address.audience, audience);
  } finally {
    await sluice.stop();
    issuer.close();
  }
});

test('an EventTransform requires a token and applies its EventPolicies; a Trigger sends to it as itself and the policy can refuse another', async () => {
  const issuer = await startIssuer();
  const sub = await startSubscriber();
  const dls = await startSubscriber();
  const yaml = `apiVersion: eventing.knative.dev/v1
kind: Broker
metadata:
  name: b
---
apiVersion: eventing.knative.dev/v1
kind: Trigger
metadata:
  name: to-shape
spec:
  broker: b
  filter:
    attributes:
      type: order
  subscriber:
    ref:
      apiVersion: eventing.knative.dev/v1alpha1
      kind: EventTransform
      name: shape
---
apiVersion: eventing.knative.dev/v1
kind: Trigger
metadata:
  name: sneaky
spec:
  broker: b
  filter:
    attributes:
      type: sneak
  subscriber:
    ref:
      apiVersion: eventing.knative.dev/v1alpha1
      kind: EventTransform
      name: shape
  delivery:
    retry: 0
    deadLetterSink:
      uri: ${dls.url}
---
apiVersion: eventing.knative.dev/v1
kind: Trigger
metadata:
  name: shaped-out
spec:
  broker: b
  filter:
    attributes:
      type: shaped
  subscriber:
    uri: ${sub.url}
---
apiVersion: eventing.knative.dev/v1alpha1
kind: EventTransform
metadata:
  name: shape
spec:
  jsonata:
    expression: '$merge([$, {"type": "shaped"}])'
---
apiVersion: eventing.knative.dev/v1alpha1
kind: EventPolicy
metadata:
  name: shape-in
spec:
  to:
    - ref:
        apiVersion: eventing.knative.dev/v1alpha1
        kind: EventTransform
        name: shape
  from:
    - sub: system:serviceaccount:shop:producer-*
    - ref:
        apiVersion: eventing.knative.dev/v1
        kind: Trigger
        name: to-shape
`;
  const sluice = await startSluice({ yaml, args: ['--authentication-oidc', 'enabled', '--oidc-issuer', issuer.url] });
  try {
    const transform = `${sluice.url}/transforms/default/shape`;
    const audience = 'eventing.knative.dev/eventtransform/default/shape';
    const direct = await send(transform, 'direct', await bearer(issuer, 'system:serviceaccount:shop:producer-1', audience));
    assert.equal(direct.status, 200, direct.body);
    assert.equal((JSON.parse(direct.body) as { type: string }).type, 'shaped');
    const other = await send(transform, 'no-1', await bearer(issuer, 'system:serviceaccount:default:app', audience));
    assert.equal(other.status, 403);
    assert.match(other.body, /SLUICE_FORBIDDEN.*not allowed by the EventPolicies of eventtransform default\/shape \(shape-in\)/);
    assert.equal((await send(transform, 'no-2')).status, 401);
    const wrongAudience = await send(transform, 'no-3', await bearer(issuer, 'system:serviceaccount:shop:producer-1', 'eventing.knative.dev/broker/default/b'));
    assert.equal(wrongAudience.status, 401);
    // Through the broker: the Trigger's token names it, the policy names the Trigger, and the reply comes back shaped.
    const brokerToken = await bearer(issuer, 'system:serviceaccount:default:app', 'eventing.knative.dev/broker/default/b');
    assert.equal((await postEvent(`${sluice.url}/default/b`, { id: 'via-trigger', source: '/t', type: 'order' }, '{}', brokerToken)).status, 202);
    await sub.waitForCount(1);
    assert.equal(sub.received[0]!.event?.attributes['id'], 'via-trigger');
    // A Trigger the policy does not name is refused (403) and its event dead-lettered.
    assert.equal((await postEvent(`${sluice.url}/default/b`, { id: 'sneaked', source: '/t', type: 'sneak' }, '{}', brokerToken)).status, 202);
    await dls.waitForCount(1);
    assert.equal(dls.received[0]!.event?.attributes['knativeerrorcode'], '403');
    type View = { status: { conditions: { type: string; status: string }[]; policies?: unknown; address: { audience?: string } } };
    const v = (await (await fetch(`${sluice.adminUrl}/api/v1/eventtransforms/default/shape`)).json()) as View;
    assert.equal(v.status.conditions.find((c) => c.type === 'EventPoliciesReady')?.status, 'True');
    assert.deepEqual(v.status.policies, [{ name: 'shape-in', apiVersion: 'eventing.knative.dev/v1alpha1' }]);
    assert.equal(v.status.address.audience, audience);
    assert.equal(sub.received.length, 1);
  } finally {
    await sluice.stop();
    await sub.close();
    await dls.close();
    issuer.close();
  }
});
