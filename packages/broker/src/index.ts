export { ARRIVAL_TIME_EXTENSION, DEFAULT_MAX_TTL, TTL_EXTENSION, admitEvent, withoutTtl } from './admission.js';
export {
  MAX_HEADER_FIELDS,
  addressableTarget,
  createIngressHandler,
  readBody,
  refuse,
  sendError,
  tooManyHeaders,
  type AddressableRoute,
  type AuthVerdict,
  type IngressBackend,
  type IngressOptions,
} from './http-ingress.js';
export { DEFAULT_CONNECTION_LIMITS, applyConnectionLimits, type ConnectionLimits } from './connection-limits.js';
export { DeliveryDispatcher, type DeadLetterStoreMode, type DestinationCircuit, type DispatcherDeps, type SubscriptionTarget } from './delivery-dispatcher.js';
export {
  ARCHIVE_MAX_BYTES_ANNOTATION,
  ARCHIVE_RETENTION_ANNOTATION,
  DEAD_LETTER_MAX_BYTES_ANNOTATION,
  DEFAULT_ARCHIVE_MAX_BYTES,
  DEAD_LETTER_RETENTION_ANNOTATION,
  DEAD_LETTER_STORE_ANNOTATION,
  deadLetterAnnotationProblems,
  deadLetterChecks,
  deadLetterSettings,
  type AnnotationProblem,
  type DeadLetterSettings,
} from './dead-letter-settings.js';
export { replayArchive, syncArchivePages, type ArchiveReplayDeps, type ArchiveReplayReport, type ArchiveReplayTarget } from './archive-replay.js';
export { REPLAY_EXTENSION, replayDeadLetters, replayEvent, type ReplayDeps, type ReplayOutcome, type ReplayTarget } from './dead-letter-replay.js';
export { StatusRegistry } from './status-registry.js';
export { DeliveryCounters } from './delivery-counters.js';
export { FAILURE_SUMMARY_INTERVAL_MS, SubscriberHealth, type AttemptFailure, type HealthOptions } from './subscriber-health.js';
export { SluiceRuntime, type ApplyOptions, type ApplyReport, type BrokerInfo, type RuntimeOptions } from './runtime.js';
export { diffResources, type ResourceChange } from './config-diff.js';
// The extension points live in @sluice/plugin; re-exported so existing imports keep working.
export {
  DEFAULT_SERVICE_URL_TEMPLATE,
  DestinationResolver,
  EMBEDDED_BROKER_CLASSES,
  type BrokerClass,
  type ComponentFactory,
  type ResolverOptions,
  type RuntimeComponent,
  type RuntimeContext,
} from '@sluice/plugin';
export { CLIENT_CERT_ANNOTATION, INGRESS_AUTH_ANNOTATION, StaticCredentials, brokerCredentials } from './ingress-auth.js';
export { createTlsServer, rootsPlus, watchTlsFiles, type TlsFiles } from './tls-ingress.js';
export { OidcVerifier, brokerAudience, type OidcOptions, type TokenVerdict } from './oidc-verifier.js';
export { CLIENT_RATE_LIMIT_ANNOTATION, ClientRateLimiter, brokerRateLimiter } from './rate-limit.js';
export { DISCOVERY_PATH, JWKS_PATH, OIDC_KEYS_FILE, OidcIssuer, type OidcIssuerOptions } from './oidc-issuer.js';
export { destinationAudience, destinationAudiences, destinationOidc, ownUriDestinations, triggerOidc } from './oidc-sending.js';
export {
  AUTHORIZATION_MODES,
  DEFAULT_AUTHORIZATION_MODE,
  EventPolicies,
  OIDC_DISABLED_POLICIES_CONDITION,
  POLICY_TARGET_KINDS,
  brokerTarget,
  eventPolicyChecks,
  eventPolicyRefusals,
  selectorMatches,
  subjectAllowed,
  type AuthorizationMode,
  type EventPolicy,
  type GroupKind,
  type PolicyTarget,
} from './event-policy.js';
export { authenticateIngress, authorizeIngress, authorizeRequest, type IngressAuthorizationDeps } from './ingress-authorization.js';
export { OidcTokenFile, oidcTokenDir, oidcTokenFilePath, type TokenMinter } from './oidc-token-file.js';
