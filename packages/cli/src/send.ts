import { readFileSync } from 'node:fs';
import { randomUUID } from 'node:crypto';
import { Command, Option } from 'commander';
import { Agent, request } from 'undici';
import { DEFAULT_NAMESPACE, SluiceError, encodeBinary, parseKindName, encodeStructured, isJsonMediaType, isSluiceError, validateEvent, type AttributeValue, type CloudEvent } from '@sluice/core';
import { collect, intArg } from './args.js';

/** Options of `sluice send`. */
export interface SendCommandOptions {
  to: string;
  type: string;
  source: string;
  id?: string;
  subject?: string;
  data?: string;
  dataFile?: string;
  contentType?: string;
  extension: string[];
  count: number;
  concurrency: number;
  mode: 'binary' | 'structured';
  server: string;
}

/** Result of a send run. */
export interface SendReport {
  sent: number;
  accepted: number;
  failures: Array<{ index: number; id: string; status: number | undefined; message: string }>;
  elapsedMs: number;
}

/** A mistake in the command line, found after parsing: printed as one line, exit 2. */
export function usageError(message: string): SluiceError {
  return new SluiceError('SLUICE_USAGE', message);
}

/**
 * Resolves `--to`: an http(s) URL, or kn's sink syntax on the server: `broker:NAME[:NAMESPACE]`,
 * `channel:NAME[:NAMESPACE]`.
 */
export function resolveTarget(to: string, server: string): string {
  if (/^https?:\/\//.test(to)) return to;
  const target = parseKindName(to, ['broker', 'channel']);
  if (!target) throw usageError(`--to must be an http(s) URL, broker:NAME[:NAMESPACE] or channel:NAME[:NAMESPACE], got "${to}"`);
  const base = server.replace(/\/$/, '');
  const path = `${target.namespace ?? DEFAULT_NAMESPACE}/${target.name}`;
  return target.kind === 'channel' ? `${base}/channels/${path}` : `${base}/${path}`;
}

/**
 * The event data and its content type. JSON (the default type) must parse: a typo in `--data` is a usage error,
 * not an event sent as text. `--data-file` is read as bytes, so binary payloads go out unchanged; without
 * `--content-type` a file that is JSON is sent as application/json, anything else as application/octet-stream.
 */
function payload(opts: SendCommandOptions): { data: Buffer | undefined; contentType: string | undefined } {
  if (opts.data !== undefined && opts.dataFile !== undefined) throw usageError('use either --data or --data-file, not both');
  if (opts.dataFile !== undefined) {
    let bytes: Buffer;
    try {
      bytes = readFileSync(opts.dataFile);
    } catch (err) {
      throw usageError(`--data-file ${opts.dataFile}: ${(err as NodeJS.ErrnoException).code === 'ENOENT' ? 'no such file' : (err as Error).message}`);
    }
    if (opts.contentType !== undefined) {
      if (isJsonMediaType(opts.contentType)) checkJson(bytes.toString('utf8'), `--data-file ${opts.dataFile}`, opts.contentType);
      return { data: bytes, contentType: opts.contentType };
    }
    try {
      JSON.parse(bytes.toString('utf8'));
      return { data: bytes, contentType: 'application/json' };
    } catch {
      return { data: bytes, contentType: 'application/octet-stream' };
    }
  }
  if (opts.data === undefined) return { data: undefined, contentType: opts.contentType };
  if (opts.contentType === undefined || isJsonMediaType(opts.contentType)) checkJson(opts.data, '--data', opts.contentType ?? 'application/json');
  return { data: Buffer.from(opts.data, 'utf8'), contentType: opts.contentType ?? 'application/json' };
}

function checkJson(text: string, what: string, contentType: string): void {
  try {
    JSON.parse(text);
  } catch (err) {
    throw usageError(`${what} is not valid JSON (${(err as Error).message}) but the content type is ${contentType}; give --content-type text/plain to send text`);
  }
}

/** Flag that sets an attribute, for usage errors that name what the user typed. */
function flagOf(attribute: string): string {
  const flags: Record<string, string> = { id: '--id', type: '--type', source: '--source', subject: '--subject', datacontenttype: '--content-type' };
  return flags[attribute] ?? `--extension ${attribute}=…`;
}

/** Builds the events of a send (validated like the broker's ingress validates them). */
export function buildEvents(opts: SendCommandOptions): (index: number) => CloudEvent {
  const { data, contentType } = payload(opts);
  const extensions: Record<string, AttributeValue> = {};
  for (const kv of opts.extension) {
    const i = kv.indexOf('=');
    if (i <= 0) throw usageError(`--extension must be key=value, got "${kv}"`);
    const key = kv.slice(0, i);
    if (['specversion', 'id', 'type', 'source', 'subject', 'time', 'datacontenttype', 'dataschema', 'data'].includes(key)) {
      throw usageError(`--extension ${key}: "${key}" is a context attribute, not an extension; use its own flag`);
    }
    extensions[key] = kv.slice(i + 1);
  }
  const make = (index: number): CloudEvent => {
    const id = opts.id !== undefined ? (opts.count > 1 ? `${opts.id}-${index}` : opts.id) : randomUUID();
    const attributes: Record<string, AttributeValue> = { specversion: '1.0', id, type: opts.type, source: opts.source, time: new Date().toISOString(), ...extensions };
    if (opts.subject !== undefined) attributes['subject'] = opts.subject;
    if (contentType !== undefined) attributes['datacontenttype'] = contentType;
    return { attributes, data };
  };
  try {
    validateEvent(make(0));
  } catch (err) {
    if (!isSluiceError(err)) throw err;
    const attribute = typeof err.details?.['attribute'] === 'string' ? err.details['attribute'] : undefined;
    throw usageError(attribute ? `${flagOf(attribute)}: ${err.message}` : err.message);
  }
  return make;
}

/** Builds events with Sluice's own codec (validated as the ingress validates them) and posts them, reporting every failure. */
export async function sendEvents(opts: SendCommandOptions, onProgress?: (done: number) => void): Promise<SendReport> {
  const url = resolveTarget(opts.to, opts.server);
  const make = buildEvents(opts);
  const dispatcher = new Agent({ connections: opts.concurrency });
  const report: SendReport = { sent: 0, accepted: 0, failures: [], elapsedMs: 0 };
  const started = performance.now();
  let next = 0;
  const worker = async (): Promise<void> => {
    for (;;) {
      const index = next++;
      if (index >= opts.count) return;
      const event = make(index);
      const id = String(event.attributes['id']);
      const message = opts.mode === 'structured' ? encodeStructured(event) : encodeBinary(event);
      try {
        const res = await request(url, { method: 'POST', headers: message.headers, body: message.body, dispatcher });
        const text = await res.body.text();
        report.sent++;
        if (res.statusCode >= 200 && res.statusCode < 300) report.accepted++;
        else report.failures.push({ index, id, status: res.statusCode, message: text.slice(0, 500) });
      } catch (err) {
        report.sent++;
        const e = err as NodeJS.ErrnoException & { cause?: NodeJS.ErrnoException };
        const code = e.code ?? e.cause?.code;
        report.failures.push({
          index,
          id,
          status: undefined,
          message: code === 'ECONNREFUSED' ? `cannot connect to ${url} (connection refused): is sluice running there? (--server or SLUICE_SERVER)` : e.message,
        });
      }
      onProgress?.(report.sent);
    }
  };
  await Promise.all(Array.from({ length: Math.max(1, Math.min(opts.concurrency, opts.count)) }, worker));
  await dispatcher.close();
  report.elapsedMs = performance.now() - started;
  return report;
}

/** `sluice send`: sends events, prints what was accepted; exit 1 when any send failed. */
export function sendCommand(onExit: (code: number) => void): Command {
  return new Command('send')
    .description('send CloudEvents to a broker or URL')
    .requiredOption('--to <target>', 'http(s) URL, broker:NAME[:NAMESPACE] or channel:NAME[:NAMESPACE]')
    .requiredOption('--type <type>', 'event type')
    .requiredOption('--source <source>', 'event source (URI-reference)')
    .option('--id <id>', 'event id (default: a UUID; with --count, suffixed -N)')
    .option('--subject <subject>', 'event subject')
    .option('--data <json|text>', 'event data')
    .option('--data-file <file>', 'read event data from a file')
    .option('--content-type <type>', 'datacontenttype (default application/json for JSON data)')
    .option('--extension <key=value>', 'extension attribute (repeatable)', collect, [])
    .option('--count <n>', 'number of events to send', intArg('--count', 1), 1)
    .option('--concurrency <n>', 'requests in flight', intArg('--concurrency', 1), 16)
    .addOption(new Option('--mode <mode>', 'HTTP content mode').choices(['binary', 'structured']).default('binary'))
    .addOption(new Option('--server <url>', 'base URL of the Sluice ingress, for broker: and channel: targets').env('SLUICE_SERVER').default('http://127.0.0.1:8080'))
    .action(async (opts: SendCommandOptions) => {
      const tty = process.stderr.isTTY && opts.count > 1;
      let last = 0;
      const report = await sendEvents(opts, (done) => {
        const now = performance.now();
        if (tty && (now - last > 100 || done === opts.count)) {
          last = now;
          process.stderr.write(`\rsent ${done}/${opts.count}`);
        }
      });
      if (tty) process.stderr.write('\n');
      if (report.failures.length === 0) {
        const rate = report.elapsedMs > 0 ? Math.round((report.sent / report.elapsedMs) * 1000) : report.sent;
        process.stdout.write(`sent ${report.sent}, accepted ${report.accepted}${report.sent > 1 ? ` (${rate} events/s)` : ''}\n`);
        onExit(0);
        return;
      }
      // A failed send is an error: the summary and each failure go to stderr, without a rate.
      process.stderr.write(`sent ${report.sent}, accepted ${report.accepted}, failed ${report.failures.length}\n`);
      for (const f of report.failures.slice(0, 20)) {
        process.stderr.write(`  event ${f.id}: ${f.status === undefined ? 'error' : `HTTP ${f.status}`}: ${f.message}\n`);
      }
      if (report.failures.length > 20) process.stderr.write(`  … and ${report.failures.length - 20} more\n`);
      onExit(1);
    });
}
