import { eventToJson, type CloudEvent } from '@sluice/core';

/** A Kafka record as kafkajs produces it. */
export interface SinkRecord {
  readonly key: string | null;
  readonly value: Buffer | null;
  readonly headers: Record<string, string>;
}

/**
 * Maps an event to a record by the CloudEvents Kafka protocol binding, as Knative's KafkaSink does: the key is the
 * `partitionkey` extension (none without it); binary mode puts every attribute in a `ce_<name>` header, the content
 * type in `content-type` and the data as the value; structured mode puts the JSON format in the value with
 * `content-type: application/cloudevents+json`.
 */
export function eventToRecord(event: CloudEvent, mode: 'binary' | 'structured'): SinkRecord {
  const pk = event.attributes['partitionkey'];
  const key = pk === undefined ? null : String(pk);
  if (mode === 'structured') {
    return { key, value: Buffer.from(JSON.stringify(eventToJson(event)), 'utf8'), headers: { 'content-type': 'application/cloudevents+json; charset=UTF-8' } };
  }
  const headers: Record<string, string> = {};
  for (const [name, value] of Object.entries(event.attributes)) {
    if (name === 'datacontenttype') headers['content-type'] = String(value);
    else headers[`ce_${name}`] = String(value);
  }
  return { key, value: event.data ?? null, headers };
}
