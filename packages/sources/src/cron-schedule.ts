import { Cron } from 'croner';
import { SluiceError } from '@sluice/core';

/** Knative's default PingSource schedule. */
export const DEFAULT_SCHEDULE = '* * * * *';

/**
 * Time zone of a schedule without `timezone`: UTC, not the host's local time, so a manifest fires at the same instants
 * as in a Knative cluster.
 */
export const DEFAULT_TIMEZONE = 'UTC';

/** A parsed schedule: computes fire times in its time zone. */
export interface Schedule {
  /** The schedule as written (descriptor, or cron fields). */
  readonly expression: string;
  /** IANA time zone; `UTC` when none is given, as in a Knative cluster (its adapter runs in UTC). */
  readonly timezone: string;
  /** The first fire time strictly after `afterMs`, or undefined when there is none. */
  next(afterMs: number): number | undefined;
}

/** Why a schedule or time zone is invalid; `offset` is the 0-based character position of the bad part. */
export interface ScheduleProblem {
  readonly field: 'schedule' | 'timezone';
  readonly message: string;
  readonly offset?: number;
}

// robfig/cron descriptors, which Knative's parser enables (cron.Descriptor). All map to six-field patterns.
const DESCRIPTORS: Readonly<Record<string, string>> = {
  '@yearly': '0 0 0 1 1 *',
  '@annually': '0 0 0 1 1 *',
  '@monthly': '0 0 0 1 * *',
  '@weekly': '0 0 0 * * 0',
  '@daily': '0 0 0 * * *',
  '@midnight': '0 0 0 * * *',
  '@hourly': '0 0 * * * *',
};

interface FieldSpec {
  readonly name: string;
  readonly min: number;
  readonly max: number;
  readonly names?: readonly string[];
}

const MONTHS = ['jan', 'feb', 'mar', 'apr', 'may', 'jun', 'jul', 'aug', 'sep', 'oct', 'nov', 'dec'];
const DAYS = ['sun', 'mon', 'tue', 'wed', 'thu', 'fri', 'sat'];
const FIELDS: readonly FieldSpec[] = [
  { name: 'second', min: 0, max: 59 },
  { name: 'minute', min: 0, max: 59 },
  { name: 'hour', min: 0, max: 23 },
  { name: 'day of month', min: 1, max: 31 },
  { name: 'month', min: 1, max: 12, names: MONTHS },
  { name: 'day of week', min: 0, max: 6, names: DAYS },
];

/** Whether a string names a time zone this Node.js knows (IANA names, plus `UTC`). */
export function isValidTimezone(tz: string): boolean {
  try {
    new Intl.DateTimeFormat('en-US', { timeZone: tz });
    return true;
  } catch {
    return false;
  }
}

function problem(message: string, offset?: number): ScheduleProblem {
  return offset === undefined ? { field: 'schedule', message } : { field: 'schedule', message, offset };
}

// Checks one cron field the way robfig/cron's parser does (the parser Knative uses): items separated by ',', each
// `*`, `?`, a value or `a-b`, optionally `/step`; names only for month and day of week. Returns an error or undefined.
function checkField(text: string, spec: FieldSpec): string | undefined {
  for (const item of text.split(',')) {
    const [range, step, extra] = item.split('/');
    if (extra !== undefined) return `${spec.name} "${item}": more than one "/"`;
    if (step !== undefined && !/^\d+$/.test(step)) return `${spec.name} "${item}": the step must be a positive number`;
    if (step !== undefined && Number(step) === 0) return `${spec.name} "${item}": the step must be greater than 0`;
    if (range === undefined || range === '') return `${spec.name} "${item}": missing value before "/"`;
    if (range === '*' || range === '?') continue;
    const bounds = range.split('-');
    if (bounds.length > 2) return `${spec.name} "${item}": invalid range`;
    const values: number[] = [];
    for (const b of bounds) {
      let v: number;
      if (/^\d+$/.test(b)) v = Number(b);
      else if (spec.names && spec.names.includes(b.toLowerCase())) v = spec.names.indexOf(b.toLowerCase()) + spec.min;
      else return `${spec.name}: "${b}" is not a number${spec.names ? ' or a name' : ''}`;
      if (v < spec.min || v > spec.max) return `${spec.name} value ${b} is out of range ${spec.min}-${spec.max}`;
      values.push(v);
    }
    if (values.length === 2 && values[0]! > values[1]!) return `${spec.name} range "${range}" is backwards`;
  }
  return undefined;
}

/**
 * Parses a PingSource schedule as Knative does (robfig/cron with an optional seconds field, descriptors such as
 * `@hourly`, `CRON_TZ=`/`TZ=` prefixes; `@every` rejected) and evaluates it with croner. Returns the schedule or the
 * first problem found.
 */
export function parseSchedule(schedule: string | undefined, timezone?: string): Schedule | ScheduleProblem {
  let text = schedule ?? DEFAULT_SCHEDULE;
  let tz = timezone;
  let base = 0; // offset of `text` inside the original string, for error columns
  const prefix = /^(CRON_TZ|TZ)=(\S+)\s+/.exec(text);
  if (prefix) {
    if (timezone !== undefined) return problem(`set the time zone either with ${prefix[1]}= in the schedule or with spec.timezone, not both`, 0);
    tz = prefix[2]!;
    if (!isValidTimezone(tz)) return problem(`unknown time zone "${tz}" (use an IANA name such as Europe/Paris)`, prefix[1]!.length + 1);
    base = prefix[0].length;
    text = text.slice(base);
  }
  if (tz !== undefined && !prefix && !isValidTimezone(tz)) {
    return { field: 'timezone', message: `unknown time zone "${tz}" (use an IANA name such as Europe/Paris or UTC)` };
  }
  const trimmed = text.trim();
  let pattern: string;
  if (trimmed.startsWith('@')) {
    if (trimmed.startsWith('@every')) {
      return problem('@every is not supported (Knative rejects it too); use a cron expression such as "*/5 * * * *"', base);
    }
    const p = DESCRIPTORS[trimmed.toLowerCase()];
    if (p === undefined) return problem(`unknown descriptor "${trimmed}" (supported: ${Object.keys(DESCRIPTORS).join(', ')})`, base);
    pattern = p;
  } else {
    // Fields with their offsets, so an error can point at the bad one.
    const fields: { text: string; offset: number }[] = [];
    for (const m of text.matchAll(/\S+/g)) fields.push({ text: m[0], offset: base + m.index });
    if (fields.length !== 5 && fields.length !== 6) {
      return problem(`a schedule has 5 fields (minute hour day-of-month month day-of-week) or 6 with seconds first, got ${fields.length}`, base);
    }
    const specs = fields.length === 6 ? FIELDS : FIELDS.slice(1);
    for (let i = 0; i < fields.length; i++) {
      const err = checkField(fields[i]!.text, specs[i]!);
      if (err) return problem(err, fields[i]!.offset);
    }
    // robfig reads `?` as `*`; croner gives `?` a different meaning, so it never sees one.
    const normalized = fields.map((f) => (f.text === '?' ? '*' : f.text.replaceAll('?', '*')));
    pattern = (fields.length === 5 ? ['0', ...normalized] : normalized).join(' ');
  }
  let cron: Cron;
  try {
    // sloppyRanges: robfig accepts `N/step` (from N to the maximum), which Knative's own tests use (`10 0/1 * * * ?`).
    cron = new Cron(pattern, { mode: '6-part', sloppyRanges: true, timezone: tz ?? DEFAULT_TIMEZONE });
  } catch (err) {
    return problem(String((err as Error).message).replace(/^CronPattern:\s*/, ''), base);
  }
  return {
    expression: schedule ?? DEFAULT_SCHEDULE,
    timezone: tz ?? DEFAULT_TIMEZONE,
    next(afterMs: number): number | undefined {
      return cron.nextRun(new Date(afterMs))?.getTime();
    },
  };
}

/** Whether a {@link parseSchedule} result is a problem. */
export function isScheduleProblem(r: Schedule | ScheduleProblem): r is ScheduleProblem {
  return 'message' in r;
}

/** Like {@link parseSchedule} but throws `SLUICE_SOURCE_SCHEDULE_INVALID`. */
export function mustParseSchedule(schedule: string | undefined, timezone?: string): Schedule {
  const r = parseSchedule(schedule, timezone);
  if (isScheduleProblem(r)) throw new SluiceError('SLUICE_SOURCE_SCHEDULE_INVALID', `invalid ${r.field}: ${r.message}`);
  return r;
}
