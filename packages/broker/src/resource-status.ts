import { DEFAULT_NAMESPACE, falseCondition, trueCondition, type Broker, type Condition, type Destination } from '@sluice/core';
import type { DestinationResolver } from '@sluice/plugin';
import { brokerTarget, type EventPolicies } from './event-policy.js';
import type { SubscriptionTarget } from './delivery-dispatcher.js';

/** A resource's conditions and its other status fields, as the runtime reports them. */
export interface StatusReport {
  readonly conditions: Condition[];
  readonly fields: Record<string, unknown>;
}

/** Knative marks DeadLetterSinkResolved True with reason DeadLetterSinkNotConfigured when there is none. */
export function deadLetterCondition(url: string | undefined): Condition {
  return url === undefined
    ? { type: 'DeadLetterSinkResolved', status: 'True', reason: 'DeadLetterSinkNotConfigured', message: 'No dead letter sink is configured.' }
    : trueCondition('DeadLetterSinkResolved');
}

/** A serving broker's status as Knative's MT broker names it: ingress, filter (the triggers), address, dead-letter sink, policies. */
export function brokerStatus(broker: Broker, url: string, resolver: DestinationResolver, policies: EventPolicies | undefined): StatusReport {
  const ns = broker.metadata.namespace ?? DEFAULT_NAMESPACE;
  const conditions: Condition[] = [trueCondition('IngressReady'), trueCondition('FilterReady'), trueCondition('Addressable')];
  const fields: Record<string, unknown> = { address: { url } };
  const dls: Destination | undefined = broker.spec?.delivery?.deadLetterSink;
  if (dls) {
    try {
      fields['deadLetterSinkUri'] = resolver.resolve(dls, ns);
      conditions.push(trueCondition('DeadLetterSinkResolved'));
    } catch (err) {
      conditions.push(falseCondition('DeadLetterSinkResolved', 'Unresolvable', (err as Error).message));
    }
  } else {
    conditions.push(deadLetterCondition(undefined));
  }
  if (policies !== undefined) {
    const p = policies.targetStatus(brokerTarget(ns, broker.metadata.name, broker.metadata.labels ?? {}));
    conditions.push(p.condition);
    if (p.policies.length > 0) fields['policies'] = p.policies;
  }
  return { conditions, fields };
}

/** A running Trigger's status: every condition True, with its resolved subscriber and dead-letter sink. */
export function triggerReadyStatus(target: SubscriptionTarget): StatusReport {
  return {
    conditions: [trueCondition('BrokerReady'), trueCondition('DependencyReady'), trueCondition('SubscriberResolved'), trueCondition('SubscriptionReady'), deadLetterCondition(target.deadLetterUrl)],
    fields: { subscriberUri: target.subscriberUrl, ...(target.deadLetterUrl ? { deadLetterSinkUri: target.deadLetterUrl } : {}) },
  };
}
