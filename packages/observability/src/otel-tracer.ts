import { ROOT_CONTEXT, SpanKind, SpanStatusCode, TraceFlags, type Span, type Tracer as OtelApiTracer } from '@opentelemetry/api';
import { W3CTraceContextPropagator } from '@opentelemetry/core';
import { defaultResource, detectResources, envDetector, resourceFromAttributes } from '@opentelemetry/resources';
import {
  AlwaysOffSampler,
  AlwaysOnSampler,
  BasicTracerProvider,
  BatchSpanProcessor,
  ParentBasedSampler,
  TraceIdRatioBasedSampler,
  type Sampler,
  type SpanExporter,
} from '@opentelemetry/sdk-trace-base';
import { OTLPTraceExporter as OtlpProtoExporter } from '@opentelemetry/exporter-trace-otlp-proto';
import { OTLPTraceExporter as OtlpJsonExporter } from '@opentelemetry/exporter-trace-otlp-http';
import { SluiceError, noopTracer, type SpanAttributes, type SpanHandle, type SpanKindName, type TraceContext, type Tracer } from '@sluice/core';

type Env = Readonly<Record<string, string | undefined>>;

/** What the OTEL_* variables ask for: off, or OTLP over HTTP with a protocol. */
export type TracingSettings = { readonly enabled: false } | { readonly enabled: true; readonly protocol: 'http/protobuf' | 'http/json'; readonly sampler: Sampler };

const KINDS: Record<SpanKindName, SpanKind> = {
  server: SpanKind.SERVER,
  client: SpanKind.CLIENT,
  producer: SpanKind.PRODUCER,
  consumer: SpanKind.CONSUMER,
  internal: SpanKind.INTERNAL,
};

function envError(message: string): SluiceError {
  return new SluiceError('SLUICE_CONFIG_INVALID', message);
}

/** The sampler of OTEL_TRACES_SAMPLER / OTEL_TRACES_SAMPLER_ARG (default `parentbased_always_on`). */
function samplerFromEnv(env: Env): Sampler {
  const name = (env['OTEL_TRACES_SAMPLER'] ?? 'parentbased_always_on').trim().toLowerCase();
  const argText = env['OTEL_TRACES_SAMPLER_ARG'];
  const ratio = (): number => {
    if (argText === undefined || argText.trim() === '') return 1;
    const r = Number(argText);
    if (!Number.isFinite(r) || r < 0 || r > 1) throw envError(`OTEL_TRACES_SAMPLER_ARG must be a ratio from 0 to 1, got "${argText}"`);
    return r;
  };
  switch (name) {
    case 'always_on':
      return new AlwaysOnSampler();
    case 'always_off':
      return new AlwaysOffSampler();
    case 'traceidratio':
      return new TraceIdRatioBasedSampler(ratio());
    case 'parentbased_always_on':
      return new ParentBasedSampler({ root: new AlwaysOnSampler() });
    case 'parentbased_always_off':
      return new ParentBasedSampler({ root: new AlwaysOffSampler() });
    case 'parentbased_traceidratio':
      return new ParentBasedSampler({ root: new TraceIdRatioBasedSampler(ratio()) });
    default:
      throw envError(`OTEL_TRACES_SAMPLER "${name}" is not supported; use always_on, always_off, traceidratio or parentbased_*`);
  }
}

/**
 * Reads the standard OpenTelemetry variables. Tracing is off unless `OTEL_TRACES_EXPORTER=otlp`, or an OTLP endpoint
 * (`OTEL_EXPORTER_OTLP_ENDPOINT`, `OTEL_EXPORTER_OTLP_TRACES_ENDPOINT`) is set; `OTEL_SDK_DISABLED=true` and
 * `OTEL_TRACES_EXPORTER=none` turn it off. Values Sluice cannot honour (gRPC, other exporters) are errors, never
 * silently ignored.
 */
export function tracingSettingsFromEnv(env: Env = process.env): TracingSettings {
  if ((env['OTEL_SDK_DISABLED'] ?? '').trim().toLowerCase() === 'true') return { enabled: false };
  const exporters = (env['OTEL_TRACES_EXPORTER'] ?? '')
    .split(',')
    .map((s) => s.trim().toLowerCase())
    .filter((s) => s !== '');
  const endpoint = env['OTEL_EXPORTER_OTLP_TRACES_ENDPOINT'] ?? env['OTEL_EXPORTER_OTLP_ENDPOINT'];
  if (exporters.includes('none')) return { enabled: false };
  const unsupported = exporters.filter((e) => e !== 'otlp');
  if (unsupported.length > 0) throw envError(`OTEL_TRACES_EXPORTER "${unsupported.join(',')}" is not supported; Sluice exports traces with otlp (or none)`);
  if (exporters.length === 0 && (endpoint === undefined || endpoint.trim() === '')) return { enabled: false };
  const protocol = (env['OTEL_EXPORTER_OTLP_TRACES_PROTOCOL'] ?? env['OTEL_EXPORTER_OTLP_PROTOCOL'] ?? 'http/protobuf').trim();
  if (protocol !== 'http/protobuf' && protocol !== 'http/json') {
    throw envError(`OTLP protocol "${protocol}" is not supported; set OTEL_EXPORTER_OTLP_PROTOCOL to http/protobuf (default) or http/json`);
  }
  return { enabled: true, protocol, sampler: samplerFromEnv(env) };
}

const propagator = new W3CTraceContextPropagator();
const getter = { get: (c: TraceContext, k: string) => (k === 'traceparent' ? c.traceparent : k === 'tracestate' ? c.tracestate : undefined), keys: () => ['traceparent', 'tracestate'] };

function contextOf(span: Span): TraceContext {
  const sc = span.spanContext();
  const traceparent = `00-${sc.traceId}-${sc.spanId}-${sc.traceFlags & TraceFlags.SAMPLED ? '01' : '00'}`;
  const tracestate = sc.traceState?.serialize();
  return tracestate ? { traceparent, tracestate } : { traceparent };
}

/** A {@link Tracer} on the OpenTelemetry SDK, exporting over OTLP/HTTP in batches. */
export class OtelTracer implements Tracer {
  readonly enabled = true;
  readonly #provider: BasicTracerProvider;
  readonly #tracer: OtelApiTracer;

  constructor(settings: { protocol: 'http/protobuf' | 'http/json'; sampler: Sampler; exporter?: SpanExporter; serviceVersion?: string }) {
    const exporter = settings.exporter ?? (settings.protocol === 'http/json' ? new OtlpJsonExporter() : new OtlpProtoExporter());
    // OTEL_SERVICE_NAME and OTEL_RESOURCE_ATTRIBUTES override the defaults.
    const resource = defaultResource()
      .merge(resourceFromAttributes({ 'service.name': 'sluice', ...(settings.serviceVersion ? { 'service.version': settings.serviceVersion } : {}) }))
      .merge(detectResources({ detectors: [envDetector] }));
    this.#provider = new BasicTracerProvider({ resource, sampler: settings.sampler, spanProcessors: [new BatchSpanProcessor(exporter)] });
    this.#tracer = this.#provider.getTracer('sluice', settings.serviceVersion);
  }

  startSpan(name: string, kind: SpanKindName, parent: TraceContext | undefined, attributes: SpanAttributes): SpanHandle {
    const ctx = parent ? propagator.extract(ROOT_CONTEXT, parent, getter) : ROOT_CONTEXT;
    const span = this.#tracer.startSpan(name, { kind: KINDS[kind], attributes }, ctx);
    return {
      context: contextOf(span),
      setAttributes: (a) => void span.setAttributes(a),
      end: (error) => {
        if (error !== undefined) span.setStatus({ code: SpanStatusCode.ERROR, message: error });
        span.end();
      },
    };
  }

  /** Exports what is buffered. */
  async flush(): Promise<void> {
    await this.#provider.forceFlush();
  }

  /** Exports what is buffered and stops. */
  async shutdown(): Promise<void> {
    await this.#provider.shutdown();
  }
}

/** The tracer the OTEL_* variables ask for: {@link OtelTracer}, or the no-op tracer (the default). */
export function tracerFromEnv(env: Env = process.env, serviceVersion?: string): Tracer & { shutdown(): Promise<void> } {
  const settings = tracingSettingsFromEnv(env);
  if (!settings.enabled) return { enabled: false, startSpan: noopTracer.startSpan.bind(noopTracer), shutdown: async () => {} };
  return new OtelTracer({ protocol: settings.protocol, sampler: settings.sampler, ...(serviceVersion ? { serviceVersion } : {}) });
}
