// Static credentials per broker (docs/security.md "Who may send"): bearer tokens or basic auth from a Secret.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { startSluice, startSubscriber, waitFor } from './harness.js';
import { documents } from './manifests.js';
import { forwardingBrokers, sendEvent } from './trust-fixtures.js';

const TOKEN = 'tok-0123456789abcdef';

test("a broker with sluice.dev/ingress-auth-secret takes events only with its token or basic credentials; Sluice's own sends pass", async () => {
  const sub = await startSubscriber();
  const sluice = await startSluice({
    yaml: documents(
      `apiVersion: v1
kind: Secret
metadata:
  name: ingress-creds
stringData:
  token: |
    ${TOKEN}
    second-token-0123456789
  username: alice
  password: wonderland-pw
`,
      forwardingBrokers('open', 'guarded', sub.url, { annotations: { 'sluice.dev/ingress-auth-secret': 'ingress-creds' } }),
    ),
  });
  try {
    const guarded = `${sluice.url}/default/guarded`;
    const none = await sendEvent(guarded, 'n');
    assert.equal(none.status, 401);
    assert.equal((JSON.parse(none.body) as { error: { code: string } }).error.code, 'SLUICE_UNAUTHORIZED');
    assert.match(none.headers.get('www-authenticate') ?? '', /Bearer realm="sluice"/);
    assert.equal((await sendEvent(guarded, 'w', { authorization: 'Bearer wrong-token-0123456789' })).status, 401);
    assert.equal((await sendEvent(guarded, 'w2', { authorization: `Basic ${Buffer.from('alice:nope').toString('base64')}` })).status, 401);
    assert.equal((await sendEvent(guarded, 'bearer', { authorization: `Bearer ${TOKEN}` })).status, 202);
    assert.equal((await sendEvent(guarded, 'bearer2', { authorization: 'bearer second-token-0123456789' })).status, 202);
    assert.equal((await sendEvent(guarded, 'basic', { authorization: `Basic ${Buffer.from('alice:wonderland-pw').toString('base64')}` })).status, 202);
    // The open broker needs nothing, and its trigger forwards into the guarded broker with Sluice's own credentials.
    assert.equal((await sendEvent(`${sluice.url}/default/open`, 'via-open')).status, 202);
    await waitFor(() => ['bearer', 'bearer2', 'basic', 'via-open'].every((id) => sub.ids().includes(id)), 'the accepted events');
    assert.ok(!sub.ids().some((id) => ['n', 'w', 'w2'].includes(id)), 'refused events were not stored');
  } finally {
    await sluice.stop();
    await sub.close();
  }
});

test('an unreadable or weak ingress secret stops sluice run with a clear error', async () => {
  const yaml = (secret: string) => `${secret}---
apiVersion: eventing.knative.dev/v1
kind: Broker
metadata:
  name: guarded
  annotations:
    sluice.dev/ingress-auth-secret: creds
`;
  await assert.rejects(startSluice({ yaml: yaml('') }), /secret default\/creds has no token, nor username and password/);
  await assert.rejects(startSluice({ yaml: yaml('apiVersion: v1\nkind: Secret\nmetadata:\n  name: creds\nstringData:\n  token: short\n') }), /at least 16 characters/);
});
