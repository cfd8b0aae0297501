// The web dashboard in a real browser (Debian's Chromium driven by playwright-core) against a running `sluice run`:
// the topology of the configuration with each node's Ready state, live figures that move when events are sent, the
// live event tail with a CESQL filter, the dead-letter inspector read-only without a token and replaying a
// dead-lettered event (with its confirmation) once unlocked with the admin token, a cross-site page's attempt to purge
// refused, and the event types seen. With SLUICE_UPDATE_SCREENSHOTS=1 the test rewrites the screenshots in
// docs/images/ (otherwise it takes them without writing, so a run leaves the tree as it was).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { chromium, type Browser, type Page } from 'playwright-core';
import { ROOT, cleanupScope, postEvent, startSluice, startSubscriber, tempDir, waitFor } from './harness.js';
import { broker, documents, trigger } from './manifests.js';

const CHROMIUM = process.env['CHROMIUM_PATH'] ?? '/usr/bin/chromium';
const missing = !existsSync(CHROMIUM);
if (missing) process.stderr.write(`\n!!! ${CHROMIUM} not found: the dashboard browser test cannot run (apt-get install chromium)\n\n`);

const cleanup = cleanupScope();

async function launch(): Promise<Browser> {
  // As root in a sandbox-less CI container; background networking off (this machine refuses those connections).
  return chromium.launch({
    executablePath: CHROMIUM,
    headless: true,
    args: ['--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run', '--disable-background-networking', '--disable-component-update', '--disable-sync'],
  });
}

/** A page in a new browser (closed with the file), with the errors of its scripts collected. */
async function openPage(): Promise<{ browser: Browser; page: Page; errors: string[] }> {
  const browser = await launch();
  cleanup.add(() => browser.close());
  const page = await browser.newPage({ viewport: { width: 1400, height: 800 } });
  const errors: string[] = [];
  page.on('pageerror', (err) => errors.push(err.message));
  return { browser, page, errors };
}

async function shot(page: Page, name: string): Promise<void> {
  const write = process.env['SLUICE_UPDATE_SCREENSHOTS'] === '1';
  await page.screenshot({ ...(write ? { path: join(ROOT, 'docs/images', `dashboard-${name}.png`) } : {}), fullPage: true });
}

test(
  'the dashboard shows the topology, live figures, dead letters (with replay) and event types',
  {
    timeout: 180_000,
    skip: missing && process.env['CI'] !== 'true' ? `${CHROMIUM} not installed` : false,
  },
  async () => {
    assert.ok(!missing, `${CHROMIUM} is required under CI=true`);
    const good = await startSubscriber();
    cleanup.add(() => good.close());
    let down = true;
    const flaky = await startSubscriber(() => (down ? { status: 503, body: 'maintenance' } : { status: 202 }));
    cleanup.add(() => flaky.close());
    const sluice = await startSluice({
      yaml: documents(
        `apiVersion: v1
kind: ConfigMap
metadata:
  name: config-features
  namespace: knative-eventing
data:
  eventtype-auto-create: enabled
`,
        broker('default'),
        `apiVersion: sources.knative.dev/v1
kind: PingSource
metadata:
  name: heartbeat
spec:
  schedule: "0 0 1 1 *"
  data: '{"beat":true}'
  sink:
    ref:
      apiVersion: eventing.knative.dev/v1
      kind: Broker
      name: default
`,
        trigger('orders', { broker: 'default', filter: { type: 'order.created' }, subscriber: good.url }),
        trigger('billing', { broker: 'default', subscriber: flaky.url, delivery: { retry: 1, backoffDelay: 'PT0.05S' } }, { annotations: { 'sluice.dev/circuit-breaker-failures': '0' } }),
      ),
    });
    cleanup.add(() => sluice.stop());
    const { browser, page, errors } = await openPage();

    await page.goto(`${sluice.adminUrl}/ui/`);
    // Topology: every resource of the file, with the subscribers they point at; Ready nodes are drawn as such.
    for (const label of ['PingSource heartbeat', 'Broker default', 'Trigger orders', 'Trigger billing', good.url, flaky.url]) {
      await page.locator(`[data-node="${label}"]`).waitFor({ timeout: 15_000 });
    }
    assert.match((await page.locator('[data-node="Broker default"]').getAttribute('class')) ?? '', /node-true/);
    await page.locator('[data-node="Trigger orders"]').click();
    await page.getByRole('complementary', { name: 'details' }).getByText('SubscriberResolved').first().waitFor();
    await shot(page, 'topology');

    // Live figures: send events and watch the delivered count of the orders trigger move without a reload.
    await page.getByRole('button', { name: 'Triggers & subscriptions' }).click();
    const delivered = page.locator('tr[data-row="Trigger default/orders"] [data-figure="delivered"]');
    await delivered.waitFor();
    const before = Number(await delivered.textContent());
    for (let i = 0; i < 5; i++) {
      assert.equal((await postEvent(`${sluice.url}/default/default`, { id: `o-${i}`, source: '/shop', type: 'order.created' }, `{"n":${i}}`)).status, 202);
    }
    await good.waitForCount(5);
    await waitFor(async () => Number(await delivered.textContent()) >= before + 5, 'the delivered figure to move to the sent count', 15_000);
    await shot(page, 'figures');

    // Live tail of the broker with a CESQL filter: only matching events appear, with their trace id and pretty data.
    await page.getByRole('button', { name: 'Events' }).click();
    await page.getByRole('textbox', { name: 'tail filter' }).fill("type = 'order.shipped'");
    await page.getByRole('button', { name: 'Start' }).click();
    await page.getByRole('status').getByText('tailing default/default').waitFor();
    const traceparent = '00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01';
    assert.equal((await postEvent(`${sluice.url}/default/default`, { id: 'skip-me', source: '/shop', type: 'order.viewed' }, '{}')).status, 202);
    assert.equal((await postEvent(`${sluice.url}/default/default`, { id: 'ship-1', source: '/shop', type: 'order.shipped', traceparent }, '{"parcel":7}')).status, 202);
    await page.locator('tr[data-tailed="ship-1"]').waitFor();
    assert.equal(await page.locator('tr[data-tailed="skip-me"]').count(), 0, 'the filter keeps other types out');
    await page.locator('tr[data-tailed="ship-1"]').click();
    const detail = page.getByRole('complementary', { name: 'event' });
    await detail.getByText('trace 4bf92f3577b34da6a3ce929d0e0e4736').waitFor();
    assert.match((await detail.locator('pre').nth(1).textContent()) ?? '', /"parcel": 7/);
    await shot(page, 'events');
    // A filter that is not CESQL is refused with the reason.
    await page.getByRole('button', { name: 'Stop' }).click();
    await page.getByRole('textbox', { name: 'tail filter' }).fill('type = ');
    await page.getByRole('button', { name: 'Start' }).click();
    await page.getByRole('status').getByText('filter:').waitFor();

    // Dead letters: the billing trigger's subscriber is down, so its events are exhausted and kept (5 orders + 2 tailed).
    await waitFor(
      async () => ((await (await fetch(`${sluice.adminUrl}/api/v1/deadletters/default/default`)).json()) as { items: unknown[] }).items.length === 7,
      'the 7 billing events to be dead-lettered',
      20_000,
    );
    await page.getByRole('button', { name: 'Dead letters' }).click();
    await page.locator('tr[data-letter="o-3"]').waitFor();
    assert.equal(await page.locator('tr[data-letter]').count(), 7);
    await page.locator('tr[data-letter="o-3"]').getByRole('button', { name: 'Inspect' }).click();
    await page.getByRole('complementary', { name: 'dead letter' }).getByText('HTTP 503').waitFor();

    // Without a token the page reads everything but cannot change anything: the actions are disabled, with a hint.
    assert.equal(await page.locator('[data-auth]').getAttribute('data-auth'), 'read-only');
    assert.equal(await page.locator('tr[data-letter="o-3"]').getByRole('button', { name: 'Replay' }).isDisabled(), true);
    assert.equal(await page.getByRole('button', { name: 'Purge all shown' }).isDisabled(), true);
    await page.getByText('Read-only: replay and purge need an edit token').waitFor();
    await shot(page, 'deadletters');

    // A page of another site (the subscriber's origin) tries to purge through the browser, as CSRF would: a form
    // POST and a no-cors fetch. Neither carries the token, and both come from another Origin: nothing is purged.
    const other = await browser.newPage();
    await other.goto(`${good.url}/`);
    const adminBase = sluice.adminUrl;
    // As a string: this file is type-checked without the DOM's types.
    await other.evaluate(`(async () => {
    const target = ${JSON.stringify(`${adminBase}/api/v1/deadletters/default/default/purge`)};
    await fetch(target, { method: 'POST', mode: 'no-cors', headers: { 'content-type': 'text/plain' }, body: '{"all":true}' }).catch(() => undefined);
    const form = document.createElement('form');
    form.method = 'POST';
    form.action = target;
    form.enctype = 'text/plain';
    const input = document.createElement('input');
    input.name = '{"all":true,"x":"';
    input.value = '"}';
    form.appendChild(input);
    document.body.appendChild(form);
    form.submit();
  })()`);
    await other.waitForURL(/purge/);
    assert.match((await other.content()) ?? '', /SLUICE_ADMIN_(CROSS_ORIGIN|UNAUTHORIZED)/);
    await other.close();
    const stillThere = ((await (await fetch(`${sluice.adminUrl}/api/v1/deadletters/default/default`)).json()) as { items: unknown[] }).items.length;
    assert.equal(stillThere, 7, 'the cross-site attempts purged nothing');

    // A wrong token is refused; the admin token sluice generated in its data dir unlocks the actions.
    await page.getByRole('button', { name: 'Unlock' }).click();
    await page.getByRole('textbox', { name: 'admin token' }).fill('not-the-token-of-this-sluice');
    await page.getByRole('button', { name: 'Use token' }).click();
    await page.getByRole('alert').getByText('this token is not accepted').waitFor();
    await page.getByRole('textbox', { name: 'admin token' }).fill(sluice.adminToken);
    await page.getByRole('button', { name: 'Use token' }).click();
    await page.locator('[data-auth="can change"]').waitFor();
    assert.equal(await page.locator('tr[data-letter="o-3"]').getByRole('button', { name: 'Replay' }).isDisabled(), false);
    assert.equal(await page.evaluate("sessionStorage.getItem('sluice-admin-token')"), sluice.adminToken, 'the token is kept in sessionStorage');
    assert.equal((await page.context().cookies()).length, 0, 'no cookie carries authority');

    // Replay one, after the confirmation, now that the subscriber is back: it arrives, and leaves the store.
    down = false;
    const flakyBefore = flaky.received.length;
    page.once('dialog', (dialog) => void dialog.accept());
    await page.locator('tr[data-letter="o-3"]').getByRole('button', { name: 'Replay' }).click();
    await page.getByRole('status').getByText('replayed 1').waitFor();
    await waitFor(() => flaky.received.slice(flakyBefore).some((r) => r.event?.attributes['id'] === 'o-3'), 'the replayed event at the subscriber');
    await page.locator('tr[data-letter="o-3"]').waitFor({ state: 'detached' });
    assert.equal(await page.locator('tr[data-letter]').count(), 6);

    // Event types seen at the broker's ingress.
    await page.getByRole('button', { name: 'Event types' }).click();
    await page.locator('tr[data-eventtype="order.created"]').waitFor({ timeout: 15_000 });
    await shot(page, 'eventtypes');

    assert.deepEqual(errors, [], 'no script errors in the page');
  },
);

test(
  'where nothing is readable without a token, the page asks for one; its streams carry the token; a view token reads, an edit token acts',
  {
    timeout: 180_000,
    skip: missing && process.env['CI'] !== 'true' ? `${CHROMIUM} not installed` : false,
  },
  async () => {
    assert.ok(!missing, `${CHROMIUM} is required under CI=true`);
    const down = await startSubscriber(() => ({ status: 400 }));
    cleanup.add(() => down.close());
    const dir = tempDir();
    cleanup.add(() => dir.remove());
    const view = 'view-token-for-the-browser-0123';
    const edit = 'edit-token-for-the-browser-0123';
    writeFileSync(join(dir.path, 'tokens'), `${view},view,reader\n${edit},edit,operator\n`);
    const sluice = await startSluice({
      args: ['--admin-token-file', join(dir.path, 'tokens'), '--admin-anonymous', 'none'],
      yaml: documents(broker('default'), trigger('rejected', { broker: 'default', subscriber: down.url })),
    });
    cleanup.add(() => sluice.stop());
    assert.equal((await postEvent(`${sluice.url}/default/default`, { id: 'd-1', source: '/s', type: 'refused' }, '{}')).status, 202);
    const { page, errors } = await openPage();
    await page.goto(`${sluice.adminUrl}/ui/`);

    // No token: the page loads, shows nothing of the running Sluice, and asks for a token.
    await page.getByText('This admin API shows nothing without a token').waitFor();
    assert.equal(await page.locator('[data-auth]').getAttribute('data-auth'), 'locked');
    assert.equal(await page.locator('[data-node]').count(), 0);

    // A view token: the live stream (read with fetch and the token) fills the topology; the actions stay disabled.
    await page.getByRole('textbox', { name: 'admin token' }).fill(view);
    await page.getByRole('button', { name: 'Use token' }).click();
    await page.getByRole('alert').getByText('this token can only view').waitFor();
    await page.locator('[data-node="Trigger rejected"]').waitFor({ timeout: 15_000 });
    assert.equal(await page.locator('[data-auth]').getAttribute('data-auth'), 'read-only');
    // The live tail is a second stream that needs the token too.
    await page.getByRole('button', { name: 'Events' }).click();
    await page.getByRole('button', { name: 'Start' }).click();
    await page.getByRole('status').getByText('tailing default/default').waitFor();
    assert.equal((await postEvent(`${sluice.url}/default/default`, { id: 'd-2', source: '/s', type: 'refused' }, '{}')).status, 202);
    await page.locator('tr[data-tailed="d-2"]').waitFor();
    await page.getByRole('button', { name: 'Stop' }).click();
    await waitFor(
      async () => ((await (await fetch(`${sluice.adminUrl}/api/v1/deadletters/default/default`, { headers: { authorization: `Bearer ${view}` } })).json()) as { items: unknown[] }).items.length === 2,
      'the 2 refused events to be dead-lettered',
      20_000,
    );
    await page.getByRole('button', { name: 'Dead letters' }).click();
    await page.locator('tr[data-letter="d-1"]').waitFor();
    assert.equal(await page.getByRole('button', { name: 'Purge all shown' }).isDisabled(), true);

    // An edit token: the actions work.
    await page.getByRole('button', { name: 'Unlock' }).click();
    await page.getByRole('textbox', { name: 'admin token' }).fill(edit);
    await page.getByRole('button', { name: 'Use token' }).click();
    await page.locator('[data-auth="can change"]').waitFor();
    await page.locator('tr[data-letter="d-1"]').waitFor();
    page.once('dialog', (dialog) => void dialog.accept());
    await page.getByRole('button', { name: 'Purge all shown' }).click();
    await page.getByRole('status').getByText('purged 2').waitFor();
    assert.match(sluice.output(), /admin API: POST \/api\/v1\/deadletters\/default\/default\/purge by operator/);

    // Lock forgets the token: the page asks again.
    await page.getByRole('button', { name: 'Lock' }).click();
    await page.locator('[data-auth="locked"]').waitFor();
    assert.equal(await page.evaluate("sessionStorage.getItem('sluice-admin-token')"), null);
    assert.deepEqual(errors, [], 'no script errors in the page');
  },
);
