// GitHubSource and GitLabSource end to end through the real CLI, with local HTTP requests standing in for the forges
// (no test reaches the internet): signed webhooks become Knative's events at the sink; a bad signature or token is
// refused and never reaches the sink; the secret never appears in an event. GitHub signatures are made with
// @octokit/webhooks-methods, GitHub's own library, so the verification is checked against an independent signer.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { sign } from '@octokit/webhooks-methods';
import { ROOT, cleanupScope, startSluice, startSubscriber, tempDir, type SluiceProcess, type Subscriber } from './harness.js';

const cleanup = cleanupScope();

const SECRET = 'change-me-to-a-long-random-string';

async function startExample(): Promise<{ s: SluiceProcess; sink: Subscriber }> {
  const sink = await startSubscriber();
  cleanup.add(() => sink.close());
  const dir = tempDir('sluice-forge-e2e-');
  cleanup.add(() => dir.remove());
  const yaml = readFileSync(join(ROOT, 'examples/forge-sources/forge-sources.yaml'), 'utf8').replaceAll('http://127.0.0.1:8081/', sink.url);
  const s = await startSluice({ yaml, dataDir: dir.path });
  cleanup.add(async () => s.stop('SIGKILL'));
  return { s, sink };
}

const pushPayload = {
  ref: 'refs/heads/main',
  compare: 'https://github.com/my-org/my-repo/compare/a10867b14bb7...000000000000',
  created: false,
  deleted: false,
  forced: false,
  pusher: { name: 'octocat' },
  repository: { id: 1, name: 'my-repo', owner: { login: 'my-org' } },
  sender: { login: 'octocat' },
  installation: { id: 42 },
};

let both: Promise<{ s: SluiceProcess; sink: Subscriber }> | undefined;
const example = () => (both ??= startExample());

test("GitHub: a signed push becomes dev.knative.source.github.push with Knative's source, subject and extensions", async () => {
  const { s, sink } = await example();
  const body = JSON.stringify(pushPayload);
  const res = await fetch(`${s.url}/github/default/repo-events`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', 'x-github-event': 'push', 'x-github-delivery': 'd-1', 'x-hub-signature-256': await sign(SECRET, body) },
    body,
  });
  assert.equal(res.status, 202, await res.text());
  await sink.waitForCount(1);
  const e = sink.received[0]!.event!;
  assert.equal(e.attributes['type'], 'dev.knative.source.github.push');
  assert.equal(e.attributes['source'], 'https://github.com/my-org/my-repo');
  assert.equal(e.attributes['id'], 'd-1');
  assert.equal(e.attributes['subject'], 'a10867b14bb7...000000000000');
  assert.equal(e.attributes['owner'], 'my-org');
  assert.equal(e.attributes['repository'], 'my-repo');
  assert.equal(e.attributes['sender'], 'octocat');
  assert.equal(e.attributes['pusher'], 'octocat');
  assert.equal(e.attributes['ref'], 'refs/heads/main');
  assert.equal(e.attributes['datacontenttype'], 'application/json');
  assert.deepEqual(JSON.parse(e.data!.toString()), pushPayload);
  const raw = JSON.stringify(sink.received[0]!.headers) + sink.received[0]!.body.toString();
  assert.ok(!raw.includes(SECRET) && !raw.includes('sha256='), 'no secret or signature in what the sink receives');
});

test('GitHub: a wrong or missing signature is 400 and nothing reaches the sink; events not listed are ignored', async () => {
  const { s, sink } = await example();
  const before = sink.received.length;
  const body = JSON.stringify(pushPayload);
  const post = (headers: Record<string, string>) =>
    fetch(`${s.url}/github/default/repo-events`, { method: 'POST', headers: { 'content-type': 'application/json', 'x-github-event': 'push', 'x-github-delivery': 'd-2', ...headers }, body });
  const wrong = await post({ 'x-hub-signature-256': await sign('another-secret', body) });
  assert.equal(wrong.status, 400);
  assert.match(await wrong.text(), /signature does not match/);
  const missing = await post({});
  assert.equal(missing.status, 400);
  assert.match(await missing.text(), /missing X-Hub-Signature-256/);
  const watch = await fetch(`${s.url}/github/default/repo-events`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', 'x-github-event': 'watch', 'x-github-delivery': 'd-3', 'x-hub-signature-256': await sign(SECRET, body) },
    body,
  });
  assert.equal(watch.status, 200);
  assert.match(await watch.text(), /not in spec\.eventTypes/);
  // Final without waiting: the source answers a webhook only after its sink took the event (202), so one refused or
  // ignored has sent nothing by the time it is answered.
  assert.equal(sink.received.length, before);
});

test("GitLab: a push with the right X-Gitlab-Token becomes Knative's event; the token is never copied into it", async () => {
  const { s, sink } = await example();
  const before = sink.received.length;
  const payload = { object_kind: 'push', ref: 'refs/heads/main', project: { http_url: 'https://gitlab.com/my-group/my-project.git', name: 'my-project' } };
  const post = (token: string | undefined, event = 'Push Hook') =>
    fetch(`${s.url}/gitlab/default/project-events`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', 'x-gitlab-event': event, ...(token === undefined ? {} : { 'x-gitlab-token': token }) },
      body: JSON.stringify(payload),
    });
  assert.equal((await post('wrong')).status, 400);
  assert.equal((await post(undefined)).status, 400);
  const ignored = await post(SECRET, 'Issue Hook');
  assert.equal(ignored.status, 200);
  assert.equal(await ignored.text(), 'event not registered');
  const ok = await post(SECRET);
  assert.equal(ok.status, 202, await ok.text());
  await sink.waitForCount(before + 1);
  const r = sink.received[before]!;
  assert.equal(r.event!.attributes['type'], 'dev.knative.sources.gitlabsource.Push Hook');
  assert.equal(r.event!.attributes['source'], 'https://gitlab.com/my-group/my-project.git');
  assert.match(String(r.event!.attributes['id']), /^[0-9a-f-]{36}$/);
  assert.deepEqual(JSON.parse(r.event!.data!.toString()), payload);
  assert.ok(!(JSON.stringify(r.headers) + r.body.toString()).includes(SECRET), 'the token is not in the event');
  assert.equal(sink.received.length, before + 1, 'refused and ignored webhooks sent nothing');
});
