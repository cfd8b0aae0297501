export { AdminServer, DEFAULT_ADMIN_HOST, DEFAULT_ADMIN_PORT, type AdminServerOptions } from './admin-server.js';
export {
  AdminAuth,
  GENERATED_TOKEN_FILE,
  LOOPBACK_HOSTS,
  MIN_ADMIN_TOKEN_LENGTH,
  ensureGeneratedToken,
  identityOf,
  isLoopback,
  readTokenFile,
  requireRole,
  type AdminAuthOptions,
  type AdminIdentity,
  type AdminRole,
  type AdminToken,
} from './admin-auth.js';
export type { CircuitView, ControlPlane, ResourceView } from './control-plane.js';
export type { DeliveryFigures } from '@sluice/core';
export { groupOfApiVersion, pluralOf, resolveGroup, resolveKind } from './kind-names.js';
export { adminError } from './errors.js';
export { deadLetterRoutes, type DeadLetterAdmin, type DeadLetterSelection, type DeadLetterView, type ReplayReport } from './dead-letters-api.js';
export { archiveRoutes, type ArchiveAdmin, type ArchiveReplayResult } from './archive-api.js';
export { tailRoutes, type RetainedEvent, type TailAdmin, type TailTarget, type TailedEvent } from './tail-api.js';
export { configRoutes, type ChangeOptions, type ChangeResult, type ChangedResource, type ConfigChanger, type ResourceId } from './config-api.js';
