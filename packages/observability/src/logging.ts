import { pino, type DestinationStream, type Logger as PinoLogger } from 'pino';

/** How log lines are written: one JSON object per line, or a line for people. */
export type LogFormat = 'json' | 'pretty';

/** The log levels `--log-level` accepts. */
export const LOG_LEVELS = ['debug', 'info', 'warn', 'error'] as const;

/** Options of {@link createLogger}. */
export interface LoggerOptions {
  readonly level: string;
  readonly format: LogFormat;
  /** Where lines go (default stdout). */
  readonly destination?: { write(line: string): unknown };
  /** Colours in pretty lines (default: the destination is stdout, a TTY, and NO_COLOR is not set). */
  readonly color?: boolean;
  /** pino hooks, e.g. one that redacts credentials from every line. */
  readonly hooks?: pino.LoggerOptions['hooks'];
}

/** `pretty` when stdout is a terminal, else `json` (what log collectors read). */
export function defaultLogFormat(stdout: { isTTY?: boolean } = process.stdout): LogFormat {
  return stdout.isTTY ? 'pretty' : 'json';
}

/**
 * The process logger: pino writing JSON lines with the level as a name (`"level":"info"`) and an ISO-8601 `time`, or
 * human-readable lines (`pretty`) made from the same records.
 */
export function createLogger(options: LoggerOptions): PinoLogger {
  const out = options.destination ?? process.stdout;
  const color = options.color ?? (out === process.stdout && process.stdout.isTTY === true && process.env['NO_COLOR'] === undefined);
  const destination: DestinationStream =
    options.format === 'pretty'
      ? { write: (line: string) => void out.write(prettyLine(line, color)) }
      : out === process.stdout
        ? pino.destination({ fd: 1, sync: true })
        : { write: (line: string) => void out.write(line) };
  return pino(
    {
      level: options.level,
      base: { service: 'sluice' },
      timestamp: pino.stdTimeFunctions.isoTime,
      formatters: { level: (label) => ({ level: label }) },
      ...(options.hooks ? { hooks: options.hooks } : {}),
    },
    destination,
  );
}

const LEVEL_COLORS: Readonly<Record<string, string>> = { debug: '\u001b[90m', info: '\u001b[32m', warn: '\u001b[33m', error: '\u001b[31m', fatal: '\u001b[35m' };
const RESET = '\u001b[0m';
const DIM = '\u001b[2m';
const OMITTED = new Set(['time', 'level', 'msg', 'service', 'pid', 'hostname']);

/** A logged error as pino's serializer writes it (`{ type, message, stack, … }`). */
const isErrorRecord = (v: unknown): v is { message: string; stack: string } =>
  typeof v === 'object' && v !== null && typeof (v as { message?: unknown }).message === 'string' && typeof (v as { stack?: unknown }).stack === 'string';

/** A field's value in a pretty line: bare when it has no space, quote or `=`, else JSON; a logged error by its message. */
function fieldText(v: unknown): string {
  const shown = isErrorRecord(v) ? v.message : v;
  return typeof shown === 'string' && !/[\s"=]/.test(shown) && shown !== '' ? shown : JSON.stringify(shown);
}

/** A log field as text: strings as they are, anything else as JSON (numbers and booleans print the same). */
const text = (v: unknown): string => (typeof v === 'string' ? v : v === undefined || v === null ? '' : JSON.stringify(v));

/** One pino JSON line as `12:00:01.234 INFO  message key=value …`. */
export function prettyLine(json: string, color = false): string {
  let record: Record<string, unknown>;
  try {
    record = JSON.parse(json) as Record<string, unknown>;
  } catch {
    return json.endsWith('\n') ? json : `${json}\n`;
  }
  const time = typeof record['time'] === 'string' ? record['time'].slice(11, 23) : '';
  const level = text(record['level']);
  const label = level.toUpperCase().padEnd(5);
  const entries = Object.entries(record).filter(([k]) => !OMITTED.has(k));
  const fields = entries.map(([k, v]) => `${k}=${fieldText(v)}`).join(' ');
  // An error logged at error level shows its stack below the line (the JSON format always carries it).
  const stacks =
    level === 'error' || level === 'fatal'
      ? entries
          .map(([, v]) => v)
          .filter(isErrorRecord)
          .map((e) => `${e.stack.replace(/^/gm, '    ')}\n`)
          .join('')
      : '';
  const msg = text(record['msg']);
  if (!color) return `${time} ${label} ${msg}${fields ? `  ${fields}` : ''}\n${stacks}`;
  return `${DIM}${time}${RESET} ${LEVEL_COLORS[level] ?? ''}${label}${RESET} ${msg}${fields ? `  ${DIM}${fields}${RESET}` : ''}\n${stacks ? `${DIM}${stacks}${RESET}` : ''}`;
}
