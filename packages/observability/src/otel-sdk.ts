// The part of tracing that imports the OpenTelemetry SDK: loaded (otel-tracer.ts) only when tracing is on.
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
import type { SpanAttributes, SpanHandle, SpanKindName, TraceContext, Tracer } from '@sluice/core';
import type { SamplerSettings } from './otel-tracer.js';

const KINDS: Record<SpanKindName, SpanKind> = {
  server: SpanKind.SERVER,
  client: SpanKind.CLIENT,
  producer: SpanKind.PRODUCER,
  consumer: SpanKind.CONSUMER,
  internal: SpanKind.INTERNAL,
};

/** The SDK's sampler for the settings of OTEL_TRACES_SAMPLER / OTEL_TRACES_SAMPLER_ARG. */
export function sdkSampler(settings: SamplerSettings): Sampler {
  switch (settings.name) {
    case 'always_on':
      return new AlwaysOnSampler();
    case 'always_off':
      return new AlwaysOffSampler();
    case 'traceidratio':
      return new TraceIdRatioBasedSampler(settings.ratio);
    case 'parentbased_always_on':
      return new ParentBasedSampler({ root: new AlwaysOnSampler() });
    case 'parentbased_always_off':
      return new ParentBasedSampler({ root: new AlwaysOffSampler() });
    case 'parentbased_traceidratio':
      return new ParentBasedSampler({ root: new TraceIdRatioBasedSampler(settings.ratio) });
  }
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

  constructor(settings: { protocol: 'http/protobuf' | 'http/json'; sampler: SamplerSettings; exporter?: SpanExporter; serviceVersion?: string }) {
    const exporter = settings.exporter ?? (settings.protocol === 'http/json' ? new OtlpJsonExporter() : new OtlpProtoExporter());
    // OTEL_SERVICE_NAME and OTEL_RESOURCE_ATTRIBUTES override the defaults.
    const resource = defaultResource()
      .merge(resourceFromAttributes({ 'service.name': 'sluice', ...(settings.serviceVersion ? { 'service.version': settings.serviceVersion } : {}) }))
      .merge(detectResources({ detectors: [envDetector] }));
    this.#provider = new BasicTracerProvider({ resource, sampler: sdkSampler(settings.sampler), spanProcessors: [new BatchSpanProcessor(exporter)] });
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
