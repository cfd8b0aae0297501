import { test } from 'node:test';
import assert from 'node:assert/strict';
import { isScheduleProblem, parseSchedule, type Schedule, type ScheduleProblem } from '../src/cron-schedule.js';

const T0 = Date.parse('2026-01-15T10:20:30.000Z'); // a Thursday

function ok(schedule: string | undefined, tz?: string): Schedule {
  const r = parseSchedule(schedule, tz);
  if (isScheduleProblem(r)) assert.fail(`expected ${schedule} to parse: ${r.message}`);
  return r;
}

function bad(schedule: string | undefined, tz?: string): ScheduleProblem {
  const r = parseSchedule(schedule, tz);
  if (!isScheduleProblem(r)) assert.fail(`expected ${schedule} to be rejected`);
  return r;
}

const iso = (ms: number | undefined): string | undefined => (ms === undefined ? undefined : new Date(ms).toISOString());

function runs(s: Schedule, from: number, n: number): string[] {
  const out: string[] = [];
  let t = from;
  for (let i = 0; i < n; i++) {
    t = s.next(t)!;
    out.push(iso(t)!);
  }
  return out;
}

test('five fields: minute precision, seconds are 0', () => {
  assert.deepEqual(runs(ok('*/15 * * * *', 'UTC'), T0, 3), ['2026-01-15T10:30:00.000Z', '2026-01-15T10:45:00.000Z', '2026-01-15T11:00:00.000Z']);
});

test('six fields: the first one is seconds', () => {
  assert.deepEqual(runs(ok('*/1 * * * * *', 'UTC'), T0, 2), ['2026-01-15T10:20:31.000Z', '2026-01-15T10:20:32.000Z']);
  // Knative's own e2e schedule, with robfig's N/step and `?`.
  assert.deepEqual(runs(ok('10 0/1 * * * ?', 'UTC'), T0, 2), ['2026-01-15T10:21:10.000Z', '2026-01-15T10:22:10.000Z']);
});

test('default schedule is every minute, default time zone UTC', () => {
  const s = ok(undefined);
  assert.equal(s.timezone, 'UTC');
  assert.equal(s.expression, '* * * * *');
  assert.equal(iso(s.next(T0)), '2026-01-15T10:21:00.000Z');
});

test('next is strictly after the reference', () => {
  const s = ok('0 * * * * *', 'UTC');
  const t = Date.parse('2026-01-15T10:21:00.000Z');
  assert.equal(iso(s.next(t)), '2026-01-15T10:22:00.000Z');
});

test('descriptors as robfig/cron defines them', () => {
  assert.equal(iso(ok('@hourly', 'UTC').next(T0)), '2026-01-15T11:00:00.000Z');
  assert.equal(iso(ok('@daily', 'UTC').next(T0)), '2026-01-16T00:00:00.000Z');
  assert.equal(iso(ok('@midnight', 'UTC').next(T0)), '2026-01-16T00:00:00.000Z');
  assert.equal(iso(ok('@weekly', 'UTC').next(T0)), '2026-01-18T00:00:00.000Z'); // Sunday
  assert.equal(iso(ok('@monthly', 'UTC').next(T0)), '2026-02-01T00:00:00.000Z');
  assert.equal(iso(ok('@yearly', 'UTC').next(T0)), '2027-01-01T00:00:00.000Z');
  assert.equal(iso(ok('@annually', 'UTC').next(T0)), '2027-01-01T00:00:00.000Z');
});

test('@every is rejected, as Knative does', () => {
  assert.match(bad('@every 1m').message, /@every is not supported/);
  assert.match(bad('@fortnightly').message, /unknown descriptor/);
});

test('names and ranges', () => {
  assert.deepEqual(runs(ok('0 9 * * mon-fri', 'UTC'), T0, 3), ['2026-01-16T09:00:00.000Z', '2026-01-19T09:00:00.000Z', '2026-01-20T09:00:00.000Z']);
  assert.equal(iso(ok('0 0 1 JAN *', 'UTC').next(T0)), '2027-01-01T00:00:00.000Z');
});

test('invalid fields point at the bad field', () => {
  const p = bad('*/5 * * * 9');
  assert.equal(p.field, 'schedule');
  assert.equal(p.offset, 10);
  assert.match(p.message, /day of week value 9 is out of range 0-6/);
  assert.match(bad('61 * * * *').message, /minute value 61 is out of range 0-59/);
  assert.equal(bad('* 24 * * *').offset, 2);
  assert.match(bad('* * * *').message, /5 fields .* or 6/);
  assert.match(bad('* * * * * * *').message, /got 7/);
  assert.match(bad('*/0 * * * *').message, /greater than 0/);
  assert.match(bad('/5 * * * *').message, /missing value before/);
  assert.match(bad('5-1 * * * *').message, /backwards/);
  assert.match(bad('0 0 * * L').message, /not a number or a name/); // Quartz extensions are not robfig's
  assert.match(bad('0 0 * * MON#2').message, /not a number or a name/);
  assert.match(bad('0 0 * JUX *').message, /"JUX" is not a number or a name/);
});

test('time zones: wall-clock times follow DST', () => {
  const s = ok('0 9 * * *', 'America/New_York');
  assert.equal(s.timezone, 'America/New_York');
  assert.equal(iso(s.next(Date.parse('2026-01-15T00:00:00Z'))), '2026-01-15T14:00:00.000Z'); // EST, UTC-5
  assert.equal(iso(s.next(Date.parse('2026-07-15T00:00:00Z'))), '2026-07-15T13:00:00.000Z'); // EDT, UTC-4
  assert.equal(iso(ok('30 8 * * *', 'Asia/Kolkata').next(Date.parse('2026-01-15T00:00:00Z'))), '2026-01-15T03:00:00.000Z');
});

test('unknown time zones are reported on the timezone field', () => {
  const p = bad('* * * * *', 'Mars/Olympus_Mons');
  assert.equal(p.field, 'timezone');
  assert.match(p.message, /unknown time zone "Mars\/Olympus_Mons"/);
});

test('CRON_TZ= and TZ= prefixes, as robfig accepts them', () => {
  const s = ok('CRON_TZ=Europe/Paris 0 12 * * *');
  assert.equal(s.timezone, 'Europe/Paris');
  assert.equal(iso(s.next(Date.parse('2026-01-15T00:00:00Z'))), '2026-01-15T11:00:00.000Z');
  assert.equal(ok('TZ=UTC @hourly').timezone, 'UTC');
  assert.match(bad('CRON_TZ=Nowhere/Else * * * * *').message, /unknown time zone/);
  assert.match(bad('CRON_TZ=UTC * * * * *', 'Europe/Paris').message, /either/);
  assert.equal(bad('TZ=UTC * * * * 9').offset, 7 + 8);
});
