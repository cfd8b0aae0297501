// Kept so end-to-end tests import their helpers from beside them; the code is in the shared test-support package.
export { SERVICE_ENV, SERVICE_ERROR_ENV, requireService, type ServiceName } from '@sluice/testing';
