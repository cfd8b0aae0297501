import { Command, Option } from 'commander';
import { createServer, type IncomingHttpHeaders, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { decodeHttp, eventToJson, isJsonMediaType, type CloudEvent } from '@sluice/core';
import { portArg } from './args.js';

const CORE_ATTRIBUTES = ['specversion', 'type', 'source', 'subject', 'id', 'time', 'dataschema', 'datacontenttype'];

/** Renders an event the way Knative's event_display does, so its output looks familiar. */
export function formatEvent(event: CloudEvent): string {
  const a = event.attributes;
  const lines = ['☁️  cloudevents.Event', 'Context Attributes,'];
  for (const name of CORE_ATTRIBUTES) if (a[name] !== undefined) lines.push(`  ${name}: ${String(a[name])}`);
  const extensions = Object.keys(a)
    .filter((k) => !CORE_ATTRIBUTES.includes(k))
    .sort();
  if (extensions.length > 0) {
    lines.push('Extensions,');
    for (const name of extensions) lines.push(`  ${name}: ${String(a[name])}`);
  }
  if (event.data !== undefined) {
    lines.push('Data,');
    const ct = typeof a['datacontenttype'] === 'string' ? a['datacontenttype'] : undefined;
    let text = event.data.toString('utf8');
    if (isJsonMediaType(ct)) {
      try {
        text = JSON.stringify(JSON.parse(text), null, 2);
      } catch {
        // shown as received
      }
    }
    lines.push(...text.split('\n').map((l) => `  ${l}`));
  }
  return lines.join('\n');
}

/** Renders the request headers as a block before the event (`--headers`). */
function formatHeaders(headers: IncomingHttpHeaders): string {
  const lines = ['HTTP headers,'];
  for (const name of Object.keys(headers).sort()) lines.push(`  ${name}: ${String(headers[name])}`);
  return lines.join('\n');
}

/** Options of {@link startEventDisplay}. */
export interface EventDisplayOptions {
  port: number;
  host: string;
  /** One line of JSON per event (the structured-mode JSON form) instead of the event_display text. */
  json?: boolean;
  /** Print the HTTP headers of each request too. */
  headers?: boolean;
  write?: (text: string) => void;
}

/** Starts an HTTP subscriber that prints every CloudEvent it receives (Knative's event_display). */
export async function startEventDisplay(options: EventDisplayOptions): Promise<{ server: Server; url: string }> {
  const write = options.write ?? ((t: string) => process.stdout.write(t + '\n'));
  const show = (event: CloudEvent, headers: IncomingHttpHeaders): void => {
    if (options.json) write(JSON.stringify(options.headers ? { headers, event: eventToJson(event) } : eventToJson(event)));
    else write(options.headers ? `${formatHeaders(headers)}\n${formatEvent(event)}` : formatEvent(event));
  };
  const server = createServer((req, res) => {
    if (req.method === 'GET' && (req.url === '/healthz' || req.url === '/livez' || req.url === '/readyz')) {
      res.writeHead(204).end();
      return;
    }
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      try {
        for (const event of decodeHttp(req.headers, Buffer.concat(chunks))) show(event, req.headers);
        res.writeHead(202, { 'content-length': 0 }).end();
      } catch (err) {
        write(`received an invalid CloudEvent: ${(err as Error).message}`);
        res.writeHead(400, { 'content-type': 'text/plain' }).end((err as Error).message);
      }
    });
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(options.port, options.host, () => {
      server.off('error', reject);
      resolve();
    });
  });
  const addr = server.address() as AddressInfo;
  return { server, url: `http://${options.host}:${addr.port}` };
}

/** `sluice event-display`: a subscriber that prints what it receives, until SIGTERM/SIGINT. */
export function eventDisplayCommand(onExit: (code: number) => void): Command {
  return new Command('event-display')
    .description('run a subscriber that prints every CloudEvent it receives (like Knative event_display)')
    .addOption(new Option('-p, --port <n>', 'port to listen on').env('SLUICE_DISPLAY_PORT').argParser(portArg('--port')).default(8081))
    .option('--host <host>', 'address to listen on', '127.0.0.1')
    .option('--json', 'print each event as one line of JSON (structured-mode JSON, for piping)')
    .option('--headers', 'print the HTTP headers of each request before the event')
    .action(async (opts: { port: number; host: string; json?: boolean; headers?: boolean }) => {
      let started;
      try {
        started = await startEventDisplay(opts);
      } catch (err) {
        const e = err as NodeJS.ErrnoException;
        const why = e.code === 'EADDRINUSE' ? 'the port is in use' : e.code === 'EACCES' ? 'permission denied' : e.message;
        process.stderr.write(`sluice event-display: cannot listen on ${opts.host}:${opts.port}: ${why} (set --port or SLUICE_DISPLAY_PORT; 0 picks a free port)\n`);
        onExit(1);
        return;
      }
      const { server, url } = started;
      process.stdout.write(`event-display listening on ${url}\n`);
      const stop = (): void => {
        server.close(() => onExit(0));
        server.closeAllConnections();
      };
      process.once('SIGTERM', stop);
      process.once('SIGINT', stop);
    });
}
