import type { ClientConfig, Message, PubSub, Subscription } from '@google-cloud/pubsub';
import { Backoff, DEFAULT_NAMESPACE, SluiceError, lazyLibrary, sleep, noopLogger, toDeliveryPolicy, type Logger } from '@sluice/core';
import type { RuntimeComponent, RuntimeContext } from '@sluice/plugin';
import { applyCeOverrides, SinkDelivery, sourceMetrics, sourceOidc, formatProblem } from '@sluice/sources';
import { messageToEvent } from './message-event.js';
import { resolveSettings, subscriptionId, type PubSubSettings } from './pubsub-settings.js';
import type { CloudPubSubSource } from './pubsub-source-types.js';
import { SecretStore } from '@sluice/config';

/** Collaborators and tuning of {@link CloudPubSubSourceComponent}; production defaults when unset. */
export interface CloudPubSubSourceDeps {
  /** Builds the Pub/Sub client. */
  readonly pubsub?: (config: ClientConfig) => PubSub;
  /** Resolves the `secret`; default: no Secret documents, `$SLUICE_SECRETS_DIR`. */
  readonly secrets?: SecretStore;
  readonly env?: NodeJS.ProcessEnv;
  /** Messages held at once (Pub/Sub flow control; default 1000). */
  readonly maxMessages?: number;
  /** Wait before a message the sink did not take is nacked (redelivered): first and longest; default 1 s, 60 s. */
  readonly nackDelayMs?: { readonly initial: number; readonly max: number };
  /** How long `start` waits for the subscription before going on in the background (default 15 s). */
  readonly readyTimeoutMs?: number;
}

// @google-cloud/pubsub and its stack (google-gax, @grpc/grpc-js, protobufjs, google-auth-library: some 400 modules)
// load with the first CloudPubSubSource that starts, never for a configuration without one.
const pubsubLibrary = lazyLibrary('@google-cloud/pubsub', () => import('@google-cloud/pubsub'));

async function defaultPubSub(user: string): Promise<(config: ClientConfig) => PubSub> {
  const { PubSub: Client } = await pubsubLibrary(user);
  return (config) => new Client(config);
}

/**
 * Default of {@link CloudPubSubSourceDeps.maxMessages}: the Go client's `MaxOutstandingMessages`, which knative-gcp's
 * adapter runs with. Throughput is latency-bound (messages in flight / round trip), so far fewer starves the source.
 */
export const DEFAULT_MAX_MESSAGES = 1000;

/**
 * Runs one CloudPubSubSource inside `sluice run`: creates (or reuses) the subscription `sluice_<namespace>_<name>` on
 * the topic, streams it with flow control, turns each message into a `messagePublished` event and acks it only once
 * the sink accepted it. A message the sink did not take is nacked after a growing delay, so Pub/Sub redelivers it
 * without the source hammering a sink that is down; nothing is acked that was not delivered.
 */
export class CloudPubSubSourceComponent implements RuntimeComponent {
  readonly name: string;
  readonly #source: CloudPubSubSource;
  readonly #deps: CloudPubSubSourceDeps;
  readonly #namespace: string;
  readonly #subscriptionId: string;
  readonly #abort = new AbortController();
  readonly #inFlight = new Set<Promise<void>>();
  readonly #background = new Set<Promise<void>>();
  #settings: PubSubSettings | undefined;
  #client: PubSub | undefined;
  #subscription: Subscription | undefined;
  #sink: SinkDelivery | undefined;
  #logger: Logger = noopLogger;
  /** Failed deliveries per message id, for the nack delay (bounded; a forgotten count only shortens a wait). */
  readonly #failures = new Map<string, number>();
  #onReady: (() => void) | undefined;

  constructor(source: CloudPubSubSource, deps: CloudPubSubSourceDeps = {}) {
    this.#namespace = source.metadata.namespace ?? DEFAULT_NAMESPACE;
    this.name = `CloudPubSubSource ${this.#namespace}/${source.metadata.name}`;
    this.#source = source;
    this.#deps = deps;
    this.#subscriptionId = subscriptionId(this.#namespace, source.metadata.name);
  }

  /** The ID of the subscription this source reads. */
  get subscriptionId(): string {
    return this.#subscriptionId;
  }

  async start(ctx: RuntimeContext): Promise<void> {
    const spec = this.#source.spec;
    this.#logger = ctx.logger.child({ source: this.name });
    const { settings, problems } = resolveSettings(spec, this.#namespace, this.#deps.secrets ?? new SecretStore(), this.#deps.env ?? process.env);
    if (!settings) throw new SluiceError('SLUICE_PUBSUB_SOURCE_CONFIG', `${this.name}: ${problems.map(formatProblem).join('; ')}`);
    this.#settings = settings;
    if (spec.serviceAccountName !== undefined) {
      this.#logger.info({ serviceAccountName: spec.serviceAccountName }, 'serviceAccountName is ignored outside Kubernetes (credentials come from spec.secret or Application Default Credentials)');
    }
    // CloudPubSubSource has no delivery spec: one attempt per delivery with Sluice's default timeout; Pub/Sub's
    // redelivery is the retry.
    this.#sink = new SinkDelivery({
      undelivered: 'keep',
      sender: ctx.sender,
      url: ctx.resolver.resolve(spec.sink, this.#namespace),
      policy: toDeliveryPolicy(undefined),
      namespace: this.#namespace,
      logger: this.#logger,
      now: ctx.now,
      oidc: sourceOidc(this.#source, spec.sink),
      metrics: sourceMetrics(ctx, this.#source, this.#namespace),
    });
    const pubsub = this.#deps.pubsub ?? (await defaultPubSub(this.name));
    if (this.#abort.signal.aborted) return; // stopped while the library loaded
    this.#client = pubsub(settings.client);
    const ready = new Promise<'ready'>((resolve) => (this.#onReady = () => resolve('ready')));
    this.#track(this.#run());
    const timeout = new Promise<'timeout'>((resolve) => setTimeout(() => resolve('timeout'), this.#deps.readyTimeoutMs ?? 15_000).unref());
    if ((await Promise.race([ready, timeout])) === 'timeout') {
      this.#logger.warn({ topic: spec.topic, project: settings.projectId }, 'pubsub source is not subscribed yet; it keeps trying in the background');
    }
  }

  #track(p: Promise<void>): void {
    this.#background.add(p);
    void p.finally(() => this.#background.delete(p));
  }

  // Ensures the subscription and streams it; starts over (with growing waits) when either fails.
  async #run(): Promise<void> {
    const backoff = new Backoff();
    while (!this.#abort.signal.aborted) {
      try {
        const sub = await this.#ensureSubscription();
        let fail: (err: Error) => void = () => undefined;
        const failed = new Promise<Error>((resolve) => (fail = resolve));
        // Always listening: an 'error' without a listener would crash the process.
        sub.on('error', (err: Error) => fail(err));
        sub.on('message', (m: Message) => this.#receive(m));
        this.#subscription = sub;
        this.#logger.info({ subscription: sub.name, sink: this.#sink!.url }, 'pubsub source consuming');
        this.#onReady?.();
        backoff.reset();
        const stopped = new Promise<undefined>((resolve) => this.#abort.signal.addEventListener('abort', () => resolve(undefined), { once: true }));
        const err = await Promise.race([failed, stopped]);
        if (err === undefined) return;
        this.#logger.error({ err }, 'pubsub subscription failed; reconnecting');
        sub.removeAllListeners('message');
        await sub.close().catch(() => undefined);
      } catch (err) {
        if (this.#abort.signal.aborted) return;
        this.#logger.error({ err, retryInMs: backoff.peek() }, 'pubsub source cannot subscribe');
      }
      await sleep(backoff.next(), this.#abort.signal);
    }
  }

  // Creates the subscription, or brings an existing one in line with the spec.
  async #ensureSubscription(): Promise<Subscription> {
    const settings = this.#settings!;
    const client = this.#client!;
    const topic = client.topic(this.#source.spec.topic);
    const metadata = {
      ackDeadlineSeconds: settings.ackDeadlineSeconds,
      retainAckedMessages: settings.retainAckedMessages,
      messageRetentionDuration: { seconds: settings.retentionSeconds },
    };
    const options = { flowControl: { maxMessages: this.#deps.maxMessages ?? DEFAULT_MAX_MESSAGES, allowExcessMessages: false } };
    let sub = topic.subscription(this.#subscriptionId, options);
    const [exists] = await sub.exists();
    if (exists) {
      const [current] = await sub.getMetadata();
      if (current.topic !== topic.name) {
        // The subscription is Sluice's own (by its name): a source whose topic changed starts over on the new topic.
        this.#logger.warn({ subscription: sub.name, was: current.topic, now: topic.name }, 'subscription belongs to another topic: recreating it');
        await sub.delete();
      } else {
        const retention = Number(current.messageRetentionDuration?.seconds ?? 0);
        if (
          current.ackDeadlineSeconds !== metadata.ackDeadlineSeconds ||
          Boolean(current.retainAckedMessages) !== metadata.retainAckedMessages ||
          retention !== metadata.messageRetentionDuration.seconds
        ) {
          await sub.setMetadata(metadata).catch((err: unknown) => this.#logger.warn({ err }, 'cannot update the subscription settings; keeping the existing ones'));
        }
        return sub;
      }
    }
    [sub] = await topic.createSubscription(this.#subscriptionId, { ...metadata, ...options });
    this.#logger.info({ subscription: sub.name }, 'subscription created');
    return sub;
  }

  #receive(message: Message): void {
    if (this.#abort.signal.aborted) {
      message.nack();
      return;
    }
    const p = this.#deliver(message);
    this.#inFlight.add(p);
    void p.finally(() => this.#inFlight.delete(p));
  }

  async #deliver(message: Message): Promise<void> {
    let taken: boolean;
    try {
      const event = messageToEvent(message, { project: this.#settings!.projectId, topic: this.#source.spec.topic, subscription: this.#subscriptionId });
      taken = (await this.#sink!.deliver(applyCeOverrides(event, this.#source.spec.ceOverrides), { signal: this.#abort.signal })).kind !== 'undelivered';
    } catch (err) {
      this.#logger.error({ messageId: message.id, err }, 'cannot handle message');
      taken = false;
    }
    if (taken) {
      message.ack();
      this.#failures.delete(message.id);
      return;
    }
    // Hold the message a while before handing it back (growing with its failures): the lease keeps it ours, and
    // flow control keeps the number of such messages bounded.
    const { initial, max } = this.#deps.nackDelayMs ?? { initial: 1000, max: 60_000 };
    const failures = (this.#failures.get(message.id) ?? 0) + 1;
    this.#failures.delete(message.id);
    if (this.#failures.size >= 10_000) this.#failures.delete(this.#failures.keys().next().value!);
    this.#failures.set(message.id, failures);
    await sleep(Math.min(initial * 2 ** Math.min(failures - 1, 30), max), this.#abort.signal);
    message.nack();
  }

  async stop(): Promise<void> {
    this.#abort.abort();
    // In-flight deliveries finish (retry waits end at once); their acks and nacks are flushed by close().
    await Promise.allSettled([...this.#inFlight]);
    if (this.#subscription) {
      this.#subscription.removeAllListeners('message');
      await this.#subscription.close().catch(() => undefined);
    }
    await Promise.allSettled([...this.#background]);
    await this.#client?.close().catch(() => undefined);
  }
}
