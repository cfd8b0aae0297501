/** What a URL's password is replaced with wherever Sluice shows or sends it on (logs, admin API, dead letters). */
export const REDACTED_PASSWORD = '***';

/** A URL with any password replaced by `***`, for logs, error messages and the admin API. */
export function redactUrl(url: string | URL): string {
  let u: URL;
  try {
    u = typeof url === 'string' ? new URL(url) : new URL(url.href);
  } catch {
    return String(url);
  }
  if (u.password !== '') u.password = REDACTED_PASSWORD;
  return u.href;
}

// `scheme://user:password@` anywhere in a text (a URL alone, or quoted in an error message, a log line or JSON text):
// a double quote ends a match (a parsed URL percent-encodes it), so a text of JSON strings is never rewritten across two of them.
const USERINFO = /(\b[a-z][a-z0-9+.-]*:\/\/[^\s/@:"<>]*):[^\s/@"<>]*@/gi;

/** A text with the password of every URL in it (`scheme://user:password@host`) replaced by `***`. */
export function redactUrlsIn(text: string): string {
  return text.includes('@') ? text.replace(USERINFO, `$1:${REDACTED_PASSWORD}@`) : text;
}

/**
 * A copy of a JSON-like value (resources, status, figures) with {@link redactUrlsIn} applied to every string, keys
 * included; parts without a credential are shared, not copied. The value itself is left as it is: the running
 * configuration keeps the real credentials.
 */
export function redactCredentials<T>(value: T): T {
  return redactAny(value, 0) as T;
}

function redactAny(v: unknown, depth: number): unknown {
  if (typeof v === 'string') return redactUrlsIn(v);
  if (v === null || typeof v !== 'object' || depth > 64) return v;
  if (Array.isArray(v)) {
    const list = v as readonly unknown[];
    let out: unknown[] | undefined;
    list.forEach((x, i) => {
      const r = redactAny(x, depth + 1);
      if (r !== x) (out ??= [...list])[i] = r;
    });
    return out ?? list;
  }
  // Only plain objects are walked (what JSON serialises as written); a Date or a Map keeps its own serialisation.
  const proto = Object.getPrototypeOf(v) as unknown;
  if (proto !== Object.prototype && proto !== null) return v;
  let out: Record<string, unknown> | undefined;
  for (const [k, x] of Object.entries(v)) {
    const r = redactAny(x, depth + 1);
    const key = redactUrlsIn(k);
    if (r !== x || key !== k) {
      out ??= { ...(v as Record<string, unknown>) };
      if (key !== k) delete out[k];
      out[key] = r;
    }
  }
  return out ?? v;
}

// `scheme://user:***@`: a password that is the redaction mark itself.
const REDACTED_USERINFO = /\b[a-z][a-z0-9+.-]*:\/\/[^\s/@:]*:\*\*\*@/i;

/** Whether a text holds a URL whose password is `***`: a redacted value read back from the admin API, not a secret. */
export function hasRedactedPassword(text: string): boolean {
  return text.includes('***@') && REDACTED_USERINFO.test(text);
}
