import { DEFAULT_NAMESPACE, parseLogName, resolveDelivery, sleep as realSleep, type CloudEvent, type DeliveryPolicy, type Logger, type Sleep } from '@sluice/core';
import { deadLetterEvent, deliverWithRetries, type EventSender, type OidcTarget } from '@sluice/delivery';
import type { DeadLetter, DeadLetterStore } from '@sluice/store';

/** Extension a replayed event carries: how many times it has been replayed (1 for the first replay). */
export const REPLAY_EXTENSION = 'sluicereplay';

/** Attributes a dead letter carries because its delivery failed; a replay sends the event without them. */
const ERROR_EXTENSIONS = ['knativeerrordest', 'knativeerrorcode', 'knativeerrordata'];

/** Where a dead letter of a consumer group goes when replayed, and what to do with a reply. */
export interface ReplayTarget {
  readonly url: string;
  /** The subscriber's audience and the trigger's identity, for an OIDC token. */
  readonly oidc?: OidcTarget | undefined;
  readonly policy: DeliveryPolicy;
  readonly namespace: string;
  /** Takes a subscriber's reply (a Trigger stores it in its broker); a rejection fails the replay. */
  readonly handleReply?: (reply: CloudEvent) => Promise<void>;
}

/** Collaborators of {@link replayDeadLetters}. */
export interface ReplayDeps {
  readonly store: DeadLetterStore;
  readonly sender: EventSender;
  /** The target of a consumer group, or undefined when the trigger no longer exists. */
  readonly targetOf: (group: string) => ReplayTarget | undefined;
  readonly now: () => number;
  readonly logger: Logger;
  /** Waits between replays (rate bound); injected by unit tests. */
  readonly sleep?: Sleep;
}

/** What a replay did. */
export interface ReplayOutcome {
  readonly replayed: number;
  readonly failed: number;
  readonly skipped: number;
}

/** The event as the subscriber first got it, marked as a replay. */
export function replayEvent(letter: DeadLetter): CloudEvent {
  const attributes: CloudEvent['attributes'] = { ...letter.event.attributes, [REPLAY_EXTENSION]: letter.replays + 1 };
  for (const k of ERROR_EXTENSIONS) delete attributes[k];
  return { attributes, data: letter.event.data };
}

/**
 * Replays dead letters of log `log` one at a time, at most `rate` per second: each goes to `to` or to its trigger's
 * subscriber with the trigger's retry policy (in memory), marked with {@link REPLAY_EXTENSION}. A delivered letter is
 * removed from the store; one that fails again goes back to the store with the new error, attempts added and its
 * replay count raised, and is not tried again in this replay (no loop). A letter is removed only after its delivery
 * succeeded, so a crash during a replay loses nothing and at most delivers one letter twice.
 */
export async function replayDeadLetters(deps: ReplayDeps, log: string, ids: readonly number[], options: { readonly to?: string; readonly rate: number }): Promise<ReplayOutcome> {
  const sleep = deps.sleep ?? realSleep;
  const interval = 1000 / options.rate;
  let replayed = 0;
  let failed = 0;
  let skipped = 0;
  let nextStart = deps.now();
  for (const id of ids) {
    const letter = deps.store.getDeadLetter(log, id);
    if (!letter) continue; // purged or replayed by someone else meanwhile
    const target = deps.targetOf(letter.group);
    const url = options.to ?? target?.url;
    if (url === undefined) {
      skipped++;
      continue;
    }
    const wait = nextStart - deps.now();
    if (wait > 0) await sleep(wait);
    nextStart = Math.max(nextStart, deps.now()) + interval;
    const policy = target?.policy ?? resolveDelivery(undefined, undefined).policy;
    const event = replayEvent(letter);
    const namespace = target?.namespace ?? parseLogName(letter.group)?.namespace ?? DEFAULT_NAMESPACE;
    const { outcome, attempts } = await deliverWithRetries(
      deps.sender,
      {
        url,
        expectReply: options.to === undefined,
        headers: { 'kn-namespace': namespace, ...(options.to === undefined ? { prefer: 'reply' } : {}) },
        oidc: options.to === undefined ? target?.oidc : undefined,
      },
      event,
      policy,
      { sleep, now: deps.now },
    );
    let result = outcome;
    if (outcome.kind === 'success' && outcome.reply && target?.handleReply) {
      try {
        await target.handleReply(outcome.reply);
      } catch (err) {
        result = { kind: 'retry', status: undefined, body: Buffer.from((err as Error).message), reason: 'reply rejected', retryAfterMs: undefined };
      }
    }
    if (result.kind === 'success') {
      await deps.store.removeDeadLetters(log, [id]);
      replayed++;
      continue;
    }
    failed++;
    const original: CloudEvent = { attributes: { ...letter.event.attributes }, data: letter.event.data };
    for (const k of ERROR_EXTENSIONS) delete original.attributes[k];
    await deps.store.returnDeadLetter(log, id, {
      event: deadLetterEvent(original, url, result),
      reason: `replay: ${result.reason}`,
      attempts: letter.attempts + attempts,
      firstAttemptAt: letter.firstAttemptAt,
      lastAttemptAt: deps.now(),
    });
    deps.logger.warn({ log, deadLetter: id, ceId: letter.event.attributes['id'], url, reason: result.reason }, 'replayed dead letter failed again: back in the dead-letter store');
  }
  return { replayed, failed, skipped };
}
