import type { IncomingMessage, ServerResponse } from 'node:http';
import { errorStatus } from '@sluice/core';
import type { PrometheusMetrics } from './prometheus-metrics.js';

/** A `GET /metrics` handler (node:http or express) serving the Prometheus text format. */
export function metricsHandler(metrics: PrometheusMetrics): (req: IncomingMessage, res: ServerResponse) => void {
  return (req, res) => {
    if (req.method !== 'GET' && req.method !== 'HEAD') {
      res
        .writeHead(errorStatus('SLUICE_METHOD_NOT_ALLOWED'), { allow: 'GET, HEAD', 'content-type': 'application/json' })
        .end(JSON.stringify({ error: { code: 'SLUICE_METHOD_NOT_ALLOWED', message: `method ${req.method} not allowed; use GET` } }));
      return;
    }
    metrics.scrape().then(
      ({ contentType, body }) => {
        res.writeHead(200, { 'content-type': contentType, 'content-length': Buffer.byteLength(body) }).end(req.method === 'HEAD' ? undefined : body);
      },
      (err: unknown) => {
        res
          .writeHead(errorStatus('SLUICE_INTERNAL'), { 'content-type': 'application/json' })
          .end(JSON.stringify({ error: { code: 'SLUICE_INTERNAL', message: `metrics collection failed: ${(err as Error).message}` } }));
      },
    );
  };
}
