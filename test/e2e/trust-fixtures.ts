// What the end-to-end tests of who may send (OIDC, EventPolicy, TLS, static credentials) share: sending an event
// with given headers, the audiences Sluice's addressables have, their EventPolicy status, and certificates made with
// openssl.
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { readFileSync, writeFileSync } from 'node:fs';
import { connect as tlsConnect } from 'node:tls';
import { join } from 'node:path';
import { Agent, request, type buildConnector } from 'undici';
import { postEvent } from './harness.js';
import { broker, brokerRef, documents, trigger, type Meta } from './manifests.js';

/** Posts the event `id` (source `/t`, type `t` unless given) with `{}` as data and these headers. */
export const sendEvent = (url: string, id: string, headers: Record<string, string> = {}, type = 't') => postEvent(url, { id, source: '/t', type }, '{}', headers);

/**
 * Two brokers between which Sluice itself sends: Trigger `forward` from `from` into `to` (`meta` says what `to` asks
 * of senders), and Trigger `out` from `to` to `subscriber`. Sluice's own sends must pass what others are refused.
 */
export const forwardingBrokers = (from: string, to: string, subscriber: string, meta: Meta = {}): string =>
  documents(broker(from), broker(to, meta), trigger('forward', { broker: from, subscriber: brokerRef(to) }), trigger('out', { broker: to, subscriber }));

/** The audience of a Broker, as Knative names it. */
export const brokerAudience = (name: string, namespace = 'default'): string => `eventing.knative.dev/broker/${namespace}/${name}`;

/** The audience of an InMemoryChannel. */
export const channelAudience = (name: string, namespace = 'default'): string => `messaging.knative.dev/inmemorychannel/${namespace}/${name}`;

/** The part of a resource's status the admin API reports about its EventPolicies. */
export interface PolicyStatus {
  readonly status: {
    readonly conditions: readonly { readonly type: string; readonly status: string; readonly reason?: string }[];
    readonly policies?: unknown;
    readonly address?: { readonly audience?: string };
  };
}

/** A resource's status from the admin API, e.g. `brokers/default/b`. */
export const statusOf = async (adminUrl: string, path: string): Promise<PolicyStatus> => (await (await fetch(`${adminUrl}/api/v1/${path}`)).json()) as PolicyStatus;

/**
 * Asserts the EventPolicies a status names, as Knative reports them: EventPoliciesReady and the list of policies, or
 * with none, the default authorization mode.
 */
export function assertPolicies(view: PolicyStatus, names: readonly string[]): void {
  const ready = view.status.conditions.find((c) => c.type === 'EventPoliciesReady');
  if (names.length === 0) {
    assert.equal(ready?.reason, 'DefaultAuthorizationMode');
    assert.equal(view.status.policies, undefined);
  } else {
    assert.equal(ready?.status, 'True');
    assert.deepEqual(
      view.status.policies,
      names.map((name) => ({ name, apiVersion: 'eventing.knative.dev/v1alpha1' })),
    );
  }
}

/** Whether openssl can make the certificates; a test that needs it is skipped without it, except in CI. */
export const needsOpenssl: { readonly skip: string | false } = {
  skip: hasOpenssl() || process.env['CI'] === 'true' ? false : 'openssl is not installed',
};

function hasOpenssl(): boolean {
  try {
    execFileSync('openssl', ['version'], { stdio: 'ignore' });
    return true;
  } catch {
    return false;
  }
}

const openssl = (args: readonly string[]): void => void execFileSync('openssl', args, { stdio: 'ignore' });

/** PEM files of a certificate and its key. */
export interface CertFiles {
  readonly cert: string;
  readonly key: string;
}

const EC_KEY = ['-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:prime256v1', '-nodes'];

/** A self-signed certificate for 127.0.0.1, in `dir` as `<name>.crt` and `<name>.key`. */
export const selfSigned = (dir: string, name: string): CertFiles => selfSignedWith(dir, name, ['subjectAltName=IP:127.0.0.1']);

/** A CA of our own: its key and self-signed certificate, in `dir` as `<name>.crt` and `<name>.key`. */
export const makeCa = (dir: string, name: string): CertFiles => selfSignedWith(dir, name, ['basicConstraints=critical,CA:TRUE', 'keyUsage=critical,keyCertSign']);

function selfSignedWith(dir: string, name: string, extensions: readonly string[]): CertFiles {
  const cert = join(dir, `${name}.crt`);
  const key = join(dir, `${name}.key`);
  const addext = extensions.flatMap((e) => ['-addext', e]);
  openssl(['req', '-x509', ...EC_KEY, '-days', '2', '-subj', `/CN=${name}`, ...addext, '-keyout', key, '-out', cert]);
  return { cert, key };
}

/** A certificate `ca` signed for a server on 127.0.0.1 and localhost, or for a client. */
export function issueCert(dir: string, ca: CertFiles, name: string, usage: 'serverAuth' | 'clientAuth'): CertFiles {
  const key = join(dir, `${name}.key`);
  const csr = join(dir, `${name}.csr`);
  const cert = join(dir, `${name}.crt`);
  const ext = join(dir, `${name}.ext`);
  openssl(['req', ...EC_KEY, '-subj', `/CN=${name}`, '-keyout', key, '-out', csr]);
  writeFileSync(ext, `subjectAltName=IP:127.0.0.1,DNS:localhost\nextendedKeyUsage=${usage}\n`);
  openssl(['x509', '-req', '-in', csr, '-CA', ca.cert, '-CAkey', ca.key, '-CAcreateserial', '-days', '2', '-extfile', ext, '-out', cert]);
  return { cert, key };
}

/** Copies a certificate and key over `to`'s files, as a certificate renewal does. */
export function replaceCert(to: CertFiles, from: CertFiles): void {
  writeFileSync(to.key, readFileSync(from.key));
  writeFileSync(to.cert, readFileSync(from.cert));
}

/** The SHA-256 fingerprint of the certificate a TLS server on 127.0.0.1 serves; `verify` checks it against `ca`. */
export function peerFingerprint(port: number, ca: string, verify = true): Promise<string> {
  return new Promise((resolve, reject) => {
    const s = tlsConnect({ host: '127.0.0.1', port, ca, rejectUnauthorized: verify }, () => {
      resolve(s.getPeerCertificate().fingerprint256);
      s.end();
    });
    s.on('error', reject);
  });
}

/** Posts the event `id` of type `type` over HTTPS with these connection options (CA, client certificate); the status. */
export async function postOverTls(url: string, id: string, type: string, connect: buildConnector.BuildOptions): Promise<number> {
  const dispatcher = new Agent({ connect });
  try {
    const res = await request(url, {
      method: 'POST',
      headers: { 'ce-specversion': '1.0', 'ce-id': id, 'ce-source': '/t', 'ce-type': type },
      body: '',
      dispatcher,
    });
    await res.body.dump();
    return res.statusCode;
  } finally {
    await dispatcher.close();
  }
}
