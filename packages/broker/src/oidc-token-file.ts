import { chmodSync, mkdirSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { realTimers, type Timers } from '@sluice/core';

const TOKEN_FILE = 'token';

/**
 * The directory of the token file a process started for `key` (e.g. `sinkbinding/<ns>/<name>`) reads, under the data
 * directory: `<dataDir>/oidc-tokens/<key>`.
 */
export function oidcTokenDir(dataDir: string, key: string): string {
  return join(dataDir, 'oidc-tokens', key);
}

/** The token file in {@link oidcTokenDir}: where `sluice bind` finds a SinkBinding's token. */
export function oidcTokenFilePath(dataDir: string, key: string): string {
  return join(oidcTokenDir(dataDir, key), TOKEN_FILE);
}

/** What signs the tokens written to a file (Sluice's own issuer). */
export interface TokenMinter {
  token(audience: string, subject: string): string;
}

/** How often a token file is looked at; the issuer hands out a new token before the old one expires. */
const CHECK_EVERY_MS = 30_000;

/**
 * An OIDC token for one sender and audience kept in a file a process reads, as Knative's SinkBinding keeps one in a
 * Secret projected into the pod: written at once (mode 0600 in a 0700 directory), then rewritten whenever the issuer
 * renews it (well before it expires), by renaming a complete file over the old one so a reader never sees half a
 * token. `close` stops the renewal and removes the file.
 */
export class OidcTokenFile {
  /** The file's path. */
  readonly path: string;
  readonly #dir: string;
  readonly #minter: TokenMinter;
  readonly #audience: string;
  readonly #subject: string;
  readonly #timers: Timers;
  #current = '';
  #timer: unknown;

  constructor(dir: string, minter: TokenMinter, audience: string, subject: string, timers: Timers = realTimers) {
    this.#dir = dir;
    this.path = join(dir, TOKEN_FILE);
    this.#minter = minter;
    this.#audience = audience;
    this.#subject = subject;
    this.#timers = timers;
    mkdirSync(dir, { recursive: true, mode: 0o700 });
    chmodSync(dir, 0o700);
    this.#refresh();
    this.#schedule();
  }

  #schedule(): void {
    this.#timer = this.#timers.setTimeout(() => {
      this.#refresh();
      this.#schedule();
    }, CHECK_EVERY_MS);
  }

  #refresh(): void {
    const token = this.#minter.token(this.#audience, this.#subject);
    if (token === this.#current) return;
    const tmp = `${this.path}.${process.pid}.tmp`;
    writeFileSync(tmp, token, { mode: 0o600 });
    renameSync(tmp, this.path);
    this.#current = token;
  }

  /** Stops renewing and removes the file. */
  close(): void {
    if (this.#timer !== undefined) this.#timers.clearTimeout(this.#timer);
    this.#timer = undefined;
    rmSync(this.#dir, { recursive: true, force: true });
  }
}
