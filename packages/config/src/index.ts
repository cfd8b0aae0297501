export { KINDS, LEGACY_API_VERSIONS, PLUMBING_KINDS, didYouMean, editDistance, findKind, isEventingGroup, isPlumbing, type KindInfo } from './kinds.js';
export { SCHEMAS_DIR, SchemaValidator, type SchemaViolation } from './schema-validator.js';
export {
  DANGLING_REFERENCE_CODES,
  expandManifestPaths,
  expandPaths,
  formatConfigError,
  isKind,
  loadConfig,
  resourcesOfKind,
  typed,
  type ConfigError,
  type ConfigNotice,
  type LoadOptions,
  type ManifestFile,
  type NoticeFn,
  type LoadResult,
  type LoadedResource,
  type ReportFn,
  type ResourceKind,
  type ResourceOf,
  type KindAndValue,
  type TypedResource,
  type SemanticCheck,
  type SourcePosition,
  type SluiceConfig,
} from './load.js';
export { ADDRESSABLE_KINDS, BROKER_CLASSES, brokerChecks, checkDestination, checkRefApiVersion, refApiVersions, type CesqlValidator } from './broker-checks.js';
export { SECRETS_DIR_ENV, SecretStore, type SecretDocument, type SecretKeyRef, type SecretLookup, type SecretStoreOptions } from './secret-store.js';
