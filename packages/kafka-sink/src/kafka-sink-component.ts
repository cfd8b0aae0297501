import type { IncomingMessage, ServerResponse } from 'node:http';
import { DEFAULT_NAMESPACE, decodeHttp, isSluiceError, oidcAudience, SluiceError, trueCondition } from '@sluice/core';
import { SecretStore } from '@sluice/config';
import { addressableTarget, authorizeRequest, readBody, sendError, type AddressableRoute } from '@sluice/broker';
import { bootstrapBrokers, kafkajsLibrary, type IngressAuthTarget, type RuntimeComponent, type RuntimeContext } from '@sluice/plugin';
import { resolveSinkAuth } from './auth.js';
import { eventToRecord } from './record.js';
import { KAFKA_SINK_ROUTE, kafkaSinkUrl, type KafkaSink } from './resources.js';
import { SinkProducer, type SinkProducerOptions } from './sink-producer.js';

/** Collaborators of {@link KafkaSinkComponent}. */
export interface KafkaSinkDeps {
  readonly secrets?: SecretStore;
  /** Tuning passed to every producer. */
  readonly producer?: Pick<SinkProducerOptions, 'produceTimeoutMs' | 'maxPending' | 'maxInFlight'>;
}

interface Running {
  readonly sink: KafkaSink;
  readonly key: string;
  readonly producer: SinkProducer;
  /** Who its ingress authorizes requests as, with authentication-oidc on (Knative's KafkaSink takes EventPolicies). */
  readonly authTarget: IngressAuthTarget;
}

/**
 * Every KafkaSink of a configuration, at `/kafkasinks/{namespace}/{name}` on the runtime's port: each accepted event
 * is one record on the sink's topic, and the 202 is sent only after Kafka acknowledged it with `acks=all`. Failures
 * answer 503 with Retry-After and nothing the client can rely on changes (it retries; at-least-once).
 *
 * At start the topic is created when `numPartitions` or `replicationFactor` is set (an existing topic is used as it
 * is), otherwise it must exist — Knative's rule; a missing topic stops `sluice run` with its name.
 */
export class KafkaSinkComponent implements RuntimeComponent {
  readonly name: string;
  readonly #byKey = new Map<string, Running>();
  /** Its addressable route `/{route}/{namespace}/{name}`; built once, not per request. */
  readonly #route: AddressableRoute<Running> = {
    route: KAFKA_SINK_ROUTE,
    kind: 'KafkaSink',
    notFoundCode: 'SLUICE_KAFKA_SINK_NOT_FOUND',
    lookup: (namespace, name) => this.#byKey.get(`${namespace}/${name}`),
    accepting: () => this.#accepting,
  };
  #ctx: RuntimeContext | undefined;
  #accepting = false;

  readonly #sinks: readonly KafkaSink[];
  readonly #deps: KafkaSinkDeps;

  constructor(sinks: readonly KafkaSink[], deps: KafkaSinkDeps = {}) {
    this.name = `Kafka sinks (${sinks.length})`;
    this.#sinks = sinks;
    this.#deps = deps;
  }

  async register(ctx: RuntimeContext): Promise<void> {
    if (this.#ctx) return;
    this.#ctx = ctx;
    for (const sink of this.#sinks) {
      const ns = sink.metadata.namespace ?? DEFAULT_NAMESPACE;
      const key = `${ns}/${sink.metadata.name}`;
      const secretName = sink.spec.auth?.secret?.ref?.name;
      const auth = secretName === undefined ? undefined : resolveSinkAuth(ns, secretName, this.#deps.secrets ?? new SecretStore());
      if (auth && auth.problems.length > 0) throw new SluiceError('SLUICE_CONFIG_KAFKA_AUTH', `KafkaSink ${key}: ${auth.problems.join('; ')}`);
      const producer = new SinkProducer({
        ...this.#deps.producer,
        kafkajs: await kafkajsLibrary(`KafkaSink ${key}`),
        brokers: bootstrapBrokers(sink.spec.bootstrapServers),
        topic: sink.spec.topic,
        logger: ctx.logger.child({ kafkaSink: key }),
        ssl: auth?.ssl,
        sasl: auth?.sasl,
      });
      const authTarget: IngressAuthTarget = {
        kinds: [{ group: 'eventing.knative.dev', kind: 'KafkaSink' }],
        namespace: ns,
        name: sink.metadata.name,
        labels: sink.metadata.labels ?? {},
        audiences: [oidcAudience('eventing.knative.dev', 'KafkaSink', ns, sink.metadata.name)],
      };
      this.#byKey.set(key, { sink, key, producer, authTarget });
    }
    ctx.resolver.register('KafkaSink', (namespace, name) => kafkaSinkUrl(ctx.url, namespace, name));
    ctx.route(KAFKA_SINK_ROUTE, (req, res, rest) => void this.#serve(req, res, rest));
  }

  async start(ctx: RuntimeContext): Promise<void> {
    await this.register(ctx);
    for (const r of this.#byKey.values()) {
      await this.#ensureTopic(r);
      await r.producer.connect();
      const ns = r.sink.metadata.namespace ?? DEFAULT_NAMESPACE;
      const address = kafkaSinkUrl(ctx.url, ns, r.sink.metadata.name);
      // With authentication-oidc on, its audience and policies as Knative's KafkaSink reports them.
      const policies = ctx.ingressPolicyStatus?.(r.authTarget);
      ctx.reportStatus('KafkaSink', ns, r.sink.metadata.name, [trueCondition('TopicReady'), trueCondition('Ready'), ...(policies ? [policies.condition] : [])], {
        address: { url: address, ...(policies ? { audience: r.authTarget.audiences[0] } : {}) },
        ...(policies && policies.policies.length > 0 ? { policies: policies.policies } : {}),
      });
      ctx.logger.info({ kafkaSink: r.key, address, topic: r.sink.spec.topic, contentMode: r.sink.spec.contentMode ?? 'binary' }, 'Kafka sink ready');
    }
    this.#accepting = true;
  }

  async stop(): Promise<void> {
    this.#accepting = false;
    await Promise.all([...this.#byKey.values()].map((r) => r.producer.close()));
  }

  async #ensureTopic(r: Running): Promise<void> {
    const { topic, numPartitions, replicationFactor } = r.sink.spec;
    const admin = r.producer.kafka.admin();
    try {
      await admin.connect();
    } catch (err) {
      throw new SluiceError('SLUICE_KAFKA_SINK_UNAVAILABLE', `KafkaSink ${r.key}: cannot reach Kafka at ${r.sink.spec.bootstrapServers.join(',')}: ${(err as Error).message}`);
    }
    try {
      const exists = (await admin.listTopics()).includes(topic);
      if (exists) return;
      if (numPartitions === undefined && replicationFactor === undefined) {
        throw new SluiceError('SLUICE_KAFKA_SINK_TOPIC_MISSING', `KafkaSink ${r.key}: topic "${topic}" does not exist (set numPartitions/replicationFactor to have it created)`);
      }
      // An unset value takes the cluster's default (-1), as Kafka's CreateTopics API allows.
      await admin.createTopics({ waitForLeaders: true, topics: [{ topic, numPartitions: numPartitions ?? -1, replicationFactor: replicationFactor ?? -1 }] });
      this.#ctx!.logger.info({ kafkaSink: r.key, topic, numPartitions, replicationFactor }, 'Kafka sink topic created');
    } catch (err) {
      if (isSluiceError(err)) throw err;
      throw new SluiceError('SLUICE_KAFKA_SINK_TOPIC', `KafkaSink ${r.key}: cannot create topic "${topic}": ${(err as Error).message}`);
    } finally {
      await admin.disconnect().catch(() => undefined);
    }
  }

  async #serve(req: IncomingMessage, res: ServerResponse, rest: readonly string[]): Promise<void> {
    const r = addressableTarget(req, res, rest, this.#route);
    if (!r) return;
    const authorize = await authorizeRequest(req, res, this.#ctx!.authorizeIngress, r.authTarget);
    if (authorize === undefined) return;
    try {
      const events = decodeHttp(req.headers, await readBody(req, this.#ctx!.maxBodyBytes));
      authorize(events);
      const mode = r.sink.spec.contentMode ?? 'binary';
      await Promise.all(events.map((e) => r.producer.send(eventToRecord(e, mode))));
      res.writeHead(202, { 'content-length': 0 });
      res.end();
    } catch (err) {
      if (isSluiceError(err)) sendError(res, err.code, err.message);
      else sendError(res, 'SLUICE_INTERNAL', (err as Error).message);
    }
  }
}
