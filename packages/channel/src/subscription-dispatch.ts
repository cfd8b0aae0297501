import { SluiceError, eventTraceContext, oidcSubject, resolveDelivery, traceHeaders, type CloudEvent, type Logger, type Metrics, type ResolvedDelivery, type Tracer } from '@sluice/core';
import { deliverOnce, type EventSender, type OidcTarget } from '@sluice/delivery';
import { DeliveryDispatcher, destinationOidc, type DispatcherDeps, type SubscriptionTarget } from '@sluice/broker';
import type { DestinationResolver } from '@sluice/plugin';
import type { ChannelNode, SubscriptionNode } from './topology.js';

/** What a subscription's dispatcher needs from the runtime. */
export interface SubscriptionDispatchDeps {
  readonly resolver: DestinationResolver;
  readonly sender: EventSender;
  readonly now: () => number;
  readonly logger: Logger;
  readonly metrics?: Metrics | undefined;
  readonly tracer?: Tracer | undefined;
  /** Attempt and drop callbacks (live figures, metrics), passed to the dispatcher. */
  readonly onAttempt?: DispatcherDeps['onAttempt'];
  readonly onDropped?: DispatcherDeps['onDropped'];
}

/** A subscription with its destinations resolved to URLs and its delivery resolved against its channel's. */
export interface ResolvedSubscription {
  readonly target: SubscriptionTarget;
  /** Where replies go; undefined = replies are dropped. */
  readonly replyUrl: string | undefined;
  /** The reply destination's audience and the Subscription's identity, when it has an audience. */
  readonly replyOidc?: OidcTarget | undefined;
}

/**
 * Resolves a subscription by Knative's rules (the delivery-spec precedence of its Subscription): the subscription's delivery options replace the
 * channel's as a whole when it sets any; the dead-letter sink is the subscription's, else the channel's. A
 * subscription without subscriber forwards every event to its reply destination, as Knative's dispatcher does.
 */
export function resolveSubscription(sub: SubscriptionNode, channel: ChannelNode, resolver: DestinationResolver): ResolvedSubscription {
  const delivery: ResolvedDelivery = resolveDelivery(sub.delivery, channel.delivery);
  const replyUrl = sub.reply ? resolver.resolve(sub.reply, sub.namespace) : undefined;
  const subscriberUrl = sub.subscriber ? resolver.resolve(sub.subscriber, sub.namespace) : replyUrl!;
  const deadLetterUrl = delivery.deadLetterSink ? resolver.resolve(delivery.deadLetterSink, sub.delivery?.deadLetterSink ? sub.namespace : channel.namespace) : undefined;
  // The Subscription's OIDC identity (Knative's `…-oidc-messaging.knative.dev-subscription`) towards each destination.
  const subject = oidcSubject('messaging.knative.dev', 'Subscription', sub.namespace, sub.name);
  const subscriberOidc = destinationOidc(sub.subscriber ?? sub.reply, subject, sub.namespace);
  const deadLetterOidc = destinationOidc(delivery.deadLetterSink, subject, sub.delivery?.deadLetterSink ? sub.namespace : channel.namespace);
  return {
    target: {
      key: sub.key,
      namespace: sub.namespace,
      subscriberUrl,
      deadLetterUrl,
      delivery,
      filter: () => true,
      labels: { broker: channel.name, kind: 'Subscription' },
      ...(subscriberOidc ? { subscriberOidc } : {}),
      ...(deadLetterOidc ? { deadLetterOidc } : {}),
    },
    replyUrl: sub.subscriber ? replyUrl : undefined,
    replyOidc: sub.subscriber ? destinationOidc(sub.reply, subject, sub.namespace) : undefined,
  };
}

/**
 * The broker's dispatcher (attempts, durable retries, dead-letter sink, failing-sink retries) with a Subscription's
 * reply rule: the reply is sent once to `spec.reply` with the subscription's delivery settings, and dropped when
 * there is none. A reply that is not accepted fails the original delivery (retried, then dead-lettered with
 * `knativeerrordest` = the reply URL), as Knative's channel dispatcher does.
 */
export function subscriptionDispatcher(resolved: ResolvedSubscription, deps: SubscriptionDispatchDeps): DeliveryDispatcher {
  const { target, replyUrl, replyOidc } = resolved;
  const handleReply = async (reply: CloudEvent): Promise<void> => {
    if (replyUrl === undefined) {
      deps.logger.debug({ subscription: target.key, ceId: reply.attributes['id'] }, 'reply dropped: the subscription has no reply destination');
      return;
    }
    const trace = eventTraceContext(reply.attributes);
    const headers = { 'kn-namespace': target.namespace, ...(trace ? traceHeaders(trace) : {}) };
    const outcome = await deliverOnce(deps.sender, { url: replyUrl, expectReply: false, headers, oidc: replyOidc }, reply, target.delivery.policy, deps.now());
    if (outcome.kind === 'success') return;
    const body = outcome.body && outcome.body.length > 0 ? `: ${outcome.body.subarray(0, 1024).toString()}` : '';
    throw new SluiceError('SLUICE_REPLY_FAILED', `reply to ${replyUrl} failed (${outcome.reason})${body}`, {
      retryable: true,
      details: { destination: replyUrl, ...(outcome.status === undefined ? {} : { status: outcome.status }) },
    });
  };
  return new DeliveryDispatcher(target, {
    sender: deps.sender,
    handleReply,
    now: deps.now,
    logger: deps.logger,
    ...(deps.metrics ? { metrics: deps.metrics } : {}),
    ...(deps.tracer ? { tracer: deps.tracer } : {}),
    ...(deps.onAttempt ? { onAttempt: deps.onAttempt } : {}),
    ...(deps.onDropped ? { onDropped: deps.onDropped } : {}),
  });
}
