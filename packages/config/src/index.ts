export { KINDS, findKind, type KindInfo } from './kinds.js';
export { SCHEMAS_DIR, SchemaValidator, type SchemaViolation } from './schema-validator.js';
export {
  expandPaths,
  formatConfigError,
  loadConfig,
  type ConfigError,
  type LoadResult,
  type LoadedResource,
  type ReportFn,
  type SemanticCheck,
  type SourcePosition,
  type SluiceConfig,
} from './load.js';
export { ADDRESSABLE_KINDS, BROKER_CLASSES, brokerChecks, checkDestination, type CesqlValidator } from './broker-checks.js';
export { SECRETS_DIR_ENV, SecretStore, type SecretDocument, type SecretKeyRef, type SecretLookup, type SecretStoreOptions } from './secret-store.js';
