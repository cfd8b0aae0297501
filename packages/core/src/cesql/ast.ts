/**
 * The CESQL syntax tree. Every node carries `pos`, a 0-based offset into the expression used in error messages:
 * the start of literals, identifiers, EXISTS and calls; the operator for unary, binary, LIKE and IN nodes.
 */
export type CesqlNode = LiteralNode | IdentifierNode | UnaryNode | BinaryNode | LikeNode | ExistsNode | InNode | CallNode;

/** A string, integer or boolean literal. */
export interface LiteralNode {
  readonly kind: 'literal';
  readonly value: string | number | boolean;
  readonly pos: number;
}

/** An attribute reference; `name` is lower-cased (identifiers are case-insensitive). */
export interface IdentifierNode {
  readonly kind: 'identifier';
  readonly name: string;
  readonly pos: number;
}

/** `NOT x` or `-x`. */
export interface UnaryNode {
  readonly kind: 'unary';
  readonly op: 'not' | 'negate';
  readonly operand: CesqlNode;
  readonly pos: number;
}

/** Binary operators; `<>` is parsed as `!=`. */
export type BinaryOp = '*' | '/' | '%' | '+' | '-' | '=' | '!=' | '<' | '<=' | '>' | '>=' | 'and' | 'or' | 'xor';

/** `left op right`. */
export interface BinaryNode {
  readonly kind: 'binary';
  readonly op: BinaryOp;
  readonly left: CesqlNode;
  readonly right: CesqlNode;
  readonly pos: number;
}

/** `x [NOT] LIKE 'pattern'`; the pattern is always a string literal (spec §2.3). */
export interface LikeNode {
  readonly kind: 'like';
  readonly negated: boolean;
  readonly operand: CesqlNode;
  readonly pattern: string;
  readonly pos: number;
}

/** `EXISTS name`. */
export interface ExistsNode {
  readonly kind: 'exists';
  readonly name: string;
  readonly pos: number;
}

/** `x [NOT] IN (e1, …)`; the set is never empty. */
export interface InNode {
  readonly kind: 'in';
  readonly negated: boolean;
  readonly operand: CesqlNode;
  readonly set: readonly CesqlNode[];
  readonly pos: number;
}

/** A function invocation; `name` is upper-cased (function names are case-insensitive). */
export interface CallNode {
  readonly kind: 'call';
  readonly name: string;
  readonly args: readonly CesqlNode[];
  readonly pos: number;
}

/** Direct operands of a node, in evaluation order. */
export function childrenOf(node: CesqlNode): readonly CesqlNode[] {
  switch (node.kind) {
    case 'unary':
    case 'like':
      return [node.operand];
    case 'binary':
      return [node.left, node.right];
    case 'in':
      return [node.operand, ...node.set];
    case 'call':
      return node.args;
    default:
      return [];
  }
}
