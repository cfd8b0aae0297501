// EventPolicy and the default authorization mode (docs/security.md "Who may send: EventPolicy"), against a spawned
// `sluice run --authentication-oidc enabled` with real tokens: from an external issuer (--oidc-issuer) for producers,
// and Sluice's own for its triggers.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { runCli, startSluice, startSubscriber, tempDir, type Subscriber } from './harness.js';
import { broker, brokerRef, documents, eventPolicy, trigger, triggerRef } from './manifests.js';
import { startIssuer } from './oidc-issuer.js';
import { assertPolicies, brokerAudience as aud, sendEvent, statusOf } from './trust-fixtures.js';

const yaml = (sub: Subscriber, dls: Subscriber): string =>
  documents(
    broker('guarded', { labels: { team: 'orders' } }),
    broker('open'),
    eventPolicy('orders-in', {
      to: [{ selector: { apiVersion: 'eventing.knative.dev/v1', kind: 'Broker', matchLabels: { team: 'orders' } } }],
      from: [{ sub: 'system:serviceaccount:shop:producer-*' }, triggerRef('forward')],
      filters: ["type LIKE 'order.%'"],
    }),
    trigger('out', { broker: 'guarded', subscriber: sub.url }),
    trigger('forward', { broker: 'open', filter: { type: 'order.forwarded' }, subscriber: brokerRef('guarded') }),
    trigger('sneak', { broker: 'open', filter: { type: 'order.sneaked' }, subscriber: brokerRef('guarded'), delivery: { retry: 0, deadLetterSink: dls.url } }),
  );

test("EventPolicy: allowed subjects and filters pass, others get 403, no token 401; Sluice's triggers send as themselves", async () => {
  const issuer = await startIssuer();
  const sub = await startSubscriber();
  const dls = await startSubscriber();
  const sluice = await startSluice({ yaml: yaml(sub, dls), args: ['--authentication-oidc', 'enabled', '--oidc-issuer', issuer.url] });
  try {
    const guarded = `${sluice.url}/default/guarded`;
    const open = `${sluice.url}/default/open`;
    const producer = await issuer.bearer('system:serviceaccount:shop:producer-1', aud('guarded'));
    const send = (url: string, id: string, type: string, headers: Record<string, string> = {}) => sendEvent(url, id, headers, type);

    assert.equal((await send(guarded, 'ok-1', 'order.created', producer)).status, 202);
    const filtered = await send(guarded, 'no-1', 'invoice.created', producer);
    assert.equal(filtered.status, 403);
    assert.match(filtered.body, /SLUICE_FORBIDDEN.*does not pass the filters/);
    const intruder = await send(guarded, 'no-2', 'order.created', await issuer.bearer('system:serviceaccount:shop:intruder', aud('guarded')));
    assert.equal(intruder.status, 403);
    assert.match(intruder.body, /system:serviceaccount:shop:intruder is not allowed by the EventPolicies of broker default\/guarded \(orders-in\)/);
    const none = await send(guarded, 'no-3', 'order.created');
    assert.equal(none.status, 401);
    assert.match(none.body, /bearer token/);
    assert.equal((await send(guarded, 'no-4', 'order.created', await issuer.bearer('system:serviceaccount:shop:producer-1', aud('open')))).status, 401, 'a token for another audience');

    // No policy applies to `open`: Knative's default allow-same-namespace.
    const local = await issuer.bearer('system:serviceaccount:default:app', aud('open'));
    assert.equal((await send(open, 'ok-2', 'order.forwarded', local)).status, 202);
    const foreign = await send(open, 'no-5', 'order.forwarded', await issuer.bearer('system:serviceaccount:shop:producer-1', aud('open')));
    assert.equal(foreign.status, 403);
    assert.match(foreign.body, /allow-same-namespace/);

    // The trigger `forward` sends to `guarded` with a token of Sluice's issuer naming it, which the policy names by
    // ref; `sneak` is not named, so its sends are refused (403) and dead-lettered.
    assert.equal((await send(open, 'ok-3', 'order.sneaked', local)).status, 202);
    await sub.waitForCount(2);
    assert.deepEqual(sub.ids().sort(), ['ok-1', 'ok-2']);
    await dls.waitForCount(1);
    assert.equal(dls.received[0]!.event?.attributes['id'], 'ok-3');
    assert.equal(dls.received[0]!.event?.attributes['knativeerrorcode'], '403');
    assert.equal(sub.received.length, 2);

    // Status as Knative reports it.
    const policy = (await (await fetch(`${sluice.adminUrl}/api/v1/eventpolicies/default/orders-in`)).json()) as { status: { conditions: { type: string; status: string }[]; from: string[] } };
    for (const type of ['Ready', 'AuthenticationEnabled', 'SubjectsResolved']) assert.equal(policy.status.conditions.find((c) => c.type === type)?.status, 'True', type);
    assert.deepEqual(policy.status.from, ['system:serviceaccount:shop:producer-*', 'system:serviceaccount:default:forward-oidc-eventing.knative.dev-trigger']);
    assertPolicies(await statusOf(sluice.adminUrl, 'brokers/default/guarded'), ['orders-in']);
    assertPolicies(await statusOf(sluice.adminUrl, 'brokers/default/open'), []);
  } finally {
    await sluice.stop();
    issuer.close();
    await Promise.all([sub.close(), dls.close()]);
  }
});

test('default authorization modes: deny-all refuses what no policy allows, allow-all takes any verified token', async () => {
  const issuer = await startIssuer();
  const foreign = await issuer.bearer('system:serviceaccount:elsewhere:app', aud('open'));
  const local = await issuer.bearer('system:serviceaccount:default:app', aud('open'));
  for (const [mode, foreignStatus, localStatus] of [
    ['deny-all', 403, 403],
    ['allow-all', 202, 202],
  ] as const) {
    const sluice = await startSluice({ yaml: broker('open'), args: ['--authentication-oidc', 'enabled', '--oidc-issuer', issuer.url, '--default-authorization-mode', mode] });
    try {
      assert.equal((await sendEvent(`${sluice.url}/default/open`, 'a', foreign)).status, foreignStatus, mode);
      assert.equal((await sendEvent(`${sluice.url}/default/open`, 'b', local)).status, localStatus, mode);
      assert.equal((await sendEvent(`${sluice.url}/default/open`, 'c')).status, 401, `${mode}: a token is still required`);
    } finally {
      await sluice.stop();
    }
  }
  issuer.close();
});

test('EventPolicy errors: file:line:col for a bad sub pattern and an unsupported target; refused without the OIDC feature', async () => {
  const dir = tempDir('sluice-policy-');
  try {
    // The schema: '*' only at the end of a sub pattern, as Knative validates it.
    const schema = join(dir.path, 'sub.yaml');
    writeFileSync(schema, 'apiVersion: eventing.knative.dev/v1alpha1\nkind: EventPolicy\nmetadata:\n  name: bad\nspec:\n  from:\n    - sub: "system:*:x"\n');
    const s = await runCli(['validate', '-f', schema]);
    assert.equal(s.code, 1, s.stdout + s.stderr);
    assert.match(s.stdout + s.stderr, /sub\.yaml:7:\d+: .*'\*' is only allowed as the last character of sub/);
    // The checks: targets Sluice does not enforce, CESQL that does not compile.
    const file = join(dir.path, 'p.yaml');
    writeFileSync(
      file,
      `apiVersion: eventing.knative.dev/v1alpha1
kind: EventPolicy
metadata:
  name: bad
spec:
  to:
    - ref:
        apiVersion: serving.knative.dev/v1
        kind: Service
        name: c
  from:
    - sub: "system:serviceaccount:x:*"
  filters:
    - cesql: "type = "
`,
    );
    const v = await runCli(['validate', '-f', file]);
    assert.equal(v.code, 1, v.stdout + v.stderr);
    const out = v.stdout + v.stderr;
    assert.match(out, /p\.yaml:9:\d+: .*Sluice enforces EventPolicies on .*messaging\.knative\.dev InMemoryChannel.*; not on serving\.knative\.dev\/v1 Service/);
    assert.match(out, /p\.yaml:14:\d+: .*invalid CESQL expression/);

    const ok = join(dir.path, 'ok.yaml');
    writeFileSync(
      ok,
      'apiVersion: eventing.knative.dev/v1\nkind: Broker\nmetadata:\n  name: b\n---\napiVersion: eventing.knative.dev/v1alpha1\nkind: EventPolicy\nmetadata:\n  name: p\nspec:\n  from:\n    - sub: x\n',
    );
    const run = await runCli(['run', '-f', ok, '--port', '0', '--admin-port', '0', '--data-dir', join(dir.path, 'store')]);
    assert.equal(run.code, 1);
    assert.match(run.stderr, /ok\.yaml:6:1: EventPolicy default\/p: EventPolicies need --authentication-oidc enabled/);
    const usage = await runCli(['run', '-f', ok, '--default-authorization-mode', 'deny-all']);
    assert.equal(usage.code, 2);
    assert.match(usage.stderr, /--default-authorization-mode needs --authentication-oidc enabled/);
  } finally {
    dir.remove();
  }
});

test("a uri to Sluice's own ingress carries no token (401, with a warning) unless it sets an audience, which is then used", async () => {
  const issuer = await startIssuer();
  const sub = await startSubscriber();
  const dls = await startSubscriber();
  const base = documents(
    broker('guarded'),
    broker('open'),
    eventPolicy('via-only', { to: [brokerRef('guarded')], from: [{ sub: 'system:serviceaccount:default:via-*' }] }),
    trigger('out', { broker: 'guarded', subscriber: sub.url }),
  );
  const sluice = await startSluice({ yaml: base, args: ['--authentication-oidc', 'enabled', '--oidc-issuer', issuer.url] });
  const dir = tempDir('sluice-policy-uri-');
  try {
    // Triggers added by a live change, now that the ingress address is known: one names the broker by uri alone, one
    // by uri with its audience.
    const triggers = join(dir.path, 'triggers.yaml');
    const via = (name: string, audience?: string) => trigger(name, { broker: 'open', subscriber: { uri: `${sluice.url}/default/guarded`, audience }, delivery: { retry: 0, deadLetterSink: dls.url } });
    writeFileSync(triggers, documents(via('via-uri'), via('via-aud', aud('guarded'))));
    const applied = await runCli(['apply', '-f', triggers, '--server', sluice.adminUrl, '--token', sluice.adminToken]);
    assert.equal(applied.code, 0, applied.stdout + applied.stderr);
    assert.match(sluice.output(), /1 destination sends to Sluice's own ingress through a uri without an audience: .*refused \(401\)/);
    assert.match(sluice.output(), /Trigger default\/via-uri: spec\.subscriber/);

    const local = await issuer.bearer('system:serviceaccount:default:app', aud('open'));
    assert.equal((await sendEvent(`${sluice.url}/default/open`, 'u-1', local)).status, 202);
    // via-aud's token names the trigger, which the policy allows; via-uri's send has no token and is refused.
    await sub.waitForCount(1);
    assert.deepEqual(sub.ids(), ['u-1']);
    await dls.waitForCount(1);
    assert.equal(dls.received[0]!.event?.attributes['knativeerrorcode'], '401');
  } finally {
    dir.remove();
    await sluice.stop();
    issuer.close();
    await Promise.all([sub.close(), dls.close()]);
  }
});
