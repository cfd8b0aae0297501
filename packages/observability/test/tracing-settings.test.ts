import { test } from 'node:test';
import assert from 'node:assert/strict';
import { tracingSettingsFromEnv, tracerFromEnv } from '../src/index.js';
import { sdkSampler } from '../src/otel-sdk.js';

test('tracing is off unless OTEL_* asks for it', async () => {
  assert.deepEqual(tracingSettingsFromEnv({}), { enabled: false });
  assert.equal((await tracerFromEnv({})).enabled, false);
  assert.equal(tracingSettingsFromEnv({ OTEL_EXPORTER_OTLP_ENDPOINT: 'http://127.0.0.1:4318' }).enabled, true);
  assert.equal(tracingSettingsFromEnv({ OTEL_EXPORTER_OTLP_TRACES_ENDPOINT: 'http://127.0.0.1:4318/v1/traces' }).enabled, true);
  assert.equal(tracingSettingsFromEnv({ OTEL_TRACES_EXPORTER: 'otlp' }).enabled, true);
  assert.equal(tracingSettingsFromEnv({ OTEL_TRACES_EXPORTER: 'none', OTEL_EXPORTER_OTLP_ENDPOINT: 'http://x' }).enabled, false);
  assert.equal(tracingSettingsFromEnv({ OTEL_SDK_DISABLED: 'true', OTEL_TRACES_EXPORTER: 'otlp' }).enabled, false);
});

test('protocol: http/protobuf by default, http/json on request; the traces-specific variable wins', () => {
  const on = { OTEL_TRACES_EXPORTER: 'otlp' };
  assert.equal((tracingSettingsFromEnv(on) as { protocol: string }).protocol, 'http/protobuf');
  assert.equal((tracingSettingsFromEnv({ ...on, OTEL_EXPORTER_OTLP_PROTOCOL: 'http/json' }) as { protocol: string }).protocol, 'http/json');
  assert.equal((tracingSettingsFromEnv({ ...on, OTEL_EXPORTER_OTLP_PROTOCOL: 'grpc', OTEL_EXPORTER_OTLP_TRACES_PROTOCOL: 'http/json' }) as { protocol: string }).protocol, 'http/json');
});

test('what Sluice cannot honour is an error naming the variable, never ignored', () => {
  assert.throws(() => tracingSettingsFromEnv({ OTEL_TRACES_EXPORTER: 'otlp', OTEL_EXPORTER_OTLP_PROTOCOL: 'grpc' }), /OTLP protocol "grpc" is not supported/);
  assert.throws(() => tracingSettingsFromEnv({ OTEL_TRACES_EXPORTER: 'zipkin' }), /OTEL_TRACES_EXPORTER "zipkin" is not supported/);
  assert.throws(() => tracingSettingsFromEnv({ OTEL_TRACES_EXPORTER: 'otlp', OTEL_TRACES_SAMPLER: 'sometimes' }), /OTEL_TRACES_SAMPLER "sometimes" is not supported/);
  assert.throws(
    () => tracingSettingsFromEnv({ OTEL_TRACES_EXPORTER: 'otlp', OTEL_TRACES_SAMPLER: 'traceidratio', OTEL_TRACES_SAMPLER_ARG: '2' }),
    /OTEL_TRACES_SAMPLER_ARG must be a ratio from 0 to 1/,
  );
});

test('samplers from OTEL_TRACES_SAMPLER', () => {
  const sampler = (name: string, arg?: string) => {
    const s = tracingSettingsFromEnv({ OTEL_TRACES_EXPORTER: 'otlp', OTEL_TRACES_SAMPLER: name, ...(arg ? { OTEL_TRACES_SAMPLER_ARG: arg } : {}) });
    assert.ok(s.enabled);
    return sdkSampler(s.sampler).toString();
  };
  assert.match(sampler('always_on'), /AlwaysOnSampler/);
  assert.match(sampler('always_off'), /AlwaysOffSampler/);
  assert.match(sampler('traceidratio', '0.25'), /TraceIdRatioBased\{0\.25\}/);
  assert.match(sampler('parentbased_always_on'), /ParentBased\{root=AlwaysOnSampler/);
});

test('with tracing on, the tracer is the OpenTelemetry one (its SDK loaded on demand)', async () => {
  const tracer = await tracerFromEnv({ OTEL_TRACES_EXPORTER: 'otlp', OTEL_EXPORTER_OTLP_ENDPOINT: 'http://127.0.0.1:9' });
  assert.equal(tracer.enabled, true);
  const span = tracer.startSpan('send', 'producer', undefined, {});
  assert.match(span.context.traceparent, /^00-[0-9a-f]{32}-[0-9a-f]{16}-01$/);
  await tracer.shutdown();
});
