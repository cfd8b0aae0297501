import { EXTENSION_NAME_PATTERN, SluiceError, type CloudEvent, type CloudEventOverrides } from '@sluice/core';

/** `duck/v1 CloudEventOverrides` (generated from `schemas/common.json`), for this package's users. */
export type { CloudEventOverrides };

/** Knative's rule for override keys (`validateExtensionName`): non-empty letters and digits. */
export const OVERRIDE_KEY = new RegExp(EXTENSION_NAME_PATTERN);

/** Spec-defined attributes, which overrides may not set (they only set extensions). */
export const RESERVED_ATTRIBUTES: ReadonlySet<string> = new Set(['id', 'source', 'specversion', 'type', 'datacontenttype', 'dataschema', 'subject', 'time', 'data', 'data_base64']);

/** Returns a problem with one override key, or undefined when it is valid. */
export function checkOverrideKey(key: string): string | undefined {
  if (!OVERRIDE_KEY.test(key)) return `invalid extension name "${key}": letters and digits only`;
  if (RESERVED_ATTRIBUTES.has(key.toLowerCase())) return `"${key}" is a CloudEvents core attribute; ceOverrides may only set extensions`;
  return undefined;
}

/** Returns the event with the overrides' extensions set (names lower-cased, as the CloudEvents SDKs do). */
export function applyCeOverrides(event: CloudEvent, overrides: CloudEventOverrides | undefined): CloudEvent {
  const ext = overrides?.extensions;
  if (!ext) return event;
  const attributes = { ...event.attributes };
  for (const [k, v] of Object.entries(ext)) attributes[k.toLowerCase()] = v;
  return { attributes, data: event.data };
}

/** Encodes overrides as the `K_CE_OVERRIDES` value: `{"extensions":{…}}`. */
export function encodeCeOverrides(overrides: CloudEventOverrides): string {
  return JSON.stringify({ extensions: overrides.extensions ?? {} });
}

/** Parses `key=value` pairs (as `kn --ce-override` takes them) into overrides; throws `SLUICE_SOURCE_OVERRIDE_INVALID`. */
export function parseCeOverrideArgs(pairs: readonly string[]): CloudEventOverrides | undefined {
  if (pairs.length === 0) return undefined;
  const extensions: Record<string, string> = {};
  for (const pair of pairs) {
    const i = pair.indexOf('=');
    if (i <= 0) throw new SluiceError('SLUICE_SOURCE_OVERRIDE_INVALID', `--ce-override must be key=value, got "${pair}"`);
    const key = pair.slice(0, i);
    const err = checkOverrideKey(key);
    if (err) throw new SluiceError('SLUICE_SOURCE_OVERRIDE_INVALID', `--ce-override: ${err}`);
    extensions[key] = pair.slice(i + 1);
  }
  return { extensions };
}
