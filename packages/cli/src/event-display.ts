import { createServer, type IncomingHttpHeaders, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { decodeHttp, eventToJson, isJsonMediaType, type CloudEvent } from '@sluice/core';

const CORE_ATTRIBUTES = ['specversion', 'type', 'source', 'subject', 'id', 'time', 'dataschema', 'datacontenttype'];

/** Renders an event the way Knative's event_display does, so its output looks familiar. */
export function formatEvent(event: CloudEvent): string {
  const a = event.attributes;
  const lines = ['☁️  cloudevents.Event', 'Context Attributes,'];
  for (const name of CORE_ATTRIBUTES) if (a[name] !== undefined) lines.push(`  ${name}: ${String(a[name])}`);
  const extensions = Object.keys(a).filter((k) => !CORE_ATTRIBUTES.includes(k)).sort();
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
