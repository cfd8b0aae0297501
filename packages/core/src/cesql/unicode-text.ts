// CESQL Strings are sequences of Unicode characters (spec §3.1), so lengths and positions count code points,
// not the UTF-16 units JS strings index by. Strings without surrogates (nearly all) take the plain fast path.

const SURROGATE = /[\uD800-\uDFFF]/;

/** Whether the string holds any UTF-16 surrogate (i.e. code points outside the BMP). */
export function hasSurrogates(s: string): boolean {
  return SURROGATE.test(s);
}

/** Number of code points. */
export function codePointLength(s: string): number {
  let n = s.length;
  for (let i = 0; i < s.length - 1; i++) {
    const c = s.charCodeAt(i);
    if (c >= 0xd800 && c <= 0xdbff) {
      const d = s.charCodeAt(i + 1);
      if (d >= 0xdc00 && d <= 0xdfff) {
        n -= 1;
        i += 1;
      }
    }
  }
  return n;
}

/** Code-unit width (1 or 2) of the code point starting at `i`. */
export function codePointWidth(s: string, i: number): number {
  const c = s.charCodeAt(i);
  if (c >= 0xd800 && c <= 0xdbff && i + 1 < s.length) {
    const d = s.charCodeAt(i + 1);
    if (d >= 0xdc00 && d <= 0xdfff) return 2;
  }
  return 1;
}

/** Code points `[start, end)` of `s` (0-based, clamped). */
export function sliceCodePoints(s: string, start: number, end: number): string {
  if (!hasSurrogates(s)) return s.slice(start, end);
  return Array.from(s).slice(start, end).join('');
}

// The Unicode White_Space property (PropList.txt), which is what TRIM strips.
function isWhiteSpace(c: number): boolean {
  return (
    (c >= 0x09 && c <= 0x0d) || c === 0x20 || c === 0x85 || c === 0xa0 || c === 0x1680 || (c >= 0x2000 && c <= 0x200a) || c === 0x2028 || c === 0x2029 || c === 0x202f || c === 0x205f || c === 0x3000
  );
}

/** Removes leading and trailing Unicode white space (not JS `trim()`, which also strips U+FEFF and keeps U+0085). */
export function trimWhiteSpace(s: string): string {
  let start = 0;
  let end = s.length;
  while (start < end && isWhiteSpace(s.charCodeAt(start))) start += 1;
  while (end > start && isWhiteSpace(s.charCodeAt(end - 1))) end -= 1;
  return start === 0 && end === s.length ? s : s.slice(start, end);
}
