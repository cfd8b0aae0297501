// A minimal OIDC issuer on loopback for the end-to-end tests: discovery document and JWKS of one ES256 key, and
// tokens signed with it.
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { SignJWT, exportJWK, generateKeyPair } from 'jose';

/** A running test issuer. */
export interface TestIssuer {
  readonly url: string;
  /** A token with these claims (`iss` defaults to this issuer), valid `expSeconds` (default 300). */
  sign(claims: Record<string, unknown>, opts?: { expSeconds?: number }): Promise<string>;
  /** The `authorization` header of a token for `sub` and `audience`. */
  bearer(sub: string, audience: string): Promise<Record<string, string>>;
  /** How often the JWKS was fetched. */
  jwksHits(): number;
  close(): void;
}

/** Starts an issuer on a free loopback port. */
export async function startIssuer(): Promise<TestIssuer> {
  const { publicKey, privateKey } = await generateKeyPair('ES256');
  const jwk = { ...(await exportJWK(publicKey)), kid: 'k1', alg: 'ES256', use: 'sig' };
  let hits = 0;
  const server = createServer((req, res) => {
    const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
    if (req.url === '/.well-known/openid-configuration') {
      res.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify({ issuer: url, jwks_uri: `${url}/keys` }));
    } else if (req.url === '/keys') {
      hits++;
      res.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify({ keys: [jwk] }));
    } else res.writeHead(404).end();
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  const sign: TestIssuer['sign'] = (claims, opts = {}) =>
    new SignJWT(claims)
      .setProtectedHeader({ alg: 'ES256', kid: 'k1' })
      .setIssuer(typeof claims['iss'] === 'string' ? claims['iss'] : url)
      .setIssuedAt()
      .setExpirationTime(Math.floor(Date.now() / 1000) + (opts.expSeconds ?? 300))
      .sign(privateKey);
  return {
    url,
    sign,
    bearer: async (sub, audience) => ({ authorization: `Bearer ${await sign({ sub, aud: audience })}` }),
    jwksHits: () => hits,
    close: () => server.close(),
  };
}
