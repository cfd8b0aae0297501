import { SluiceError } from './errors.js';
import { ISO_DURATION_PATTERN } from './schema-types.js';

// ISO-8601 durations as Knative accepts them (PnYnMnDTnHnMnS, fractional seconds, PnW), with the pattern the schemas
// validate them with: its groups capture each unit's number. Years and months are taken as 365 and 30 days: they only
// ever appear in hand-written retention settings.
const ISO_DURATION = new RegExp(ISO_DURATION_PATTERN);

const UNIT_MS = [365 * 86_400_000, 30 * 86_400_000, 7 * 86_400_000, 86_400_000, 3_600_000, 60_000, 1000];

/** Whether a string is a valid ISO-8601 duration. */
export function isIsoDuration(text: string): boolean {
  return ISO_DURATION.test(text);
}

/** Parses an ISO-8601 duration (e.g. `PT0.2S`, `PT1M30S`, `P1D`) into milliseconds. */
export function parseIsoDuration(text: string): number {
  const m = ISO_DURATION.exec(text);
  if (!m) {
    throw new SluiceError('SLUICE_DURATION_INVALID', `invalid ISO-8601 duration ${JSON.stringify(text)} (examples: PT0.2S, PT10S, PT1M)`);
  }
  let ms = 0;
  for (let i = 0; i < UNIT_MS.length; i++) {
    const part = m[i + 1];
    if (part !== undefined) ms += Number(part) * UNIT_MS[i]!;
  }
  return Math.round(ms);
}
