// Public surface of the CESQL v1 engine (CloudEvents SQL): compile an expression once, evaluate it per event.
export { CesqlError, CESQL_ERROR_CODES, type CesqlErrorKind, type CesqlErrorOptions } from './errors.js';
export type { CesqlEvent, CesqlProgram, CesqlResult, CesqlType, CesqlValue } from './types.js';
export type { CesqlNode } from './ast.js';
export { compileCesql, compileAst, interpretCesql, parseCesql, NO_ERRORS, type CesqlAst } from './program.js';
export { BUILTIN_FUNCTIONS, type CesqlFunction } from './functions.js';
