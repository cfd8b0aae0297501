import { createHash, randomUUID, timingSafeEqual } from 'node:crypto';
import type { IncomingMessage, ServerResponse } from 'node:http';
import {
  DEFAULT_NAMESPACE,
  noopLogger,
  SluiceError,
  validateEvent,
  type CloudEvent,
  type GitHubSource,
  type GitHubSourceSpec,
  type GitLabSource,
  type GitLabSourceSpec,
  type Logger,
  type SecretValueFromSource,
} from '@sluice/core';
import { SecretStore } from '@sluice/config';
import { refuse, type RuntimeComponent, type RuntimeContext, sendError } from '@sluice/broker';
import { applyCeOverrides } from './ce-overrides.js';
import { GITLAB_EVENTS, githubSubjectAndExtensions, gitlabEventSource } from './forge-events.js';
import { verifyGithubSignature } from './signature.js';
import type { SinkDelivery } from './sink-delivery.js';
import type { SpecProblem } from './spec-problem.js';
import { DEFAULT_WEBHOOK_MAX_BODY_BYTES, WebhookRouter, maxBodyBytesOf, readWebhookBody, webhookSink } from './webhook-source.js';

export type { GitHubSourceSpec, GitLabSourceSpec };

/** A `secretKeyRef` holder, as both forge sources spell secrets. */
export type ForgeSecretValue = SecretValueFromSource;

/** A GitHubSource or GitLabSource document. */
export type ForgeSource = GitHubSource | GitLabSource;

/** First path segment of GitHubSource and GitLabSource webhook URLs. */
export const FORGE_ROUTES = { GitHubSource: 'github', GitLabSource: 'gitlab' } as const;

/** Prefix of GitHubSource event types, e.g. `dev.knative.source.github.push`. */
export const GITHUB_TYPE_PREFIX = 'dev.knative.source.github.';
/** Prefix of GitLabSource event types, e.g. `dev.knative.sources.gitlabsource.Push Hook` (the header value, as Knative). */
export const GITLAB_TYPE_PREFIX = 'dev.knative.sources.gitlabsource.';

/** The fields Sluice does not act on because it does not register the webhook with the forge. */
const REGISTRATION_FIELDS = { GitHubSource: ['accessToken', 'githubAPIURL', 'secure', 'serviceAccountName'], GitLabSource: ['accessToken', 'sslverify', 'serviceAccountName'] } as const;

/** Checks of a forge source beyond the schema: its secret token resolves, GitLab event types are known. */
export function checkForgeSource(src: ForgeSource, namespace: string, secrets: SecretStore): SpecProblem[] {
  const problems: SpecProblem[] = [];
  const ref = src.spec.secretToken.secretKeyRef;
  if (ref === undefined) problems.push({ path: ['spec', 'secretToken'], message: 'secretToken needs a secretKeyRef (the webhook secret)' });
  else {
    const r = secrets.lookup(namespace, ref);
    if (!r.ok) problems.push({ path: ['spec', 'secretToken', 'secretKeyRef'], message: r.message, code: 'SLUICE_CONFIG_SECRET' });
    else if (r.value === undefined || r.value === '') problems.push({ path: ['spec', 'secretToken', 'secretKeyRef'], message: 'the secret token is empty', code: 'SLUICE_CONFIG_SECRET' });
  }
  if (src.kind === 'GitLabSource') {
    const known = new Set(Object.values(GITLAB_EVENTS));
    src.spec.eventTypes.forEach((t, i) => {
      if (!known.has(t)) problems.push({ path: ['spec', 'eventTypes', i], message: `GitLab event "${t}" is not one Knative's GitLabSource delivers (${[...known].join(', ')})` });
    });
  }
  return problems;
}

function first(req: IncomingMessage, name: string): string | undefined {
  const v = req.headers[name];
  return Array.isArray(v) ? v[0] : v;
}

/** Collaborators of {@link ForgeSourceComponent}. */
export interface ForgeSourceDeps {
  readonly secrets?: SecretStore;
  readonly newId?: () => string;
}

/**
 * One GitHubSource or GitLabSource inside `sluice run`: the forge posts its webhooks to
 * `/github/{namespace}/{name}` or `/gitlab/{namespace}/{name}` on Sluice's port; the request is verified with the
 * secret token (GitHub: `X-Hub-Signature-256` HMAC-SHA256 over the raw body; GitLab: `X-Gitlab-Token`, compared in
 * constant time), turned into the CloudEvent Knative's adapter produces, and answered 202 once the sink accepted it.
 * Registering the webhook at the forge is left to the user: Sluice never calls the forge's API.
 */
export class ForgeSourceComponent implements RuntimeComponent {
  readonly name: string;
  readonly #src: ForgeSource;
  readonly #router: WebhookRouter;
  readonly #deps: ForgeSourceDeps;
  readonly #ns: string;
  #logger: Logger = noopLogger;
  #sink: SinkDelivery | undefined;
  #secret: Buffer = Buffer.alloc(0);
  #maxBody = DEFAULT_WEBHOOK_MAX_BODY_BYTES;
  #stopped = false;
  #now: () => number = Date.now;

  constructor(src: ForgeSource, router: WebhookRouter, deps: ForgeSourceDeps = {}) {
    this.#ns = src.metadata.namespace ?? DEFAULT_NAMESPACE;
    this.name = `${src.kind} ${this.#ns}/${src.metadata.name}`;
    this.#src = src;
    this.#router = router;
    this.#deps = deps;
  }

  async start(ctx: RuntimeContext): Promise<void> {
    this.#logger = ctx.logger.child({ source: this.name });
    this.#now = ctx.now;
    const ref = this.#src.spec.secretToken.secretKeyRef;
    const r = ref ? (this.#deps.secrets ?? new SecretStore()).lookup(this.#ns, ref) : undefined;
    if (!r?.ok || !r.value) throw new SluiceError('SLUICE_SOURCE_SECRET_UNAVAILABLE', `${this.name}: the secret token cannot be read${r && !r.ok ? `: ${r.message}` : ''}`);
    this.#secret = Buffer.from(r.value, 'utf8');
    this.#maxBody = maxBodyBytesOf(this.#src.metadata);
    const sinkUrl = ctx.resolver.resolve(this.#src.spec.sink, this.#ns);
    this.#sink = webhookSink(ctx, this.#src, this.#src.spec.sink, sinkUrl, this.#logger);
    this.#router.attach(ctx, this.#ns, this.#src.metadata.name, (req, res) => {
      this.#handle(req, res).catch((err: unknown) => {
        this.#logger.error({ err }, 'webhook handler failed');
        sendError(res, 'SLUICE_INTERNAL', 'internal error');
      });
    });
    const spec: Readonly<Record<string, unknown>> = this.#src.spec;
    const unused = REGISTRATION_FIELDS[this.#src.kind].filter((f) => spec[f] !== undefined);
    const url = `${ctx.url}/${FORGE_ROUTES[this.#src.kind]}/${this.#ns}/${this.#src.metadata.name}`;
    ctx.reportStatus(this.#src.kind, this.#ns, this.#src.metadata.name, [{ type: 'Ready', status: 'True' }], { sinkUri: sinkUrl, webhookUrl: url });
    this.#logger.info({ url, sink: sinkUrl, eventTypes: this.#src.spec.eventTypes }, 'forge webhook listening');
    if (unused.length > 0) {
      this.#logger.warn({ fields: unused, url }, `Sluice does not register webhooks with the forge: ${unused.join(', ')} unused; add a webhook for ${url} with the secret token yourself`);
    }
  }

  async stop(): Promise<void> {
    this.#stopped = true;
  }

  #verify(req: IncomingMessage, body: Buffer): string | undefined {
    if (this.#src.kind === 'GitHubSource') {
      if (first(req, 'x-hub-signature-256') === undefined && first(req, 'x-hub-signature') !== undefined) return 'only X-Hub-Signature-256 (HMAC-SHA256) is accepted, not the SHA-1 X-Hub-Signature';
      const check = verifyGithubSignature(this.#secret.toString('utf8'), body, first(req, 'x-hub-signature-256'));
      return check.ok ? undefined : check.reason;
    }
    const token = first(req, 'x-gitlab-token');
    if (token === undefined) return 'missing X-Gitlab-Token header';
    // Digests make the comparison constant-time whatever the lengths.
    const same = timingSafeEqual(createHash('sha256').update(token).digest(), createHash('sha256').update(this.#secret).digest());
    return same ? undefined : 'X-Gitlab-Token does not match the secret token';
  }

  #event(req: IncomingMessage, body: Buffer): { event?: CloudEvent; ignore?: string; error?: string } {
    let payload: unknown;
    try {
      payload = JSON.parse(body.toString('utf8'));
    } catch (err) {
      return { error: `the payload is not JSON: ${(err as Error).message}` };
    }
    const attributes: CloudEvent['attributes'] = { specversion: '1.0', time: new Date(this.#now()).toISOString(), datacontenttype: 'application/json' };
    if (this.#src.kind === 'GitHubSource') {
      const kind = first(req, 'x-github-event');
      if (!kind) return { error: 'X-GitHub-Event header is not set' };
      const id = first(req, 'x-github-delivery');
      if (!id) return { error: 'X-GitHub-Delivery header is not set' };
      if (kind !== 'ping' && !(this.#src.spec.eventTypes as readonly string[]).includes(kind)) return { ignore: `event ${kind} is not in spec.eventTypes` };
      const mapped = githubSubjectAndExtensions(kind, payload);
      if (!mapped) return { error: `unsupported github event type ${kind}` };
      Object.assign(attributes, mapped.extensions, { id, type: GITHUB_TYPE_PREFIX + kind, source: `https://github.com/${this.#src.spec.ownerAndRepository}`, subject: mapped.subject });
    } else {
      const kind = first(req, 'x-gitlab-event');
      if (!kind) return { error: 'X-Gitlab-Event header is not set' };
      const attribute = GITLAB_EVENTS[kind];
      if (attribute === undefined || !this.#src.spec.eventTypes.includes(attribute)) return { ignore: 'event not registered' };
      const source = gitlabEventSource(kind, payload);
      if (!source) return { error: `the ${kind} payload has no URL to use as the event source` };
      Object.assign(attributes, { id: (this.#deps.newId ?? randomUUID)(), type: GITLAB_TYPE_PREFIX + kind, source });
    }
    return { event: applyCeOverrides({ attributes, data: body }, this.#src.spec.ceOverrides) };
  }

  async #handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    if (req.method !== 'POST') {
      refuse(req, res, 'SLUICE_METHOD_NOT_ALLOWED', `method ${req.method} not allowed; use POST`, { allow: 'POST' });
      return;
    }
    if (this.#stopped) {
      refuse(req, res, 'SLUICE_NOT_READY', 'the source is stopping');
      return;
    }
    const body = await readWebhookBody(req, res, this.#maxBody);
    if (body === undefined) return;
    const bad = this.#verify(req, body);
    if (bad !== undefined) {
      // 400 as Knative's adapters answer a payload that fails validation (so SLUICE_WEBHOOK_INVALID, not the WebhookSource's
      // 401 SLUICE_WEBHOOK_SIGNATURE_INVALID); the token itself is never logged.
      this.#logger.warn({ remote: req.socket.remoteAddress, reason: bad }, 'webhook rejected: secret token check failed');
      sendError(res, 'SLUICE_WEBHOOK_INVALID', bad);
      return;
    }
    const { event, ignore, error } = this.#event(req, body);
    if (ignore !== undefined) {
      res.writeHead(200, { 'content-type': 'text/plain' });
      res.end(ignore);
      return;
    }
    if (error !== undefined || !event) {
      sendError(res, 'SLUICE_WEBHOOK_INVALID', error ?? 'invalid webhook');
      return;
    }
    try {
      validateEvent(event);
    } catch (err) {
      sendError(res, 'SLUICE_EVENT_INVALID', `cannot make a valid CloudEvent from this webhook: ${(err as Error).message}`);
      return;
    }
    const result = await this.#sink!.deliver(event);
    if (result.kind === 'accepted') {
      res.writeHead(202, { 'content-type': 'text/plain' });
      res.end('accepted');
      return;
    }
    if (result.retryable) sendError(res, 'SLUICE_SINK_UNAVAILABLE', 'the event could not be delivered; retry later');
    else sendError(res, 'SLUICE_SINK_REFUSED', 'the sink refused the event');
  }
}
