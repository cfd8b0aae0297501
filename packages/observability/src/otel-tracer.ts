import { SluiceError, lazyLibrary, noopTracer, type Tracer } from '@sluice/core';

type Env = Readonly<Record<string, string | undefined>>;

/** The samplers of OTEL_TRACES_SAMPLER that Sluice supports. */
export type SamplerName = 'always_on' | 'always_off' | 'traceidratio' | 'parentbased_always_on' | 'parentbased_always_off' | 'parentbased_traceidratio';

/** A sampler as OTEL_TRACES_SAMPLER / OTEL_TRACES_SAMPLER_ARG name it; `ratio` only for the ratio-based ones. */
export type SamplerSettings =
  { readonly name: Exclude<SamplerName, 'traceidratio' | 'parentbased_traceidratio'> } | { readonly name: 'traceidratio' | 'parentbased_traceidratio'; readonly ratio: number };

/** What the OTEL_* variables ask for: off, or OTLP over HTTP with a protocol. */
export type TracingSettings = { readonly enabled: false } | { readonly enabled: true; readonly protocol: 'http/protobuf' | 'http/json'; readonly sampler: SamplerSettings };

/** A tracer `sluice run` can shut down (exporting what is buffered). */
export type ClosableTracer = Tracer & { shutdown(): Promise<void> };

function envError(message: string): SluiceError {
  return new SluiceError('SLUICE_CONFIG_INVALID', message);
}

/** The sampler of OTEL_TRACES_SAMPLER / OTEL_TRACES_SAMPLER_ARG (default `parentbased_always_on`). */
function samplerFromEnv(env: Env): SamplerSettings {
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
    case 'always_off':
    case 'parentbased_always_on':
    case 'parentbased_always_off':
      return { name };
    case 'traceidratio':
    case 'parentbased_traceidratio':
      return { name, ratio: ratio() };
    default:
      throw envError(`OTEL_TRACES_SAMPLER "${name}" is not supported; use always_on, always_off, traceidratio or parentbased_*`);
  }
}

/**
 * Reads the standard OpenTelemetry variables. Tracing is off unless `OTEL_TRACES_EXPORTER=otlp`, or an OTLP endpoint
 * (`OTEL_EXPORTER_OTLP_ENDPOINT`, `OTEL_EXPORTER_OTLP_TRACES_ENDPOINT`) is set; `OTEL_SDK_DISABLED=true` and
 * `OTEL_TRACES_EXPORTER=none` turn it off. Values Sluice cannot honour (gRPC, other exporters) are errors, never
 * silently ignored. Cheap: the OpenTelemetry SDK is loaded only by {@link startTracer} with tracing on.
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

// The OpenTelemetry SDK and its OTLP exporters (some 700 modules) load only when tracing is on.
const otelSdk = lazyLibrary('the OpenTelemetry SDK (@opentelemetry/sdk-trace-base and its OTLP exporters)', () => import('./otel-sdk.js'));

/**
 * The tracer of `settings`: an OpenTelemetry tracer exporting over OTLP/HTTP in batches (the SDK is loaded now), or
 * the no-op tracer when tracing is off. A `SLUICE_LIBRARY_UNAVAILABLE` error when the SDK cannot be loaded.
 */
export async function startTracer(settings: TracingSettings, serviceVersion?: string): Promise<ClosableTracer> {
  if (!settings.enabled) return { enabled: false, startSpan: noopTracer.startSpan.bind(noopTracer), shutdown: async () => {} };
  const { OtelTracer } = await otelSdk('tracing (OTEL_* variables)');
  return new OtelTracer({ protocol: settings.protocol, sampler: settings.sampler, ...(serviceVersion ? { serviceVersion } : {}) });
}

/** The tracer the OTEL_* variables ask for: {@link startTracer} of {@link tracingSettingsFromEnv}. */
export async function tracerFromEnv(env: Env = process.env, serviceVersion?: string): Promise<ClosableTracer> {
  return startTracer(tracingSettingsFromEnv(env), serviceVersion);
}
