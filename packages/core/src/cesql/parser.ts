import { childrenOf, type BinaryOp, type CesqlNode } from './ast.js';
import { CesqlError } from './errors.js';
import { tokenize, type Token } from './lexer.js';

// Precedence follows the grammar's alternative order (CESQLParser.g4, spec §2.3/§3.4), tightest first:
// function call > NOT > unary minus > LIKE > EXISTS > IN > * / % > + - > comparisons > AND/OR/XOR.
// Prefix NOT and minus therefore bind tighter than every binary operator: `NOT a = b` is `(NOT a) = b`.
const PREC_LIKE = 7;
const PREC_IN = 6;
const PREC_UNARY_OPERAND = 8; // only atoms and other prefix operators fit inside NOT/minus

const BINARY: ReadonlyMap<string, { op: BinaryOp; prec: number }> = new Map([
  ['*', { op: '*', prec: 5 }],
  ['/', { op: '/', prec: 5 }],
  ['%', { op: '%', prec: 5 }],
  ['+', { op: '+', prec: 4 }],
  ['-', { op: '-', prec: 4 }],
  ['=', { op: '=', prec: 3 }],
  ['!=', { op: '!=', prec: 3 }],
  ['<>', { op: '!=', prec: 3 }],
  ['<', { op: '<', prec: 3 }],
  ['<=', { op: '<=', prec: 3 }],
  ['>', { op: '>', prec: 3 }],
  ['>=', { op: '>=', prec: 3 }],
  ['AND', { op: 'and', prec: 2 }],
  ['OR', { op: 'or', prec: 2 }],
  ['XOR', { op: 'xor', prec: 2 }],
] as const);

const KEYWORDS: ReadonlySet<string> = new Set(['AND', 'OR', 'XOR', 'NOT', 'LIKE', 'IN', 'EXISTS', 'TRUE', 'FALSE']);
const IDENTIFIER = /^[A-Za-z0-9]+$/;
const FUNCTION_NAME = /^[A-Za-z][A-Za-z_]*$/;
// Deep enough for any hand-written filter, shallow enough to fail with a parse error instead of a stack overflow:
// MAX_DEPTH bounds the parser's recursion (parentheses, prefix operators), MAX_HEIGHT the tree that the compiler,
// the closures and the interpreter recurse over (a chain of 999 ORs is fine, 5,000 would overflow the stack).
const MAX_DEPTH = 200;
const MAX_HEIGHT = 1000;

function describe(t: Token): string {
  switch (t.type) {
    case 'eof':
      return 'end of expression';
    case 'string':
      return `string ${t.text}`;
    case 'integer':
      return `integer ${t.text}`;
    case 'word':
      return KEYWORDS.has(t.upper) ? `keyword ${t.upper}` : `"${t.text}"`;
    default:
      return `"${t.text}"`;
  }
}

class Parser {
  private i = 0;
  private depth = 0;

  constructor(private readonly tokens: readonly Token[]) {}

  private peek(offset = 0): Token {
    return this.tokens[Math.min(this.i + offset, this.tokens.length - 1)]!;
  }

  private next(): Token {
    const t = this.peek();
    if (t.type !== 'eof') this.i += 1;
    return t;
  }

  private error(t: Token, message: string): CesqlError {
    return new CesqlError('parse', message, { position: t.pos });
  }

  private expect(type: Token['type'], what: string): Token {
    const t = this.peek();
    if (t.type !== type) throw this.error(t, `expected ${what} but found ${describe(t)}`);
    return this.next();
  }

  private isWord(t: Token, upper: string): boolean {
    return t.type === 'word' && t.upper === upper;
  }

  parseRoot(): CesqlNode {
    if (this.peek().type === 'eof') throw this.error(this.peek(), 'empty expression');
    const node = this.parseExpression(0);
    const t = this.peek();
    if (t.type !== 'eof') throw this.error(t, `unexpected ${describe(t)} after a complete expression`);
    return node;
  }

  private enter(t: Token): void {
    this.depth += 1;
    if (this.depth > MAX_DEPTH) throw this.error(t, `expression nested deeper than ${MAX_DEPTH} levels`);
  }

  private parseExpression(minPrec: number): CesqlNode {
    this.enter(this.peek());
    let left = this.parseUnary();
    // AND, OR and XOR share one precedence level, and the spec text (left to right) and the grammar
    // (right-associative) disagree on how a mix groups, so a mix needs parentheses to mean one thing everywhere.
    let logic: Token | undefined;
    for (;;) {
      const t = this.peek();
      let negated = false;
      let postfix: Token = t;
      if (this.isWord(t, 'NOT') && (this.isWord(this.peek(1), 'LIKE') || this.isWord(this.peek(1), 'IN'))) {
        negated = true;
        postfix = this.peek(1);
      }
      if (this.isWord(postfix, 'LIKE')) {
        if (PREC_LIKE < minPrec) break;
        this.i += negated ? 2 : 1;
        const pattern = this.peek();
        if (pattern.type !== 'string') throw this.error(pattern, `LIKE needs a string literal pattern, found ${describe(pattern)}`);
        this.next();
        left = { kind: 'like', negated, operand: left, pattern: pattern.value as string, pos: t.pos };
        continue;
      }
      if (this.isWord(postfix, 'IN')) {
        if (PREC_IN < minPrec) break;
        this.i += negated ? 2 : 1;
        left = { kind: 'in', negated, operand: left, set: this.parseSet(), pos: t.pos };
        continue;
      }
      const binary = t.type === 'op' || t.type === 'word' ? BINARY.get(t.type === 'word' ? t.upper : t.text) : undefined;
      if (binary === undefined || binary.prec < minPrec) break;
      if (binary.prec === 2) {
        if (logic !== undefined && logic.upper !== t.upper) {
          throw this.error(t, `${logic.upper} and ${t.upper} need parentheses to say which applies first`);
        }
        logic = t;
      }
      this.next();
      const right = this.parseExpression(binary.prec + 1);
      left = { kind: 'binary', op: binary.op, left, right, pos: t.pos };
    }
    this.depth -= 1;
    return left;
  }

  private parseUnary(): CesqlNode {
    const t = this.peek();
    if (this.isWord(t, 'NOT') || (t.type === 'op' && t.text === '-')) {
      this.next();
      this.enter(t);
      const operand = this.parseExpression(PREC_UNARY_OPERAND);
      this.depth -= 1;
      return { kind: 'unary', op: t.type === 'op' ? 'negate' : 'not', operand, pos: t.pos };
    }
    return this.parsePrimary();
  }

  private parseSet(): CesqlNode[] {
    this.expect('(', '"(" to open the IN set');
    const set: CesqlNode[] = [this.parseExpression(0)];
    while (this.peek().type === ',') {
      this.next();
      set.push(this.parseExpression(0));
    }
    this.expect(')', '"," or ")" in the IN set');
    return set;
  }

  private parsePrimary(): CesqlNode {
    const t = this.next();
    switch (t.type) {
      case '(': {
        const inner = this.parseExpression(0);
        this.expect(')', '")"');
        return inner;
      }
      case 'string':
      case 'integer':
        return { kind: 'literal', value: t.value, pos: t.pos };
      case 'word':
        return this.parseWord(t);
      default:
        throw this.error(t, t.type === 'eof' ? 'unexpected end of expression, expected a value' : `unexpected ${describe(t)}`);
    }
  }

  private parseWord(t: Token): CesqlNode {
    if (t.upper === 'TRUE' || t.upper === 'FALSE') return { kind: 'literal', value: t.upper === 'TRUE', pos: t.pos };
    if (t.upper === 'EXISTS') {
      const name = this.next();
      if (name.type !== 'word' || KEYWORDS.has(name.upper) || !IDENTIFIER.test(name.text)) {
        throw this.error(name, `EXISTS needs an attribute name, found ${describe(name)}`);
      }
      return { kind: 'exists', name: name.text.toLowerCase(), pos: t.pos };
    }
    if (KEYWORDS.has(t.upper)) throw this.error(t, `unexpected keyword ${t.upper}`);
    if (this.peek().type === '(') {
      if (!FUNCTION_NAME.test(t.text)) throw this.error(t, `invalid function name "${t.text}"`);
      this.next();
      const args: CesqlNode[] = [];
      if (this.peek().type !== ')') {
        args.push(this.parseExpression(0));
        while (this.peek().type === ',') {
          this.next();
          args.push(this.parseExpression(0));
        }
      }
      this.expect(')', `"," or ")" to close the arguments of ${t.upper}`);
      return { kind: 'call', name: t.upper, args, pos: t.pos };
    }
    if (!IDENTIFIER.test(t.text)) throw this.error(t, `invalid attribute name "${t.text}" (letters and digits only)`);
    return { kind: 'identifier', name: t.text.toLowerCase(), pos: t.pos };
  }
}

// Iterative, so measuring a too-deep tree cannot itself overflow the stack.
function checkHeight(root: CesqlNode): void {
  const stack: [CesqlNode, number][] = [[root, 1]];
  while (stack.length > 0) {
    const [node, depth] = stack.pop()!;
    if (depth > MAX_HEIGHT) {
      throw new CesqlError('parse', `expression nested deeper than ${MAX_HEIGHT} levels (use IN for long lists)`, {
        position: node.pos,
      });
    }
    for (const child of childrenOf(node)) stack.push([child, depth + 1]);
  }
}

/** Parses CESQL source into a syntax tree; throws a parse CesqlError with the offending position. */
export function parse(expression: string): CesqlNode {
  const root = new Parser(tokenize(expression)).parseRoot();
  checkHeight(root);
  return root;
}
