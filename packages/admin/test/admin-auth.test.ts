// The admin API's authentication and authorization on a real loopback port with a fake control plane: roles by
// method, 401/403 with JSON errors, the Host check against DNS rebinding, changes refused from another Origin, routes
// mounted later covered without doing anything, token files and the generated token.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync, statSync, writeFileSync, chmodSync } from 'node:fs';
import { request } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import express from 'express';
import { AdminAuth, AdminServer, LOOPBACK_HOSTS, ensureGeneratedToken, isLoopback, readTokenFile, requireRole, type AdminAuthOptions, type ControlPlane } from '@sluice/admin';

const plane: ControlPlane = {
  kinds: () => ['Broker'],
  resources: () => [{ apiVersion: 'eventing.knative.dev/v1', kind: 'Broker', metadata: { name: 'b', namespace: 'default' } }],
  readiness: () => ({ ready: true, reasons: [] }),
};

const EDIT = 'edit-token-0123456789abcdef';
const VIEW = 'view-token-0123456789abcdef';

async function withAdmin(options: Partial<AdminAuthOptions>, fn: (admin: AdminServer, changes: string[]) => Promise<void>): Promise<void> {
  const auth = new AdminAuth({
    tokens: [
      { token: EDIT, role: 'edit', name: 'ops' },
      { token: VIEW, role: 'view', name: 'dashboards' },
    ],
    anonymous: 'view',
    allowedHosts: LOOPBACK_HOSTS,
    ...options,
  });
  const admin = await AdminServer.start({ port: 0, plane, auth });
  const changes: string[] = [];
  // A router mounted after start, as other packages mount theirs: it gets the same rules without asking.
  const router = express.Router();
  router.post('/thing', (_req, res) => {
    changes.push('post');
    res.json({ done: true });
  });
  router.delete('/thing', (_req, res) => {
    changes.push('delete');
    res.json({ done: true });
  });
  router.get('/secret', requireRole('edit'), (_req, res) => void res.json({ secret: 1 }));
  admin.mount('/api/v1/extra', router);
  admin.mountPublic('/page', (_req, res) => void res.type('text/html').send('<p>page</p>'));
  try {
    await fn(admin, changes);
  } finally {
    await admin.close();
  }
}

const bearer = (t: string): Record<string, string> => ({ authorization: `Bearer ${t}` });

async function errorOf(res: Response): Promise<{ code: string; message: string }> {
  const body = (await res.json()) as { error: { code: string; message: string } };
  return body.error;
}

/** A raw request with a chosen Host header (fetch does not let a caller set Host). */
function rawGet(url: string, host: string): Promise<{ status: number; body: string }> {
  return new Promise((resolve, reject) => {
    const req = request(url, { headers: { host } }, (res) => {
      let body = '';
      res.on('data', (d: Buffer) => (body += d.toString()));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, body }));
    });
    req.on('error', reject);
    req.end();
  });
}

test('reads are open to the anonymous view role; every other method needs an edit token (401 without, 403 with view)', async () => {
  await withAdmin({}, async (admin, changes) => {
    assert.equal((await fetch(`${admin.url}/api/v1/brokers`)).status, 200);
    assert.deepEqual(await (await fetch(`${admin.url}/api/v1/whoami`)).json(), { name: 'anonymous', role: 'view', anonymous: true });

    const anon = await fetch(`${admin.url}/api/v1/extra/thing`, { method: 'POST' });
    assert.equal(anon.status, 401);
    assert.match(anon.headers.get('www-authenticate') ?? '', /^Bearer realm="sluice-admin"/);
    assert.equal((await errorOf(anon)).code, 'SLUICE_ADMIN_UNAUTHORIZED');

    const view = await fetch(`${admin.url}/api/v1/extra/thing`, { method: 'DELETE', headers: bearer(VIEW) });
    assert.equal(view.status, 403);
    const e = await errorOf(view);
    assert.equal(e.code, 'SLUICE_ADMIN_FORBIDDEN');
    assert.match(e.message, /DELETE \/api\/v1\/extra\/thing needs the edit role; token dashboards has view/);

    const edit = await fetch(`${admin.url}/api/v1/extra/thing`, { method: 'POST', headers: bearer(EDIT) });
    assert.equal(edit.status, 200);
    assert.deepEqual(await (await fetch(`${admin.url}/api/v1/whoami`, { headers: bearer(EDIT) })).json(), { name: 'ops', role: 'edit', anonymous: false });
    assert.deepEqual(changes, ['post'], 'only the edit token changed anything');
  });
});

test('a wrong or malformed token is a 401 even where anonymous reads are allowed', async () => {
  await withAdmin({}, async (admin) => {
    const wrong = await fetch(`${admin.url}/api/v1/brokers`, { headers: bearer('not-a-token-of-this-server') });
    assert.equal(wrong.status, 401);
    assert.match(wrong.headers.get('www-authenticate') ?? '', /error="invalid_token"/);
    assert.match((await errorOf(wrong)).message, /does not accept this token/);
    const basic = await fetch(`${admin.url}/api/v1/brokers`, { headers: { authorization: 'Basic dXNlcjpwYXNz' } });
    assert.equal(basic.status, 401);
    assert.match((await errorOf(basic)).message, /must be "Bearer <token>"/);
    // A prefix of a real token is not that token.
    assert.equal((await fetch(`${admin.url}/api/v1/brokers`, { headers: bearer(EDIT.slice(0, -1)) })).status, 401);
  });
});

test('with anonymous none, reads need a token too; /livez, /readyz and public routes stay open', async () => {
  await withAdmin({ anonymous: 'none' }, async (admin) => {
    const anon = await fetch(`${admin.url}/api/v1/brokers`);
    assert.equal(anon.status, 401);
    assert.equal((await errorOf(anon)).code, 'SLUICE_ADMIN_UNAUTHORIZED');
    assert.equal((await fetch(`${admin.url}/api/v1/whoami`)).status, 401);
    assert.equal((await fetch(`${admin.url}/api/v1/brokers`, { headers: bearer(VIEW) })).status, 200);
    assert.equal((await fetch(`${admin.url}/livez`)).status, 200);
    assert.equal((await fetch(`${admin.url}/readyz`)).status, 200);
    assert.equal(await (await fetch(`${admin.url}/page`)).text(), '<p>page</p>');
    // An unknown route is not revealed to a caller without a token.
    assert.equal((await fetch(`${admin.url}/api/v1/nope/x/y`)).status, 401);
  });
});

test('requireRole puts a GET behind the edit role', async () => {
  await withAdmin({}, async (admin) => {
    assert.equal((await fetch(`${admin.url}/api/v1/extra/secret`)).status, 401);
    assert.equal((await fetch(`${admin.url}/api/v1/extra/secret`, { headers: bearer(VIEW) })).status, 403);
    assert.equal((await fetch(`${admin.url}/api/v1/extra/secret`, { headers: bearer(EDIT) })).status, 200);
  });
});

test('the Host check refuses names other than loopback (DNS rebinding); public routes and probes included', async () => {
  await withAdmin({}, async (admin) => {
    const port = new URL(admin.url).port;
    const rebound = await rawGet(`${admin.url}/api/v1/brokers`, `attacker.example:${port}`);
    assert.equal(rebound.status, 403);
    assert.equal((JSON.parse(rebound.body) as { error: { code: string } }).error.code, 'SLUICE_ADMIN_HOST');
    assert.equal((await rawGet(`${admin.url}/api/v1/brokers`, `localhost:${port}`)).status, 200);
    assert.equal((await rawGet(`${admin.url}/api/v1/brokers`, `[::1]:${port}`)).status, 200);
    assert.equal((await rawGet(`${admin.url}/page`, `attacker.example:${port}`)).status, 403);
  });
  await withAdmin({ allowedHosts: [...LOOPBACK_HOSTS, 'sluice.internal'] }, async (admin) => {
    assert.equal((await rawGet(`${admin.url}/api/v1/brokers`, 'sluice.internal')).status, 200);
  });
  const open: Partial<AdminAuthOptions> = {};
  await withAdmin(Object.assign(open, { allowedHosts: undefined }), async (admin) => {
    assert.equal((await rawGet(`${admin.url}/api/v1/brokers`, 'anything.example')).status, 200);
  });
});

test('a change from another Origin is refused even with an edit token; the same origin is fine', async () => {
  await withAdmin({}, async (admin, changes) => {
    const cross = await fetch(`${admin.url}/api/v1/extra/thing`, { method: 'POST', headers: { ...bearer(EDIT), origin: 'https://attacker.example' } });
    assert.equal(cross.status, 403);
    assert.equal((await errorOf(cross)).code, 'SLUICE_ADMIN_CROSS_ORIGIN');
    const otherPort = await fetch(`${admin.url}/api/v1/extra/thing`, { method: 'POST', headers: { ...bearer(EDIT), origin: 'http://127.0.0.1:1' } });
    assert.equal(otherPort.status, 403);
    const nullOrigin = await fetch(`${admin.url}/api/v1/extra/thing`, { method: 'POST', headers: { ...bearer(EDIT), origin: 'null' } });
    assert.equal(nullOrigin.status, 403);
    // The form a cross-site page can send without a preflight: no token, a simple content type.
    const form = await fetch(`${admin.url}/api/v1/extra/thing`, {
      method: 'POST',
      headers: { origin: 'https://attacker.example', 'content-type': 'application/x-www-form-urlencoded' },
      body: 'all=true',
    });
    assert.equal(form.status, 403);
    assert.deepEqual(changes, []);
    const same = await fetch(`${admin.url}/api/v1/extra/thing`, { method: 'POST', headers: { ...bearer(EDIT), origin: admin.url } });
    assert.equal(same.status, 200);
    assert.deepEqual(changes, ['post']);
  });
});

test('the public name of a reverse proxy, given as a trusted origin, may act; a page of another local server may not', async () => {
  await withAdmin({ trustedOrigins: ['sluice.example.com'] }, async (admin, changes) => {
    const proxied = await fetch(`${admin.url}/api/v1/extra/thing`, { method: 'POST', headers: { ...bearer(EDIT), origin: 'https://sluice.example.com' } });
    assert.equal(proxied.status, 200);
    const local = await fetch(`${admin.url}/api/v1/extra/thing`, { method: 'POST', headers: { ...bearer(EDIT), origin: 'http://localhost:3000' } });
    assert.equal(local.status, 403);
    assert.deepEqual(changes, ['post']);
  });
});

test('every answer forbids framing and sniffing, sends no Referer and is not cached', async () => {
  await withAdmin({}, async (admin) => {
    for (const path of ['/page', '/api/v1/brokers', '/livez', '/api/v1/nope']) {
      const res = await fetch(`${admin.url}${path}`);
      assert.equal(res.headers.get('x-frame-options'), 'DENY', path);
      assert.equal(res.headers.get('content-security-policy'), "frame-ancestors 'none'", path);
      assert.equal(res.headers.get('x-content-type-options'), 'nosniff', path);
      assert.equal(res.headers.get('referrer-policy'), 'no-referrer', path);
      assert.equal(res.headers.get('cache-control'), 'no-store', path);
    }
  });
});

test('tokens can be replaced while running (a rotated token file)', async () => {
  const auth = new AdminAuth({ tokens: [{ token: EDIT, role: 'edit', name: 'a' }], anonymous: 'none' });
  assert.equal(auth.authenticate(EDIT)?.name, 'a');
  auth.setTokens([{ token: VIEW, role: 'view', name: 'b' }]);
  assert.equal(auth.authenticate(EDIT), undefined);
  assert.equal(auth.authenticate(VIEW)?.role, 'view');
});

test('token files: token[,role[,name]] lines, comments, a bare token is edit; bad lines name file:line', () => {
  const dir = mkdtempSync(join(tmpdir(), 'sluice-admin-auth-'));
  try {
    const file = join(dir, 'tokens');
    writeFileSync(file, `# operators\n${EDIT}\n\n${VIEW},view,grafana\n`);
    assert.deepEqual(readTokenFile(file), [
      { token: EDIT, role: 'edit', name: 'tokens:2' },
      { token: VIEW, role: 'view', name: 'grafana' },
    ]);
    const bad = (text: string, re: RegExp): void => {
      writeFileSync(file, text);
      assert.throws(
        () => readTokenFile(file),
        (err: Error & { code?: string }) => err.code === 'SLUICE_ADMIN_TOKEN_FILE' && re.test(err.message),
      );
    };
    bad(`${EDIT},admin\n`, /tokens:1: role must be view or edit, got "admin"/);
    bad(`short\n`, /tokens:1: a token must be at least 16 characters/);
    bad(`${EDIT}\n${EDIT},view\n`, /tokens:2: the same token appears twice/);
    bad(`# nothing\n`, /holds no token/);
    assert.throws(() => readTokenFile(join(dir, 'missing')), /cannot read the admin token file/);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('the generated token: made once with mode 0600 in a 0700 directory, kept across starts, tightened if loosened', () => {
  const dir = mkdtempSync(join(tmpdir(), 'sluice-admin-auth-'));
  try {
    const data = join(dir, 'data');
    const first = ensureGeneratedToken(data);
    assert.equal(first.created, true);
    assert.equal(statSync(data).mode & 0o777, 0o700);
    assert.equal(statSync(first.file).mode & 0o777, 0o600);
    const token = readFileSync(first.file, 'utf8').trim();
    assert.match(token, /^[A-Za-z0-9_-]{43}$/);
    chmodSync(first.file, 0o644);
    const again = ensureGeneratedToken(data);
    assert.equal(again.created, false);
    assert.equal(readFileSync(again.file, 'utf8').trim(), token);
    assert.equal(statSync(again.file).mode & 0o777, 0o600);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('isLoopback knows the loopback spellings', () => {
  for (const h of ['127.0.0.1', '127.1.2.3', 'localhost', '::1', '[::1]', '::ffff:127.0.0.1']) assert.equal(isLoopback(h), true, h);
  for (const h of ['0.0.0.0', '::', '10.0.0.1', 'example.com', '128.0.0.1']) assert.equal(isLoopback(h), false, h);
});
