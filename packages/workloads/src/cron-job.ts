import { Cron } from 'croner';

/** A CronJob's parsed schedule: the next run after a time, or undefined when there is none. */
export interface CronJobSchedule {
  next(afterMs: number): number | undefined;
}

/** Kubernetes' schedule descriptors, as the five fields they stand for. */
const DESCRIPTORS: Readonly<Record<string, string>> = {
  '@yearly': '0 0 1 1 *',
  '@annually': '0 0 1 1 *',
  '@monthly': '0 0 1 * *',
  '@weekly': '0 0 * * 0',
  '@daily': '0 0 * * *',
  '@midnight': '0 0 * * *',
  '@hourly': '0 * * * *',
};

/**
 * Parses a CronJob's `schedule` as Kubernetes does (five fields, or a descriptor such as `@hourly`; day of month and
 * day of week combine with OR) in `timeZone` (UTC when absent). `TZ=`/`CRON_TZ=` in the schedule is refused, as by
 * Kubernetes, which takes the zone from `spec.timeZone`. Returns the schedule or the problem as a message.
 */
export function parseCronJobSchedule(schedule: string, timeZone: string | undefined): CronJobSchedule | { readonly problem: string; readonly field: 'schedule' | 'timeZone' } {
  const text = schedule.trim();
  if (/^(CRON_)?TZ=/.test(text)) return { problem: 'a time zone in the schedule is not supported (Kubernetes refuses it): set spec.timeZone', field: 'schedule' };
  if (timeZone !== undefined) {
    try {
      new Intl.DateTimeFormat('en-US', { timeZone });
    } catch {
      return { problem: `unknown time zone "${timeZone}" (use an IANA name such as Europe/Paris or UTC)`, field: 'timeZone' };
    }
  }
  const pattern = text.startsWith('@') ? DESCRIPTORS[text] : text;
  if (pattern === undefined) return { problem: `unknown schedule descriptor "${text}" (use ${Object.keys(DESCRIPTORS).join(', ')} or five cron fields)`, field: 'schedule' };
  if (pattern.split(/\s+/).length !== 5) return { problem: `a CronJob schedule has five fields (minute hour day-of-month month day-of-week), got "${text}"`, field: 'schedule' };
  let cron: Cron;
  try {
    cron = new Cron(pattern, { mode: '5-part', domAndDow: false, sloppyRanges: true, timezone: timeZone ?? 'UTC' });
  } catch (err) {
    return { problem: `invalid schedule: ${String((err as Error).message).replace(/^CronPattern:\s*/, '')}`, field: 'schedule' };
  }
  return { next: (afterMs) => cron.nextRun(new Date(afterMs))?.getTime() };
}
