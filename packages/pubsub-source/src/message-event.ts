import type { AttributeValue, CloudEvent } from '@sluice/core';
import { PUBSUB_DATA_SCHEMA, PUBSUB_EVENT_TYPE, pubsubEventSource } from './pubsub-source-types.js';

/** The parts of a received Pub/Sub message the mapping reads (`@google-cloud/pubsub`'s `Message` has them). */
export interface PubSubMessageLike {
  readonly id: string;
  readonly data: Buffer;
  readonly attributes: Readonly<Record<string, string>>;
  /** Publish time with nanoseconds (`PreciseDate`), or a plain Date. */
  readonly publishTime: { getFullTime(): bigint } | Date;
}

/** Where the messages come from. */
export interface MessageContext {
  readonly project: string;
  readonly topic: string;
  /** Subscription ID (not the full name), as knative-gcp puts it in the envelope. */
  readonly subscription: string;
}

/** An RFC 3339 timestamp with nanoseconds and no trailing zeros, as Go's `time.RFC3339Nano` (knative-gcp) prints it. */
export function formatRfc3339Nano(time: { getFullTime(): bigint } | Date): string {
  // PreciseDate is a Date too: ask for its nanoseconds first.
  const ns = 'getFullTime' in time ? time.getFullTime() : BigInt(time.getTime()) * 1_000_000n;
  const ms = ns / 1_000_000n - (ns % 1_000_000n < 0n ? 1n : 0n);
  const frac = ((ns % 1_000_000_000n) + 1_000_000_000n) % 1_000_000_000n;
  const base = new Date(Number(ms)).toISOString().slice(0, 19);
  const digits = frac.toString().padStart(9, '0').replace(/0+$/, '');
  return `${base}${digits === '' ? '' : `.${digits}`}Z`;
}

/**
 * The data of a messagePublished event: Pub/Sub's push envelope, with knative-gcp's field order and omissions
 * (`attributes` left out when empty; `data` is null for an empty payload, as Go marshals a nil byte slice).
 */
export function pushEnvelope(message: PubSubMessageLike, subscription: string, publishTime: string = formatRfc3339Nano(message.publishTime)): Buffer {
  const inner: Record<string, unknown> = { messageId: message.id, data: message.data.length > 0 ? message.data.toString('base64') : null };
  if (Object.keys(message.attributes).length > 0) inner['attributes'] = { ...message.attributes };
  inner['publishTime'] = publishTime;
  return Buffer.from(JSON.stringify({ subscription, message: inner }), 'utf8');
}

/** The event a CloudPubSubSource sends for a message, exactly as knative-gcp's `convertCloudPubSub` builds it. */
export function messageToEvent(message: PubSubMessageLike, context: MessageContext): CloudEvent {
  const time = formatRfc3339Nano(message.publishTime);
  const attributes: Record<string, AttributeValue> = {
    specversion: '1.0',
    id: message.id,
    source: pubsubEventSource(context.project, context.topic),
    type: PUBSUB_EVENT_TYPE,
    dataschema: PUBSUB_DATA_SCHEMA,
    datacontenttype: 'application/json',
    time,
  };
  return { attributes, data: pushEnvelope(message, context.subscription, time) };
}
