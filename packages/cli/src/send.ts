import { readFileSync } from 'node:fs';
import { randomUUID } from 'node:crypto';
import { CloudEvent as SdkEvent, HTTP, type CloudEventV1 } from 'cloudevents';
import { Agent, request } from 'undici';

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

/** Resolves `--to`: an http(s) URL, or `broker:NAME[:NAMESPACE]` on the server (kn's sink syntax). */
export function resolveTarget(to: string, server: string): string {
  if (/^https?:\/\//.test(to)) return to;
  const m = /^broker:([a-z0-9-]+)(?::([a-z0-9-]+))?$/.exec(to);
  if (!m) throw new Error(`--to must be an http(s) URL or broker:NAME[:NAMESPACE], got "${to}"`);
  return `${server.replace(/\/$/, '')}/${m[2] ?? 'default'}/${m[1]}`;
}

function payload(opts: SendCommandOptions): { data: unknown; contentType: string | undefined } {
  if (opts.data !== undefined && opts.dataFile !== undefined) throw new Error('use either --data or --data-file, not both');
  const text = opts.dataFile !== undefined ? readFileSync(opts.dataFile, 'utf8') : opts.data;
  if (text === undefined) return { data: undefined, contentType: opts.contentType };
  if (opts.contentType === undefined || /json/.test(opts.contentType)) {
    try {
      return { data: JSON.parse(text) as unknown, contentType: opts.contentType ?? 'application/json' };
    } catch {
      if (opts.contentType !== undefined) throw new Error('--data is not valid JSON but the content type is JSON');
      return { data: text, contentType: 'text/plain' };
    }
  }
  return { data: text, contentType: opts.contentType };
}

/** Builds events with the CloudEvents SDK (which validates them) and posts them, reporting every failure. */
export async function sendEvents(opts: SendCommandOptions, onProgress?: (done: number) => void): Promise<SendReport> {
  const url = resolveTarget(opts.to, opts.server);
  const { data, contentType } = payload(opts);
  const extensions: Record<string, string> = {};
  for (const kv of opts.extension) {
    const i = kv.indexOf('=');
    if (i <= 0) throw new Error(`--extension must be key=value, got "${kv}"`);
    extensions[kv.slice(0, i)] = kv.slice(i + 1);
  }
  const dispatcher = new Agent({ connections: opts.concurrency });
  const report: SendReport = { sent: 0, accepted: 0, failures: [], elapsedMs: 0 };
  const started = performance.now();
  let next = 0;
  const worker = async (): Promise<void> => {
    for (;;) {
      const index = next++;
      if (index >= opts.count) return;
      const id = opts.id !== undefined ? (opts.count > 1 ? `${opts.id}-${index}` : opts.id) : randomUUID();
      const attrs: Record<string, unknown> = { id, type: opts.type, source: opts.source, ...extensions };
      if (opts.subject !== undefined) attrs['subject'] = opts.subject;
      if (contentType !== undefined) attrs['datacontenttype'] = contentType;
      if (data !== undefined) attrs['data'] = data;
      const event = new SdkEvent(attrs as unknown as CloudEventV1<unknown>);
      const message = opts.mode === 'structured' ? HTTP.structured(event) : HTTP.binary(event);
      try {
        const res = await request(url, { method: 'POST', headers: message.headers as Record<string, string>, body: message.body as string, dispatcher });
        const text = await res.body.text();
        report.sent++;
        if (res.statusCode >= 200 && res.statusCode < 300) report.accepted++;
        else report.failures.push({ index, id, status: res.statusCode, message: text.slice(0, 500) });
      } catch (err) {
        report.sent++;
        report.failures.push({ index, id, status: undefined, message: (err as Error).message });
      }
      onProgress?.(report.sent);
    }
  };
  await Promise.all(Array.from({ length: Math.max(1, Math.min(opts.concurrency, opts.count)) }, worker));
  await dispatcher.close();
  report.elapsedMs = performance.now() - started;
  return report;
}
