// The contract every EventStore implementation must meet. Run it against each implementation:
//   runStoreContract('sqlite', () => ({ open: () => new SqliteEventStore({ path }), cleanup }))
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { isSluiceError, type CloudEvent } from '@sluice/core';
import type { DeadLetterStore, Disposition, EventStore, LogRecord } from '@sluice/store';
import { waitFor } from './wait.js';

/** A place that stores can be opened on, several times (to check what survives a restart). */
export interface StoreEnvironment {
  open(): Promise<EventStore>;
  /** Where the store opened last keeps its dead letters. */
  deadLetters(): DeadLetterStore;
  cleanup(): Promise<void>;
}

const ev = (id: string, extra: Record<string, string> = {}): CloudEvent => ({
  attributes: { specversion: '1.0', id, source: '/contract', type: 'test', ...extra },
  data: Buffer.from(`data-${id}`),
});

const done: Disposition = { kind: 'done' };

/** Registers one contract test, run on a fresh {@link StoreEnvironment} that is cleaned up after it. */
type WithEnv = (title: string, body: (env: StoreEnvironment) => Promise<void>) => void;

/** Registers the contract tests for one implementation. */
export function runStoreContract(name: string, makeEnv: () => Promise<StoreEnvironment>): void {
  const withEnv: WithEnv = (title, body) => {
    test(`[${name}] ${title}`, async () => {
      const env = await makeEnv();
      try {
        await body(env);
      } finally {
        await env.cleanup();
      }
    });
  };

  deliveryContract(withEnv);
  retryContract(withEnv);
  orderingContract(withEnv);
  deadLetterContract(withEnv);
  groupContract(withEnv);
}

/** Handing out records: every event once per group, new groups at the end, filters, maxInFlight. */
function deliveryContract(withEnv: WithEnv): void {
  withEnv('delivers every appended event once to each group, with data intact', async (env) => {
    const store = await env.open();
    const got: Record<string, string[]> = { a: [], b: [] };
    for (const g of ['a', 'b']) {
      store.consume('log', g, { maxInFlight: 10 }, async (r) => {
        got[g]!.push(`${String(r.event.attributes['id'])}:${r.event.data!.toString()}:${r.attempt}`);
        return done;
      });
    }
    await store.append('log', [ev('1'), ev('2')]);
    await store.append('log', [ev('3')]);
    await store.append('other', [ev('x')]);
    await waitFor(() => got['a']!.length === 3 && got['b']!.length === 3, 'deliveries');
    for (const g of ['a', 'b']) assert.deepEqual(got[g]!.sort(), ['1:data-1:0', '2:data-2:0', '3:data-3:0']);
    await store.close();
  });

  withEnv('a new group starts at the end of the log', async (env) => {
    const store = await env.open();
    await store.append('log', [ev('old')]);
    const got: string[] = [];
    store.consume('log', 'late', { maxInFlight: 10 }, async (r) => {
      got.push(String(r.event.attributes['id']));
      return done;
    });
    await store.append('log', [ev('new')]);
    await waitFor(() => got.length === 1, 'the new event');
    await new Promise((r) => setTimeout(r, 50));
    assert.deepEqual(got, ['new']);
    await store.close();
  });

  withEnv('the filter skips records without calling the handler', async (env) => {
    const store = await env.open();
    const got: string[] = [];
    store.consume('log', 'g', { maxInFlight: 10, filter: (e) => e.attributes['id'] !== 'skip' }, async (r) => {
      got.push(String(r.event.attributes['id']));
      return done;
    });
    await store.append('log', [ev('a'), ev('skip'), ev('b')]);
    await waitFor(() => got.length === 2, 'two deliveries');
    assert.deepEqual(got.sort(), ['a', 'b']);
    await store.close();
  });

  withEnv('never has more than maxInFlight records in the handler', async (env) => {
    const store = await env.open();
    let inFlight = 0;
    let peak = 0;
    let count = 0;
    store.consume('log', 'g', { maxInFlight: 3 }, async () => {
      inFlight++;
      peak = Math.max(peak, inFlight);
      await new Promise((r) => setTimeout(r, 2));
      inFlight--;
      count++;
      return done;
    });
    await store.append(
      'log',
      Array.from({ length: 40 }, (_, i) => ev(String(i))),
    );
    await waitFor(() => count === 40, '40 deliveries');
    assert.ok(peak <= 3, `peak in flight ${peak}`);
    await store.close();
  });
}

/** Retries: due times, attempts, replacement events, and what survives a restart. */
function retryContract(withEnv: WithEnv): void {
  withEnv('a retry comes back at its due time with the next attempt number and the replacement event', async (env) => {
    const store = await env.open();
    const seen: LogRecord[] = [];
    store.consume('log', 'g', { maxInFlight: 10 }, async (r) => {
      seen.push(r);
      if (r.attempt === 0) return { kind: 'retry', attempt: 1, dueAt: Date.now() + 100, event: ev('replaced') };
      return done;
    });
    const t0 = Date.now();
    await store.append('log', [ev('r')]);
    await waitFor(() => seen.length === 2, 'the retry');
    assert.equal(seen[1]!.attempt, 1);
    assert.equal(seen[1]!.event.attributes['id'], 'replaced');
    assert.ok(Date.now() - t0 >= 90, 'not before its due time');
    await store.close();
  });

  withEnv('a record waiting for its retry does not hold back the records after it', async (env) => {
    const store = await env.open();
    const got: string[] = [];
    store.consume('log', 'g', { maxInFlight: 2 }, async (r) => {
      const id = String(r.event.attributes['id']);
      if (id === 'slow' && r.attempt === 0) return { kind: 'retry', attempt: 1, dueAt: Date.now() + 400 };
      got.push(`${id}@${r.attempt}`);
      return done;
    });
    await store.append('log', [ev('slow'), ...Array.from({ length: 10 }, (_, i) => ev(`n${i}`))]);
    await waitFor(() => got.length === 10, 'the records after the retried one');
    assert.ok(!got.includes('slow@1'), 'the others did not wait for the retry');
    await waitFor(() => got.includes('slow@1'), 'the retry');
    await store.close();
  });

  withEnv('records still in a handler at shutdown are handed out again after a restart; finished ones are not', async (env) => {
    let store = await env.open();
    const first: string[] = [];
    const consumer = store.consume('log', 'g', { maxInFlight: 10 }, async (r) => {
      const id = String(r.event.attributes['id']);
      first.push(id);
      if (id === 'stuck') await new Promise(() => {}); // never finishes
      return done;
    });
    await store.append('log', [ev('ok1'), ev('stuck'), ev('ok2')]);
    await waitFor(() => first.length === 3, 'first deliveries');
    await new Promise((r) => setTimeout(r, 100)); // let the cursor commit
    await consumer.close(50);
    await store.close();
    store = await env.open();
    const second: string[] = [];
    store.consume('log', 'g', { maxInFlight: 10 }, async (r) => {
      second.push(String(r.event.attributes['id']));
      return done;
    });
    await waitFor(() => second.includes('stuck'), 'redelivery of the unfinished record');
    await new Promise((r) => setTimeout(r, 50));
    assert.ok(!second.includes('ok1'), `ok1 was finished before the stuck record and must not come back (${second.join(',')})`);
    await store.close();
  });

  withEnv('a scheduled retry survives a restart', async (env) => {
    let store = await env.open();
    let attempts = 0;
    store.consume('log', 'g', { maxInFlight: 10 }, async () => {
      attempts++;
      return { kind: 'retry', attempt: 1, dueAt: Date.now() + 300 };
    });
    await store.append('log', [ev('later')]);
    await waitFor(() => attempts === 1, 'first attempt');
    await new Promise((r) => setTimeout(r, 60));
    await store.close();
    store = await env.open();
    const retried: LogRecord[] = [];
    store.consume('log', 'g', { maxInFlight: 10 }, async (r) => {
      retried.push(r);
      return done;
    });
    await waitFor(() => retried.length === 1, 'the retry after restart');
    assert.equal(retried[0]!.attempt, 1);
    assert.equal(retried[0]!.event.attributes['id'], 'later');
    await store.close();
  });
}

/** Ordering keys: same-key records one at a time, in order, retries and restarts included. */
function orderingContract(withEnv: WithEnv): void {
  withEnv('an ordering key hands out same-key records one at a time, in order, retries included', async (env) => {
    const store = await env.open();
    const order: string[] = [];
    let active = 0;
    let overlap = false;
    let failedOnce = false;
    store.consume('log', 'g', { maxInFlight: 10, orderingKey: (e) => String(e.attributes['partitionkey']) }, async (r) => {
      if (r.event.attributes['partitionkey'] === 'k') {
        active++;
        if (active > 1) overlap = true;
        await new Promise((res) => setTimeout(res, 3));
        active--;
        if (r.event.attributes['id'] === 'k1' && !failedOnce) {
          failedOnce = true;
          return { kind: 'retry', attempt: 1, dueAt: Date.now() + 20 };
        }
        order.push(String(r.event.attributes['id']));
      }
      return done;
    });
    await store.append('log', ['k0', 'k1', 'k2', 'k3'].map((id) => ev(id, { partitionkey: 'k' })).concat([ev('other', { partitionkey: 'z' })]));
    await waitFor(() => order.length === 4, 'ordered deliveries');
    assert.deepEqual(order, ['k0', 'k1', 'k2', 'k3']);
    assert.equal(overlap, false);
    await store.close();
  });

  withEnv('an ordered record waiting for its retry resumes at that attempt after a restart; later same-key records wait behind it', async (env) => {
    const ordered = { maxInFlight: 10, orderingKey: (e: CloudEvent) => String(e.attributes['partitionkey']) };
    let store = await env.open();
    const first: LogRecord[] = [];
    let dueAt = 0;
    store.consume('log', 'g', ordered, async (r) => {
      first.push(r);
      dueAt = Date.now() + 400;
      return {
        kind: 'retry',
        attempt: 3,
        dueAt,
        event: { attributes: { ...r.event.attributes, knativeerrorcode: '503' }, data: r.event.data },
      };
    });
    await store.append('log', [ev('k0', { partitionkey: 'k' }), ev('k1', { partitionkey: 'k' })]);
    await waitFor(() => first.length === 1, 'the first attempt');
    await new Promise((r) => setTimeout(r, 100)); // let the retry be stored
    await store.close();
    assert.deepEqual(
      first.map((r) => r.event.attributes['id']),
      ['k0'],
      'k1 waited behind k0',
    );
    store = await env.open();
    const second: Array<{ id: string; attempt: number; code: unknown; at: number }> = [];
    store.consume('log', 'g', ordered, async (r) => {
      second.push({
        id: String(r.event.attributes['id']),
        attempt: r.attempt,
        code: r.event.attributes['knativeerrorcode'],
        at: Date.now(),
      });
      return done;
    });
    await waitFor(() => second.length === 2, 'the resumed retry and the record behind it', 15_000);
    assert.deepEqual(
      second.map(({ id, attempt, code }) => ({ id, attempt, code })),
      [
        { id: 'k0', attempt: 3, code: '503' },
        { id: 'k1', attempt: 0, code: undefined },
      ],
    );
    assert.ok(second[0]!.at >= dueAt - 20, `resumed ${dueAt - second[0]!.at} ms before its due time`);
    await store.close();
  });

  withEnv('closing does not wait for an ordered record waiting for its retry, and the retry never fires after close', async (env) => {
    const store = await env.open();
    let calls = 0;
    store.consume('log', 'g', { maxInFlight: 10, orderingKey: (e) => String(e.attributes['partitionkey']) }, async () => {
      calls++;
      return { kind: 'retry', attempt: 1, dueAt: Date.now() + 200 };
    });
    await store.append('log', [ev('k0', { partitionkey: 'k' }), ev('k1', { partitionkey: 'k' })]);
    await waitFor(() => calls === 1, 'the first attempt');
    await store.close();
    await new Promise((r) => setTimeout(r, 400));
    assert.equal(calls, 1, 'no attempt after close');
  });
}

/** Dead-letter dispositions: the event kept with its reason, attempts and times. */
function deadLetterContract(withEnv: WithEnv): void {
  withEnv('a dead-letter disposition keeps the event with its reason, attempts and times, and finishes the record', async (env) => {
    let store = await env.open();
    const seen: string[] = [];
    store.consume('log', 'g', { maxInFlight: 10 }, async (r) => {
      const id = String(r.event.attributes['id']);
      seen.push(`${id}@${r.attempt}`);
      if (id !== 'bad') return done;
      if (r.attempt === 0) return { kind: 'retry', attempt: 1, dueAt: Date.now() + 50, firstAttemptAt: 1000 };
      assert.equal(r.firstAttemptAt, 1000, 'a retry carries the time of the first attempt');
      return {
        kind: 'dead-letter',
        event: ev('bad', { knativeerrorcode: '503' }),
        reason: 'HTTP 503',
        attempts: 2,
        firstAttemptAt: r.firstAttemptAt,
        lastAttemptAt: 2000,
      };
    });
    await store.append('log', [ev('ok1'), ev('bad'), ev('ok2')]);
    await waitFor(() => env.deadLetters().listDeadLetters('log', { limit: 10 }).length === 1, 'the dead letter');
    const [letter] = env.deadLetters().listDeadLetters('log', { limit: 10 });
    assert.equal(letter!.group, 'g');
    assert.equal(letter!.event.attributes['id'], 'bad');
    assert.equal(letter!.event.attributes['knativeerrorcode'], '503');
    assert.equal(letter!.event.data?.toString(), 'data-bad');
    assert.deepEqual([letter!.reason, letter!.attempts, letter!.firstAttemptAt, letter!.lastAttemptAt, letter!.replays], ['HTTP 503', 2, 1000, 2000, 0]);
    assert.deepEqual(env.deadLetters().getDeadLetter('log', letter!.id)?.event.attributes['id'], 'bad');
    await new Promise((r) => setTimeout(r, 150)); // let the cursor commit
    await store.close();
    store = await env.open();
    const again: string[] = [];
    store.consume('log', 'g', { maxInFlight: 10 }, async (r) => {
      again.push(String(r.event.attributes['id']));
      return done;
    });
    await store.append('log', [ev('after')]);
    await waitFor(() => again.includes('after'), 'a record after the restart');
    assert.ok(!again.includes('bad'), `the dead-lettered record is finished (${again.join(',')})`);
    assert.equal(env.deadLetters().listDeadLetters('log', { limit: 10 }).length, 1, 'kept once');
    await store.close();
  });

  withEnv('an ordered record being dead-lettered holds back its key until it is kept', async (env) => {
    const store = await env.open();
    const order: string[] = [];
    store.consume('log', 'g', { maxInFlight: 10, orderingKey: (e) => String(e.attributes['partitionkey']) }, async (r) => {
      const id = String(r.event.attributes['id']);
      order.push(id);
      if (id === 'k0')
        return {
          kind: 'dead-letter',
          event: r.event,
          reason: 'HTTP 400',
          attempts: 1,
          firstAttemptAt: Date.now(),
          lastAttemptAt: Date.now(),
        };
      return done;
    });
    await store.append('log', [ev('k0', { partitionkey: 'k' }), ev('k1', { partitionkey: 'k' })]);
    await waitFor(() => order.length === 2, 'both records');
    assert.deepEqual(order, ['k0', 'k1']);
    await waitFor(() => env.deadLetters().listDeadLetters('log', { limit: 10 }).length === 1, 'the dead letter');
    await store.close();
  });
}

/** Groups closed and consumed again, or forgotten. */
function groupContract(withEnv: WithEnv): void {
  withEnv('a group closed and consumed again continues where it stopped (a trigger changed live)', async (env) => {
    const store = await env.open();
    await store.ready('log');
    const first: string[] = [];
    const c = store.consume('log', 'g', { maxInFlight: 10 }, async (r) => {
      first.push(String(r.event.attributes['id']));
      return done;
    });
    await store.append('log', [ev('1'), ev('2')]);
    await waitFor(() => first.length === 2, 'the first two');
    await c.close();
    await store.append('log', [ev('3'), ev('4')]); // accepted while no consumer of the group runs
    const second: string[] = [];
    store.consume('log', 'g', { maxInFlight: 10, filter: (e) => e.attributes['id'] !== '4' }, async (r) => {
      second.push(String(r.event.attributes['id']));
      return done;
    });
    await store.append('log', [ev('5')]);
    await waitFor(() => second.length === 2, 'the events accepted after the first consumer stopped');
    await new Promise((r) => setTimeout(r, 100));
    assert.deepEqual(first.sort(), ['1', '2']);
    assert.deepEqual(second.sort(), ['3', '5'], 'nothing twice, nothing missed, the new filter applies');
    await store.close();
  });

  withEnv('forgetGroups counts what a stopped group still owed and forgets it; a running group is refused', async (env) => {
    const store = await env.open();
    await store.ready('log');
    const got: string[] = [];
    const c = store.consume('log', 'g', { maxInFlight: 10 }, async (r) => {
      got.push(String(r.event.attributes['id']));
      return done;
    });
    await store.append('log', [ev('a')]);
    await waitFor(() => got.length === 1, 'the first event');
    await assert.rejects(store.forgetGroups('log', ['g']), (err: unknown) => isSluiceError(err, 'SLUICE_STORE_GROUP_BUSY'));
    await c.close();
    await store.append('log', [ev('b'), ev('c')]);
    const [forgotten] = await store.forgetGroups('log', ['g']);
    assert.equal(forgotten?.group, 'g');
    assert.deepEqual([forgotten.retries, forgotten.unread], [0, 2]);
    assert.ok(!store.groups('log').includes('g'));
    const again: string[] = [];
    store.consume('log', 'g', { maxInFlight: 10 }, async (r) => {
      again.push(String(r.event.attributes['id']));
      return done;
    });
    await store.ready('log');
    await store.append('log', [ev('d')]);
    await waitFor(() => again.length === 1, 'the event after forgetting');
    await new Promise((r) => setTimeout(r, 100));
    assert.deepEqual(again, ['d'], 'a forgotten group starts again at the end of the log');
    await store.close();
  });
}
