export { UndiciSender, parseReply, type AttemptResponse, type EventSender, type OidcTarget, type ReplyParse, type TokenSource, type SendOptions, type UndiciSenderOptions } from './http-sender.js';
export { ERROR_DATA_MAX_BYTES, deadLetterEvent, deliverOnce, deliverWithRetries, type AttemptOutcome, type DeliveryTarget } from './deliver.js';
export { BREAKER_SHUT, CircuitBreaker, attemptVerdict, type AttemptVerdict, type BreakerTimers, type CircuitSnapshot, type CircuitState, type Permit } from './circuit-breaker.js';
export { DEFAULT_EGRESS_DENY, EgressGuard, type EgressRules } from './egress-guard.js';
/** Re-exported from @sluice/core, where the one redaction helper lives (callers that import it from here keep working). */
export { redactUrl } from '@sluice/core';
