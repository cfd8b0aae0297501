export { createSourceComponents, sourceComponents, type SourceDeps } from './components.js';
export { SOURCE_KINDS, sourceChecks, type SourceCheckOptions } from './checks.js';
export { DEFAULT_SCHEDULE, DEFAULT_TIMEZONE, isScheduleProblem, isValidTimezone, mustParseSchedule, parseSchedule, type Schedule, type ScheduleProblem } from './cron-schedule.js';
export { CronScheduler, type CronSchedulerOptions } from './cron-scheduler.js';
export { OVERRIDE_KEY, RESERVED_ATTRIBUTES, applyCeOverrides, checkOverrideKey, encodeCeOverrides, parseCeOverrideArgs, type CloudEventOverrides } from './ce-overrides.js';
export { SOURCE_DELIVERY, SinkDelivery, sourceMetrics, sourceOidc, type DeadLetterTarget, type DeliverOptions, type SinkDeliveryOptions, type SinkFailure, type SinkOutcome } from './sink-delivery.js';
export { PING_EVENT_TYPE, PingSourceComponent, checkPingSpec, makePingEvent, pingEventSource, pingPayload, type PingSource, type PingSourceDeps, type PingSourceSpec } from './ping-source.js';
export {
  RUNTIME_ANNOTATION,
  SINK_TIMEOUT_ANNOTATION,
  ContainerSourceComponent,
  checkContainerSource,
  containerEnvironment,
  containerName,
  containerRuntimeOf,
  expandVariables,
  missingSink,
  sinkTimeoutOf,
  type ContainerRuntime,
  type ContainerSource,
  type ContainerSourceDeps,
  type ContainerSpec,
} from './container-source.js';
export {
  INJECTED_VARIABLES,
  PROCESS_SUBJECT,
  SinkBindingComponent,
  bindingVariables,
  checkSinkBinding,
  findSinkBinding,
  sinkBindingInjector,
  sinkBindings,
  WORKLOAD_SUBJECTS,
  type BindingInput,
  type BindingVariables,
  type SinkBinding,
} from './sink-binding.js';
export { resolveBinding, resolveSinkArgument, runBoundCommand, type BindCommandOptions, type ResolvedBinding } from './bind-command.js';
export {
  DEFAULT_SIGNATURE_TOLERANCE,
  githubSignature,
  standardWebhooksKey,
  standardWebhooksSignature,
  verifyGithubSignature,
  verifyStandardWebhooks,
  type SignatureCheck,
  type SignatureType,
  type StandardWebhooksHeaders,
} from './signature.js';
export { defaultSecretSources, resolveValue, type ResolvedValue, type SecretSources, type ValueFromField } from './secret-value.js';
export {
  DEFAULT_WEBHOOK_MAX_BODY_BYTES,
  DELIVERY_ID_HEADERS,
  MAX_BODY_ANNOTATION,
  WEBHOOK_DELIVERY,
  WEBHOOK_ROUTE,
  WebhookRouter,
  WebhookSourceComponent,
  checkWebhookSource,
  deliveryIdOf,
  makeWebhookEvent,
  maxBodyBytesOf,
  sanitizeExtensionName,
  webhookEventSource,
  webhookPath,
  type ExtensionAttributesFrom,
  type WebhookRequest,
  type WebhookRouteHandler,
  type WebhookSource,
  type WebhookSourceDeps,
  type WebhookSourceSpec,
} from './webhook-source.js';
export { formatProblem, type SpecProblem } from './spec-problem.js';
export { sourcesPlugin } from './plugin.js';
export {
  FORGE_ROUTES,
  ForgeSourceComponent,
  GITHUB_TYPE_PREFIX,
  GITLAB_TYPE_PREFIX,
  checkForgeSource,
  type ForgeSecretValue,
  type ForgeSource,
  type ForgeSourceDeps,
  type GitHubSourceSpec,
  type GitLabSourceSpec,
} from './forge-source.js';
export { GITHUB_EVENT_TYPES, GITLAB_EVENTS, githubSubjectAndExtensions, gitlabEventSource } from './forge-events.js';
// The process and container runner moved to @sluice/workloads; re-exported for existing users.
export {
  CONTAINER_ENGINES,
  DEFAULT_RESTART_BACKOFF,
  DEFAULT_STOP_GRACE_MS,
  ProcessSupervisor,
  RestartBackoff,
  engineProcessSpec,
  findContainerEngine,
  type BackoffOptions,
  type EngineRun,
  type ProcessSpec,
  type SpawnFn,
  type SupervisorOptions,
} from '@sluice/workloads';
