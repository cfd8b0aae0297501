import type { IncomingMessage, ServerResponse } from 'node:http';
import {
  DEFAULT_NAMESPACE,
  decodeHttp,
  encodeStructured,
  errorStatus,
  eventFromJson,
  eventToJson,
  isSluiceError,
  oidcAudience,
  oidcSubject,
  SluiceError,
  trueCondition,
  validateEvent,
  type CloudEvent,
  type Condition,
  type HeaderMap,
} from '@sluice/core';
import { addressableTarget, authorizeRequest, destinationOidc, readBody, sendError, type AddressableRoute } from '@sluice/broker';
import type { IngressAuthTarget, RuntimeComponent, RuntimeContext } from '@sluice/plugin';
import type { OidcTarget } from '@sluice/delivery';
import { DEFAULT_LIMITS, TransformExpression, type EvaluationLimits } from './expression.js';
import { TRANSFORM_ROUTE, transformUrl, type EventTransform } from './resources.js';

/** Options of {@link EventTransformComponent}. */
export interface EventTransformOptions {
  /** Bounds of one JSONata evaluation. */
  readonly limits?: EvaluationLimits;
  /** How long the sink may take to answer (default 30 s); the caller's own timeout usually ends first. */
  readonly sinkTimeoutMs?: number;
}

interface Running {
  readonly transform: EventTransform;
  readonly key: string;
  readonly expression: TransformExpression;
  readonly replyExpression: TransformExpression | undefined;
  sinkUrl: string | undefined;
  /** The sink's audience and the EventTransform's identity, when the sink has an audience. */
  sinkOidc?: OidcTarget | undefined;
  /** Who its ingress authorizes requests as, with authentication-oidc on (Knative's EventPoliciesReady on a transform). */
  readonly authTarget: IngressAuthTarget;
}

/** Turns an expression's result into a CloudEvent, or says why it is not one. */
export function resultToEvent(result: unknown, what: string): CloudEvent {
  if (result === undefined) throw new SluiceError('SLUICE_TRANSFORM_INVALID_EVENT', `${what} produced nothing (no match), not a CloudEvent`);
  if (result === null || typeof result !== 'object' || Array.isArray(result)) {
    throw new SluiceError('SLUICE_TRANSFORM_INVALID_EVENT', `${what} produced ${Array.isArray(result) ? 'an array' : JSON.stringify(result)}, not a CloudEvent object`);
  }
  try {
    const event = eventFromJson(result);
    validateEvent(event);
    return event;
  } catch (err) {
    throw new SluiceError('SLUICE_TRANSFORM_INVALID_EVENT', `${what} did not produce a valid CloudEvent: ${(err as Error).message}`);
  }
}

/** The JSONata input for a sink's answer: the CloudEvent in JSON form, else the JSON body, else the text. */
function replyInput(headers: HeaderMap, body: Buffer): unknown {
  try {
    const events = decodeHttp(headers, body);
    if (events.length === 1) return eventToJson(events[0]!);
  } catch {
    // not a CloudEvent: fall back to the body as Knative's transform does
  }
  const text = body.toString('utf8');
  try {
    return JSON.parse(text) as unknown;
  } catch {
    return text;
  }
}

function first(v: string | string[] | undefined): string | undefined {
  return Array.isArray(v) ? v[0] : v;
}

/**
 * Every EventTransform of a configuration, served at `/transforms/{namespace}/{name}` on the runtime's port
 * (Knative runs one JSONata Deployment per transform; here they share the process). An event posted there is turned
 * into its JSON form, passed through the expression, and the result must be a valid CloudEvent:
 *
 * - without `spec.sink` it is the response (200, structured mode), so a Trigger's broker re-ingests it as a reply;
 * - with `spec.sink` it is sent there (structured mode) and the sink's answer is the response: unchanged, discarded
 *   (`reply.discard: true`: the sink's status with an empty body) or passed through `reply.jsonata`.
 *
 * An expression that fails, or whose result is not a valid CloudEvent, answers 500 with a JSON body saying why, so
 * the caller's retries and dead-letter sink apply.
 */
export class EventTransformComponent implements RuntimeComponent {
  readonly name: string;
  readonly #byKey = new Map<string, Running>();
  /** Its addressable route `/{route}/{namespace}/{name}`; built once, not per request. */
  readonly #route: AddressableRoute<Running> = {
    route: TRANSFORM_ROUTE,
    kind: 'EventTransform',
    notFoundCode: 'SLUICE_TRANSFORM_NOT_FOUND',
    lookup: (namespace, name) => this.#byKey.get(`${namespace}/${name}`),
    accepting: () => this.#accepting,
  };
  readonly #options: EventTransformOptions;
  #ctx: RuntimeContext | undefined;
  #accepting = false;

  constructor(transforms: readonly EventTransform[], options: EventTransformOptions = {}) {
    this.#options = options;
    const limits = options.limits ?? DEFAULT_LIMITS;
    for (const transform of transforms) {
      const namespace = transform.metadata.namespace ?? DEFAULT_NAMESPACE;
      const { name } = transform.metadata;
      const key = `${namespace}/${name}`;
      const reply = transform.spec.reply?.jsonata;
      this.#byKey.set(key, {
        transform,
        key,
        authTarget: {
          kinds: [{ group: 'eventing.knative.dev', kind: 'EventTransform' }],
          namespace,
          name,
          labels: transform.metadata.labels ?? {},
          audiences: [oidcAudience('eventing.knative.dev', 'EventTransform', namespace, name)],
        },
        expression: TransformExpression.compile(transform.spec.jsonata.expression, limits, `EventTransform ${key}`),
        replyExpression: reply ? TransformExpression.compile(reply.expression, limits, `EventTransform ${key}`) : undefined,
        sinkUrl: undefined,
      });
    }
    this.name = `event transforms (${transforms.length})`;
  }

  register(ctx: RuntimeContext): void {
    if (this.#ctx) return;
    this.#ctx = ctx;
    ctx.resolver.register('EventTransform', (namespace, name) => transformUrl(ctx.url, namespace, name));
    ctx.route(TRANSFORM_ROUTE, (req, res, rest) => void this.#serve(req, res, rest));
  }

  async start(ctx: RuntimeContext): Promise<void> {
    this.register(ctx);
    // Sinks resolve now that every component has registered the kinds it makes addressable.
    for (const t of this.#byKey.values()) {
      const ns = t.transform.metadata.namespace ?? DEFAULT_NAMESPACE;
      if (t.transform.spec.sink) t.sinkUrl = ctx.resolver.resolve(t.transform.spec.sink, ns);
      // The EventTransform's own identity (Knative's `…-oidc-eventing.knative.dev-eventtransform`) towards its sink.
      t.sinkOidc = destinationOidc(t.transform.spec.sink, oidcSubject('eventing.knative.dev', 'EventTransform', ns, t.transform.metadata.name), ns);
      const address = transformUrl(ctx.url, ns, t.transform.metadata.name);
      // With authentication-oidc on, its audience and policies as Knative's EventTransform status has them.
      const policies = ctx.ingressPolicyStatus?.(t.authTarget);
      const conditions: Condition[] = [trueCondition('Ready'), ...(policies !== undefined ? [policies.condition] : [])];
      ctx.reportStatus('EventTransform', ns, t.transform.metadata.name, conditions, {
        address: { url: address, ...(policies !== undefined ? { audience: t.authTarget.audiences[0] } : {}) },
        ...(policies !== undefined && policies.policies.length > 0 ? { policies: policies.policies } : {}),
        ...(t.sinkUrl ? { sinkUri: t.sinkUrl } : {}),
      });
      ctx.logger.info({ eventTransform: t.key, address, sink: t.sinkUrl }, 'event transform ready');
    }
    this.#accepting = true;
  }

  async stop(): Promise<void> {
    this.#accepting = false;
  }

  /** The address of a transform (after `register`). */
  address(namespace: string, name: string): string {
    if (!this.#ctx) throw new SluiceError('SLUICE_NOT_READY', 'the transform component is not registered yet');
    return transformUrl(this.#ctx.url, namespace, name);
  }

  async #serve(req: IncomingMessage, res: ServerResponse, rest: readonly string[]): Promise<void> {
    const t = addressableTarget(req, res, rest, this.#route);
    if (!t) return;
    // Knative's authentication-oidc feature: a token for the transform's audience, then its policies or the default mode.
    const authorize = await authorizeRequest(req, res, this.#ctx!.authorizeIngress, t.authTarget);
    if (authorize === undefined) return;
    try {
      const events = decodeHttp(req.headers, await readBody(req, this.#ctx!.maxBodyBytes));
      if (events.length !== 1) throw new SluiceError('SLUICE_EVENT_INVALID', `an EventTransform takes one event per request, got a batch of ${events.length}`);
      authorize(events);
      const transformed = resultToEvent(await t.expression.evaluate(eventToJson(events[0]!)), 'the expression');
      if (t.sinkUrl === undefined) {
        const out = encodeStructured(transformed);
        res.writeHead(200, { ...out.headers, 'content-length': out.body.length });
        res.end(out.body);
        return;
      }
      await this.#forward(t, t.sinkUrl, transformed, res);
    } catch (err) {
      if (isSluiceError(err)) {
        // Failures of the transform itself are 500s, as in Knative (ERROR_CODES).
        if (errorStatus(err.code) >= 500) this.#ctx!.logger.warn({ eventTransform: t.key, code: err.code, err }, 'transform failed');
        sendError(res, err.code, err.message);
      } else {
        sendError(res, 'SLUICE_INTERNAL', (err as Error).message);
      }
    }
  }

  async #forward(t: Running, sinkUrl: string, event: CloudEvent, res: ServerResponse): Promise<void> {
    const answer = await this.#ctx!.sender.send(sinkUrl, event, { timeoutMs: this.#options.sinkTimeoutMs ?? 30_000, format: 'json', oidc: t.sinkOidc });
    if (!answer.ok) throw new SluiceError('SLUICE_TRANSFORM_SINK_UNREACHABLE', `sink ${sinkUrl}: ${answer.error.message}`);
    const reply = t.transform.spec.reply;
    const success = answer.status >= 200 && answer.status < 300;
    if (reply?.discard === true) {
      res.writeHead(answer.status, { 'content-length': 0 });
      res.end();
      return;
    }
    if (t.replyExpression && success && answer.body.length > 0) {
      const replied = resultToEvent(await t.replyExpression.evaluate(replyInput(answer.headers, answer.body)), 'the reply expression');
      const out = encodeStructured(replied);
      res.writeHead(answer.status, { ...out.headers, 'content-length': out.body.length });
      res.end(out.body);
      return;
    }
    // The sink's answer as it is: status, body, its event (binary headers included) and its retry hint.
    const headers: Record<string, string> = { 'content-length': String(answer.body.length) };
    for (const [k, v] of Object.entries(answer.headers)) {
      const value = first(v);
      if (value !== undefined && (k === 'content-type' || k === 'retry-after' || k.startsWith('ce-'))) headers[k] = value;
    }
    res.writeHead(answer.status, headers);
    res.end(answer.body);
  }
}
