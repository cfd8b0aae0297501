import { readFileSync, unwatchFile, watchFile } from 'node:fs';
import { createServer as createHttpsServer, type Server as HttpsServer } from 'node:https';
import { rootCertificates } from 'node:tls';
import { SluiceError, type Logger } from '@sluice/core';

/** Certificate and key files of the HTTPS ingress (PEM). */
export interface TlsFiles {
  readonly certFile: string;
  readonly keyFile: string;
  /** CA (PEM) of client certificates; when set, the server asks every client for a certificate (mTLS). */
  readonly clientCaFile?: string;
}

function read(files: TlsFiles): { cert: string; key: string; ca?: string } {
  try {
    const pair = { cert: readFileSync(files.certFile, 'utf8'), key: readFileSync(files.keyFile, 'utf8') };
    return files.clientCaFile ? { ...pair, ca: readFileSync(files.clientCaFile, 'utf8') } : pair;
  } catch (err) {
    throw new SluiceError('SLUICE_TLS_INVALID', `cannot read the TLS certificate or key: ${(err as Error).message}`, { cause: err });
  }
}

/** An HTTPS server for the ingress; throws SLUICE_TLS_INVALID when the files cannot be read or do not match. */
export function createTlsServer(files: TlsFiles): { server: HttpsServer; cert: string } {
  const { cert, key, ca } = read(files);
  try {
    // Client certificates are asked for but not enforced by the handshake: brokers that require one check
    // `socket.authorized`, so the others stay open to clients without a certificate.
    const mtls = ca !== undefined ? { ca, requestCert: true, rejectUnauthorized: false } : {};
    return { server: createHttpsServer({ cert, key, ...mtls, connectionsCheckingInterval: 1000 }), cert };
  } catch (err) {
    throw new SluiceError('SLUICE_TLS_INVALID', `the TLS certificate and key cannot be used: ${(err as Error).message}`, { cause: err });
  }
}

/**
 * Reloads the certificate and key when either file changes (checked every `intervalMs`), without a restart: new
 * connections get the new certificate, open ones keep theirs. A pair that cannot be read or used is logged and the
 * previous one stays. Returns a function that stops watching.
 */
export function watchTlsFiles(server: HttpsServer, files: TlsFiles, logger: Logger, onReload: (cert: string) => void, intervalMs = 1000): () => void {
  const reload = (): void => {
    try {
      const { cert, key, ca } = read(files);
      server.setSecureContext(ca !== undefined ? { cert, key, ca } : { cert, key });
      onReload(cert);
      logger.info({ cert: files.certFile }, 'TLS certificate reloaded');
    } catch (err) {
      logger.error({ cert: files.certFile, err }, 'TLS certificate not reloaded: keeping the previous one');
    }
  };
  const listener = (cur: { mtimeMs: number }, prev: { mtimeMs: number }): void => {
    if (cur.mtimeMs !== prev.mtimeMs) reload();
  };
  watchFile(files.certFile, { interval: intervalMs, persistent: false }, listener);
  watchFile(files.keyFile, { interval: intervalMs, persistent: false }, listener);
  return () => {
    unwatchFile(files.certFile, listener);
    unwatchFile(files.keyFile, listener);
  };
}

/** The CA list for connections that must trust both the public roots and Sluice's own certificate. */
export function rootsPlus(...pems: readonly string[]): string[] {
  return [...rootCertificates, ...pems];
}
