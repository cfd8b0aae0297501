import { createHmac, timingSafeEqual } from 'node:crypto';

/** The result of checking a webhook signature; `reason` is safe to send back to the caller. */
export type SignatureCheck = { readonly ok: true } | { readonly ok: false; readonly reason: string };

/** Signature schemes the webhook source verifies. */
export type SignatureType = 'github' | 'standard-webhooks';

/** Standard Webhooks' default tolerance between `webhook-timestamp` and now. */
export const DEFAULT_SIGNATURE_TOLERANCE = 'PT5M';

const OK: SignatureCheck = { ok: true };
const fail = (reason: string): SignatureCheck => ({ ok: false, reason });

// Constant-time comparison; lengths are not secret (they are fixed by the scheme), so a length mismatch returns early.
function sameBytes(a: Buffer, b: Buffer): boolean {
  return a.length === b.length && timingSafeEqual(a, b);
}

/** GitHub's `X-Hub-Signature-256` value for a body: `sha256=` + hex HMAC-SHA256 keyed with the secret. */
export function githubSignature(secret: string, body: Buffer): string {
  return 'sha256=' + createHmac('sha256', secret).update(body).digest('hex');
}

/** Verifies GitHub's `X-Hub-Signature-256` header over the raw body. */
export function verifyGithubSignature(secret: string, body: Buffer, header: string | undefined): SignatureCheck {
  if (header === undefined || header === '') return fail('missing X-Hub-Signature-256 header');
  const m = /^sha256=([0-9a-fA-F]{64})$/.exec(header.trim());
  if (!m) return fail('malformed X-Hub-Signature-256 header (expected sha256=<64 hex digits>)');
  const expected = createHmac('sha256', secret).update(body).digest();
  return sameBytes(expected, Buffer.from(m[1]!, 'hex')) ? OK : fail('signature does not match');
}

/**
 * The HMAC key of a Standard Webhooks secret: base64 after the optional `whsec_` prefix. Returns undefined when the
 * secret is not valid base64.
 */
/** Shortest Standard Webhooks key accepted: the specification asks for 24 to 64 random bytes. */
export const MIN_STANDARD_WEBHOOKS_KEY_BYTES = 24;
/** Longest signature tolerance accepted: a longer one lets a captured request be replayed for longer. */
export const MAX_SIGNATURE_TOLERANCE_MS = 60 * 60 * 1000;

export function standardWebhooksKey(secret: string): Buffer | undefined {
  const b64 = secret.startsWith('whsec_') ? secret.slice('whsec_'.length) : secret;
  if (b64 === '' || !/^[A-Za-z0-9+/]*={0,2}$/.test(b64) || b64.length % 4 !== 0) return undefined;
  return Buffer.from(b64, 'base64');
}

/** A Standard Webhooks v1 signature: `v1,` + base64 HMAC-SHA256 of `{id}.{timestamp}.{body}`. */
export function standardWebhooksSignature(key: Buffer, id: string, timestamp: string, body: Buffer): string {
  return 'v1,' + createHmac('sha256', key).update(`${id}.${timestamp}.`).update(body).digest('base64');
}

/** The Standard Webhooks headers of a request. */
export interface StandardWebhooksHeaders {
  readonly id: string | undefined;
  readonly timestamp: string | undefined;
  readonly signature: string | undefined;
}

/**
 * Verifies a Standard Webhooks request (`webhook-id`, `webhook-timestamp` in seconds, `webhook-signature` with one or
 * more space-separated `v1,<base64>` entries). The timestamp must be within `toleranceMs` of `nowMs` either way.
 */
export function verifyStandardWebhooks(key: Buffer, headers: StandardWebhooksHeaders, body: Buffer, nowMs: number, toleranceMs: number): SignatureCheck {
  const { id, timestamp, signature } = headers;
  if (!id || !timestamp || !signature) return fail('missing webhook-id, webhook-timestamp or webhook-signature header');
  if (!/^\d{1,15}$/.test(timestamp)) return fail('malformed webhook-timestamp header (expected seconds since the epoch)');
  if (Math.abs(nowMs - Number(timestamp) * 1000) > toleranceMs) return fail('webhook-timestamp is outside the tolerance');
  const expected = createHmac('sha256', key).update(`${id}.${timestamp}.`).update(body).digest();
  let matched = false;
  for (const entry of signature.split(' ')) {
    const [version, value] = entry.split(',', 2);
    if (version !== 'v1' || value === undefined) continue;
    // Check every entry, so the time taken does not tell which one matched.
    if (sameBytes(expected, Buffer.from(value, 'base64'))) matched = true;
  }
  return matched ? OK : fail('signature does not match');
}

/**
 * The `webhook-id`s accepted within the signature tolerance, so that a captured request cannot be replayed while its
 * timestamp is still valid. Bounded: beyond `max` entries the oldest are forgotten (documented; the tolerance still
 * bounds replay in time).
 */
export class ReplayGuard {
  readonly #seen = new Map<string, number>();

  constructor(
    private readonly toleranceMs: number,
    private readonly max = 100_000,
  ) {}

  /** Claims an id; false when it was already claimed within the tolerance (a replay). */
  claim(id: string, nowMs: number): boolean {
    const expires = this.#seen.get(id);
    if (expires !== undefined && expires > nowMs) return false;
    this.#seen.delete(id);
    // Insertion order is expiry order (same tolerance for all): drop expired entries from the front, then the oldest.
    for (const [k, exp] of this.#seen) {
      if (exp > nowMs && this.#seen.size < this.max) break;
      this.#seen.delete(k);
    }
    // Twice the tolerance: a timestamp may be up to the tolerance in the future as well as in the past.
    this.#seen.set(id, nowMs + 2 * this.toleranceMs);
    return true;
  }

  /** Gives an id back (the event was not accepted, so the sender's retry with the same id must pass). */
  release(id: string): void {
    this.#seen.delete(id);
  }
}
