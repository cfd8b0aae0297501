import { sleep as realSleep, type CloudEvent, type DeliveryPolicy, type EventPredicate, type Logger, type Sleep } from '@sluice/core';
import { deadLetterEvent, deliverWithRetries, type EventSender, type OidcTarget } from '@sluice/delivery';
import type { ArchivedEvent, DeadLetterStore, EventArchive } from '@sluice/store';
import { withoutTtl } from './admission.js';
import { REPLAY_EXTENSION } from './dead-letter-replay.js';

/** A trigger an archive replay delivers to. */
export interface ArchiveReplayTarget {
  /** Consumer group, e.g. `trigger:default/orders` (dead letters of failed replays are kept under it). */
  readonly group: string;
  readonly url: string;
  /** The subscriber's audience and the trigger's identity, for an OIDC token. */
  readonly oidc?: OidcTarget | undefined;
  readonly policy: DeliveryPolicy;
  readonly namespace: string;
  /** The trigger's own filter. */
  readonly filter: EventPredicate;
}

/** Collaborators of {@link replayArchive}. */
export interface ArchiveReplayDeps {
  /** The archived events of the range, a page at a time ({@link syncArchivePages} for the embedded store). */
  readonly pages: AsyncIterable<readonly ArchivedEvent[]>;
  /** Where replays that fail are kept (as dead letters of their trigger); undefined = only counted and logged. */
  readonly deadLetters: DeadLetterStore | undefined;
  readonly sender: EventSender;
  readonly now: () => number;
  readonly logger: Logger;
  readonly sleep?: Sleep;
}

/** What an archive replay did. */
export interface ArchiveReplayReport {
  /** Archived events in the time range (that passed `filter`). */
  readonly events: number;
  /** Deliveries that succeeded. */
  readonly replayed: number;
  /** Deliveries that failed (kept as dead letters of their trigger). */
  readonly failed: number;
}

const PAGE = 500;

/**
 * Re-delivers archived events of `log` accepted in [from, to] to each target whose filter matches (and `filter`, when
 * given), one delivery at a time in log order — so in order per `partitionkey` — at most `rate` per second, each
 * marked with `sluicereplay: 1`. Live delivery goes on meanwhile (a replay reads the archive, not the log). Memory
 * holds one page of the archive, whatever its size. A delivery that fails after the trigger's retries is kept as a
 * dead letter of its trigger (reason `replay: …`), not retried again.
 */
export async function replayArchive(
  deps: ArchiveReplayDeps,
  log: string,
  options: { readonly from: number; readonly to: number; readonly targets: readonly ArchiveReplayTarget[]; readonly filter?: EventPredicate; readonly rate: number },
): Promise<ArchiveReplayReport> {
  const sleep = deps.sleep ?? realSleep;
  const interval = 1000 / options.rate;
  let nextStart = deps.now();
  let events = 0;
  let replayed = 0;
  let failed = 0;
  for await (const page of deps.pages) {
    for (const archived of page) {
      const { event: stored } = withoutTtl(archived.event);
      if (options.filter && !safe(options.filter, stored)) continue;
      events++;
      const event: CloudEvent = { attributes: { ...stored.attributes, [REPLAY_EXTENSION]: 1 }, data: stored.data };
      for (const t of options.targets) {
        if (!safe(t.filter, stored)) continue;
        const wait = nextStart - deps.now();
        if (wait > 0) await sleep(wait);
        nextStart = Math.max(nextStart, deps.now()) + interval;
        const first = deps.now();
        const { outcome, attempts } = await deliverWithRetries(deps.sender, { url: t.url, expectReply: false, headers: { 'kn-namespace': t.namespace }, oidc: t.oidc }, event, t.policy, {
          sleep,
          now: deps.now,
        });
        if (outcome.kind === 'success') {
          replayed++;
          continue;
        }
        failed++;
        deps.logger.warn({ log, trigger: t.group, ceId: stored.attributes['id'], reason: outcome.reason }, 'archive replay: delivery failed; kept as a dead letter');
        await deps.deadLetters?.putDeadLetters(log, t.group, [
          { event: deadLetterEvent(event, t.url, outcome), reason: `replay: ${outcome.reason}`, attempts, firstAttemptAt: first, lastAttemptAt: deps.now() },
        ]);
      }
    }
  }
  return { events, replayed, failed };
}

/** The pages of a synchronous archive (the embedded store), read one at a time as the replay goes. */
export async function* syncArchivePages(archive: EventArchive, log: string, range: { readonly from: number; readonly to: number }): AsyncGenerator<readonly ArchivedEvent[]> {
  for (let after = 0; ;) {
    const page = archive.readArchive(log, { from: range.from, to: range.to, afterSeq: after, limit: PAGE });
    if (page.length > 0) {
      after = page[page.length - 1]!.seq;
      yield page;
    }
    if (page.length < PAGE) return;
  }
}

function safe(filter: EventPredicate, event: CloudEvent): boolean {
  try {
    return filter(event);
  } catch {
    return false;
  }
}
