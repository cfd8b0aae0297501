import { codePointWidth } from './unicode-text.js';

// LIKE (spec §3.4.3): `%` matches any run of characters, `_` exactly one character, everything else itself,
// case-sensitively. `\%` and `\_` match the literal character; any other backslash is a literal backslash, as in
// sdk-go (the spec only defines escapes for the two wildcards).

/** Pattern token: a literal run, or the `_` (ONE) and `%` (ANY) wildcards. */
export type LikeToken = string | typeof ONE | typeof ANY;
const ONE = 1 as const;
const ANY = 2 as const;

/** Splits a LIKE pattern into literal runs and wildcards; consecutive `%` collapse into one. */
export function tokenizeLikePattern(pattern: string): LikeToken[] {
  const out: LikeToken[] = [];
  let lit = '';
  const flush = (): void => {
    if (lit !== '') out.push(lit);
    lit = '';
  };
  for (let i = 0; i < pattern.length; i++) {
    const ch = pattern[i]!;
    if (ch === '\\' && (pattern[i + 1] === '%' || pattern[i + 1] === '_')) {
      lit += pattern[i + 1]!;
      i += 1;
    } else if (ch === '%') {
      flush();
      if (out[out.length - 1] !== ANY) out.push(ANY);
    } else if (ch === '_') {
      flush();
      out.push(ONE);
    } else {
      lit += ch;
    }
  }
  flush();
  return out;
}

type Part = string | typeof ONE;
type Segment = readonly Part[];

// End index of `seg` matched at `i`, or -1.
function matchAt(seg: Segment, s: string, i: number): number {
  for (const part of seg) {
    if (part === ONE) {
      if (i >= s.length) return -1;
      i += codePointWidth(s, i);
    } else {
      if (!s.startsWith(part, i)) return -1;
      i += part.length;
    }
  }
  return i;
}

// End index of the leftmost match of `seg` starting at or after `from`, or -1. Leftmost is optimal between `%`s.
function findFrom(seg: Segment, s: string, from: number): number {
  const head = seg[0];
  if (typeof head === 'string') {
    for (let i = s.indexOf(head, from); i >= 0; i = s.indexOf(head, i + 1)) {
      const end = matchAt(seg, s, i);
      if (end >= 0) return end;
    }
    return -1;
  }
  for (let i = from; i < s.length; i += codePointWidth(s, i)) {
    const end = matchAt(seg, s, i);
    if (end >= 0) return end;
  }
  return -1;
}

// Whether `seg` matches a suffix of `s` that starts at or after `from` (a code point boundary).
function matchesSuffix(seg: Segment, s: string, from: number): boolean {
  let minUnits = 0;
  let ones = 0;
  for (const part of seg) {
    if (part === ONE) ones += 1;
    else minUnits += part.length;
  }
  if (ones === 0) return s.length - minUnits >= from && s.endsWith(seg.join(''));
  minUnits += ones;
  // A `_` spans one or two UTF-16 units, so only starts within that window can end exactly at the end.
  let i = Math.max(from, s.length - minUnits - ones);
  if (i > from && codePointWidth(s, i - 1) === 2) i += 1; // don't start inside a surrogate pair
  for (; i <= s.length - minUnits; i += codePointWidth(s, i)) {
    if (matchAt(seg, s, i) === s.length) return true;
  }
  return false;
}

/** Compiles a LIKE pattern once into a matcher; the common shapes become startsWith/endsWith/includes/===. */
export function compileLikePattern(pattern: string): (s: string) => boolean {
  const tokens = tokenizeLikePattern(pattern);
  const segments: Part[][] = [[]];
  for (const t of tokens) {
    if (t === ANY) segments.push([]);
    else segments[segments.length - 1]!.push(t);
  }
  const plain = segments.every((seg) => seg.every((p) => p !== ONE));
  const text = segments.map((seg) => seg.join(''));
  if (segments.length === 1) {
    const only = segments[0]!;
    if (plain) {
      const lit = text[0]!;
      return (s) => s === lit;
    }
    return (s) => matchAt(only, s, 0) === s.length;
  }
  if (plain && segments.length === 2) {
    const prefix = text[0]!;
    const suffix = text[1]!;
    if (prefix === '' && suffix === '') return () => true;
    if (suffix === '') return (s) => s.startsWith(prefix);
    if (prefix === '') return (s) => s.endsWith(suffix);
    const min = prefix.length + suffix.length;
    return (s) => s.length >= min && s.startsWith(prefix) && s.endsWith(suffix);
  }
  if (plain && segments.length === 3 && text[0] === '' && text[2] === '') {
    const infix = text[1]!;
    return (s) => s.includes(infix);
  }
  const first = segments[0]!;
  const middles = segments.slice(1, -1).filter((seg) => seg.length > 0);
  const last = segments[segments.length - 1]!;
  return (s) => {
    let pos = matchAt(first, s, 0);
    if (pos < 0) return false;
    for (const seg of middles) {
      pos = findFrom(seg, s, pos);
      if (pos < 0) return false;
    }
    return matchesSuffix(last, s, pos);
  };
}

/**
 * LIKE without compiling: walks the raw pattern on every call (greedy, backtracking to the last `%`). This is what
 * the naive interpreter uses; it allocates nothing but redoes the pattern work each time.
 */
export function likeMatches(text: string, pattern: string): boolean {
  let t = 0;
  let p = 0;
  let starP = -1; // pattern index just after the last `%` seen
  let starT = 0; // text index that `%` currently stops at
  while (t < text.length) {
    if (p < pattern.length) {
      const c = pattern[p]!;
      if (c === '%') {
        p += 1;
        starP = p;
        starT = t;
        continue;
      }
      if (c === '_') {
        t += codePointWidth(text, t);
        p += 1;
        continue;
      }
      const escaped = c === '\\' && (pattern[p + 1] === '%' || pattern[p + 1] === '_');
      if (text[t] === (escaped ? pattern[p + 1] : c)) {
        t += 1;
        p += escaped ? 2 : 1;
        continue;
      }
    }
    if (starP < 0) return false;
    starT += codePointWidth(text, starT); // let the last `%` swallow one more character
    t = starT;
    p = starP;
  }
  while (p < pattern.length && pattern[p] === '%') p += 1;
  return p === pattern.length;
}

/**
 * Oracle for tests: dynamic programming over code points, structurally unlike the two matchers above, so
 * agreement between the three is meaningful. Quadratic; not for evaluation.
 */
export function likeMatchesByTable(text: string, pattern: string): boolean {
  const chars = Array.from(text);
  const pat: LikeToken[] = [];
  for (const t of tokenizeLikePattern(pattern)) {
    if (typeof t === 'string') pat.push(...Array.from(t));
    else pat.push(t);
  }
  // row[j]: whether the pattern prefix seen so far matches chars[0..j).
  let row: boolean[] = new Array<boolean>(chars.length + 1).fill(false);
  row[0] = true;
  for (const t of pat) {
    const next: boolean[] = new Array<boolean>(chars.length + 1).fill(false);
    for (let j = 0; j <= chars.length; j++) {
      if (t === ANY) next[j] = row[j]! || (j > 0 && next[j - 1]!);
      else if (j > 0) next[j] = row[j - 1]! && (t === ONE || t === chars[j - 1]);
    }
    row = next;
  }
  return row[chars.length]!;
}
