export { waitFor } from './wait.js';
export {
  figuresOf,
  waitForIdle,
  type AdminEndpoint,
  type IdleFigures,
  type IdleOptions,
  type IdleSource,
} from './quiescence.js';
export { postEvent, replyHeaders, startSubscriber, type Received, type Reply, type Subscriber } from './subscriber.js';
export {
  ROOT,
  SLUICE_BIN,
  runCli,
  startSluice,
  tempDir,
  type SluiceProcess,
  type StartSluiceOptions,
} from './sluice-process.js';
export { SERVICE_ENV, SERVICE_ERROR_ENV, requireService, type ServiceName } from './services.js';
export { runStoreContract, type StoreEnvironment } from './store-contract.js';
export { PODMAN_TEST_ENV, testEngine } from './container-engine.js';
export { cleanupScope, type CleanupAction, type CleanupScope, type CleanupScopeOptions } from './cleanup.js';
export { startLoad, type Load, type LoadOptions } from './load.js';
export {
  configFiles,
  type CheckedConfig,
  type ConfigFileOptions,
  type ConfigFiles,
  type ConfigFilesOptions,
} from './config-files.js';
export { componentContext } from './component-context.js';
