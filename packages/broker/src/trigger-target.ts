import { BROKER_DEFAULT_DELIVERY, DEFAULT_NAMESPACE, circuitBreakerSettings, compileTriggerFilter, resolveDelivery, type Broker, type CesqlCompiler, type Trigger } from '@sluice/core';
import type { EgressGuard } from '@sluice/delivery';
import type { DestinationResolver } from '@sluice/plugin';
import { fingerprint } from './config-diff.js';
import type { DeadLetterStoreMode, SubscriptionTarget } from './delivery-dispatcher.js';
import { triggerOidc } from './oidc-sending.js';

/** What resolving a Trigger's target needs besides the Trigger, its broker and the resolver. */
export interface TriggerTargetOptions {
  readonly cesql?: CesqlCompiler;
  /** The broker's dead-letter store mode (its `sluice.dev/dead-letter-store` annotation). */
  readonly deadLetterStore: DeadLetterStoreMode;
  /** The egress rules of the default sender; undefined when turned off. */
  readonly egress: EgressGuard | undefined;
}

/** The broker (`namespace/name`) a Trigger belongs to. */
export function triggerBroker(t: Trigger): string {
  return `${t.spec.brokerRef?.namespace ?? t.metadata.namespace ?? DEFAULT_NAMESPACE}/${t.spec.broker ?? t.spec.brokerRef!.name}`;
}

/** Where and how a Trigger delivers; throws when a destination cannot be resolved or is denied by the egress rules. */
export function triggerTarget(broker: Broker, trigger: Trigger, resolver: DestinationResolver, options: TriggerTargetOptions): SubscriptionTarget {
  const ns = trigger.metadata.namespace ?? DEFAULT_NAMESPACE;
  const brokerDelivery = broker.spec?.delivery ?? BROKER_DEFAULT_DELIVERY;
  const delivery = resolveDelivery(trigger.spec.delivery, brokerDelivery);
  // A dead-letter sink inherited from the broker resolves in the broker's namespace.
  const deadLetterNs = trigger.spec.delivery?.deadLetterSink ? ns : (broker.metadata.namespace ?? DEFAULT_NAMESPACE);
  const target: SubscriptionTarget = {
    key: `${ns}/${trigger.metadata.name}`,
    namespace: ns,
    subscriberUrl: resolver.resolve(trigger.spec.subscriber, ns),
    deadLetterUrl: delivery.deadLetterSink ? resolver.resolve(delivery.deadLetterSink, deadLetterNs) : undefined,
    delivery,
    filter: compileTriggerFilter(trigger.spec, options.cesql ? { cesql: options.cesql } : {}),
    labels: { broker: broker.metadata.name, kind: 'Trigger' },
    circuitBreaker: circuitBreakerSettings(trigger.metadata.annotations, broker.metadata.annotations),
    deadLetterStore: options.deadLetterStore,
    ...triggerOidc(trigger, delivery.deadLetterSink, deadLetterNs),
  };
  for (const url of [target.subscriberUrl, target.deadLetterUrl]) {
    if (url !== undefined) options.egress?.checkUrl(url); // a denied destination is a configuration error: say so at start
  }
  return target;
}

/** What a running Trigger was started from: a change to any of it restarts the Trigger (drained, same group). */
export function triggerFingerprint(trigger: Trigger, broker: Broker, target: SubscriptionTarget): string {
  return fingerprint([
    trigger.spec,
    trigger.metadata.annotations ?? {},
    broker.spec ?? {},
    broker.metadata.annotations ?? {},
    target.subscriberUrl,
    target.deadLetterUrl ?? '',
    target.deadLetterStore,
  ]);
}
