import { CesqlError } from './errors.js';
import { INT32_MAX, INT32_MIN } from './casts.js';

/** Token categories produced by {@link tokenize}. */
export type TokenType = 'string' | 'integer' | 'word' | 'op' | '(' | ')' | ',' | 'eof';

/** One lexical token. `value` is the unescaped text of a string, the number of an integer, else the raw text. */
export interface Token {
  readonly type: TokenType;
  /** Raw source text (for words: as written; keywords are matched on `upper`). */
  readonly text: string;
  /** Upper-cased `text`, for case-insensitive keyword and function matching. */
  readonly upper: string;
  readonly value: string | number;
  /** 0-based offset of the first character. */
  readonly pos: number;
}

// Keywords after which a sign starts a number rather than being a binary operator.
const PREFIX_KEYWORDS: ReadonlySet<string> = new Set(['AND', 'OR', 'XOR', 'NOT', 'LIKE', 'IN', 'EXISTS']);

function isDigit(c: number): boolean {
  return c >= 48 && c <= 57;
}

function isWordChar(c: number): boolean {
  return (c >= 48 && c <= 57) || (c >= 65 && c <= 90) || (c >= 97 && c <= 122) || c === 95;
}

function token(type: TokenType, text: string, pos: number, value: string | number = text): Token {
  return { type, text, upper: type === 'word' ? text.toUpperCase() : text, value, pos };
}

// A sign directly followed by digits is part of an integer literal (the ANTLR lexer's INTEGER_LITERAL) only where an
// operand is expected. ANTLR always glues it, which makes `4-1` a syntax error there; here `4-1` is a subtraction.
function expectsOperand(prev: Token | undefined): boolean {
  if (prev === undefined) return true;
  if (prev.type === '(' || prev.type === ',' || prev.type === 'op') return true;
  return prev.type === 'word' && PREFIX_KEYWORDS.has(prev.upper);
}

function lexString(src: string, start: number): { token: Token; end: number } {
  const quote = src[start]!;
  let out = '';
  let i = start + 1;
  while (i < src.length) {
    const ch = src[i]!;
    if (ch === '\\' && i + 1 < src.length) {
      // As in the ANTLR lexer a backslash always pairs with the next character; only the escaped delimiter loses
      // its backslash (spec §2.2), every other pair is kept verbatim so LIKE can see `\%` and `\_`.
      const next = src[i + 1]!;
      out += next === quote ? quote : ch + next;
      i += 2;
    } else if (ch === quote) {
      // A doubled delimiter is accepted by the ANTLR lexer; read it as one quote, as SQL does.
      if (src[i + 1] === quote) {
        out += quote;
        i += 2;
      } else {
        return { token: token('string', src.slice(start, i + 1), start, out), end: i + 1 };
      }
    } else {
      out += ch;
      i += 1;
    }
  }
  throw new CesqlError('parse', `unterminated string literal`, { position: start });
}

function integerToken(src: string, start: number, end: number): Token {
  const text = src.slice(start, end);
  const value = Number(text);
  if (value > INT32_MAX || value < INT32_MIN) {
    throw new CesqlError('parse', `integer literal ${text} is outside the 32-bit signed range`, { position: start });
  }
  return token('integer', text, start, value === 0 ? 0 : value); // `-0` reads as 0
}

/** Splits a CESQL expression into tokens, ending with an `eof` token; throws a parse CesqlError on bad input. */
export function tokenize(src: string): Token[] {
  const tokens: Token[] = [];
  let i = 0;
  while (i < src.length) {
    const c = src.charCodeAt(i);
    // The grammar skips exactly these (CESQLLexer.g4 SPACE).
    if (c === 32 || c === 9 || c === 10 || c === 13) {
      i += 1;
      continue;
    }
    const ch = src[i]!;
    if (ch === "'" || ch === '"') {
      const { token: t, end } = lexString(src, i);
      tokens.push(t);
      i = end;
      continue;
    }
    if ((ch === '-' || ch === '+') && isDigit(src.charCodeAt(i + 1)) && expectsOperand(tokens[tokens.length - 1])) {
      let j = i + 1;
      while (j < src.length && isDigit(src.charCodeAt(j))) j += 1;
      // `-5abc` negates the attribute `5abc`; only a whole digit run becomes a signed literal.
      if (j === src.length || !isWordChar(src.charCodeAt(j))) {
        tokens.push(integerToken(src, i, j));
        i = j;
        continue;
      }
    }
    if (isWordChar(c)) {
      let j = i + 1;
      while (j < src.length && isWordChar(src.charCodeAt(j))) j += 1;
      const text = src.slice(i, j);
      // All digits is an integer; digits followed by letters is an identifier (attribute names may start with one).
      tokens.push(/^[0-9]+$/.test(text) ? integerToken(src, i, j) : token('word', text, i));
      i = j;
      continue;
    }
    if (ch === '(' || ch === ')' || ch === ',') {
      tokens.push(token(ch, ch, i));
      i += 1;
      continue;
    }
    const two = src.slice(i, i + 2);
    if (two === '!=' || two === '<>' || two === '<=' || two === '>=') {
      tokens.push(token('op', two, i));
      i += 2;
      continue;
    }
    if ('*/%+-=<>'.includes(ch)) {
      tokens.push(token('op', ch, i));
      i += 1;
      continue;
    }
    throw new CesqlError('parse', `unexpected character ${JSON.stringify(ch)}`, { position: i });
  }
  tokens.push(token('eof', '', src.length));
  return tokens;
}
