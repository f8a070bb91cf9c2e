// The fast path seen from inside a handler. While the glue calls the handlers of an inline
// publish itself, the engine does not know the message yet; anything a handler reads or does
// through the bus must nevertheless see exactly what the slow path shows at the same point of
// its dispatch: the handlers that returned have it delivered, the running one has it in flight,
// the rest have it queued. A bus with an `on('*')` listener never takes the fast path, so it is
// the reference.

import assert from 'node:assert/strict';
import { describe, test } from 'node:test';

import { importSnapshotPackage } from './helpers/package.mjs';
import { busesOnBothPaths } from './helpers/paths.mjs';

// The entry with snapshots: some cases snapshot from inside a handler.
const { EventBus } = await importSnapshotPackage();

const { fast, slow } = busesOnBothPaths(EventBus);

/** Runs `body` and counts fast-path batches recorded meanwhile (0 on the slow path). */
function countRecords(body) {
  const record = EventBus.prototype.__inlineRecord;
  const enter = EventBus.prototype.__inlineEnter;
  let calls = 0;
  EventBus.prototype.__inlineRecord = function (...args) {
    calls++;
    return record.apply(this, args);
  };
  EventBus.prototype.__inlineEnter = function (...args) {
    calls++;
    return enter.apply(this, args);
  };
  try {
    return { result: body(), calls };
  } finally {
    EventBus.prototype.__inlineRecord = record;
    EventBus.prototype.__inlineEnter = enter;
  }
}

/** Everything observable about a bus that does not depend on wall time. */
function observe(bus, subs) {
  const { totals, topics, queued, inFlight } = bus.metrics();
  return {
    totals,
    topics: topics.map((t) => [t.topic, t.counters]),
    queued,
    inFlight,
    stats: subs.map((s) => {
      const info = s.stats();
      return info && { counters: info.counters, depth: info.depth, inFlight: info.inFlight };
    }),
    dead: bus.deadLetters().map((d) => [d.subscription, d.message, d.reason, d.attempts]),
  };
}

/** Restores `snapshot` with recording handlers named a, b, c; returns what they received. */
function restoreAndRun(snapshot) {
  const seen = [];
  const handler = (name) => (payload, meta) => seen.push([name, payload, meta.id, meta.attempt]);
  const restored = EventBus.restore(snapshot, {
    clock: 'manual',
    handlers: { a: handler('a'), b: handler('b'), c: handler('c') },
  });
  restored.advance(0);
  return { seen, totals: restored.metrics().totals };
}

describe('the fast path, read from inside a handler', () => {
  test('a snapshot taken by a handler restores a bus that still delivers the message to the handlers that had not run', () => {
    const run = (bus) => {
      const seen = [];
      let snapshot;
      bus.subscribe('t', (p) => {
        seen.push(['a', p]);
        if (p === 2) snapshot = bus.snapshot();
      }, { name: 'a' });
      bus.subscribe('t', (p) => seen.push(['b', p]), { name: 'b' });
      bus.subscribe('t', (p) => seen.push(['c', p]), { name: 'c' });
      const { calls } = countRecords(() => {
        bus.publish('t', 1);
        bus.publish('t', 2);
        bus.publish('t', 3);
      });
      return { seen, calls, restored: restoreAndRun(snapshot) };
    };
    const observed = run(fast());
    const reference = run(slow());
    assert.ok(observed.calls > 0, 'the fast bus took the fast path');
    assert.equal(reference.calls, 0, 'the reference took the slow path');
    // The running delivery (a) is written back to run again; b and c never ran it: they must
    // receive it from the restored bus.
    assert.deepEqual(observed.restored.seen, [['a', 2, 2, 1], ['b', 2, 2, 1], ['c', 2, 2, 1]]);
    assert.deepEqual({ ...observed, calls: 0 }, { ...reference, calls: 0 });
  });

  test('a snapshot taken by the last handler of a message keeps only its own delivery', () => {
    const run = (bus) => {
      let snapshot;
      bus.subscribe('t', () => {}, { name: 'a' });
      bus.subscribe('t', (p) => { if (p === 1) snapshot = bus.snapshot(); }, { name: 'b' });
      bus.publish('t', 0);
      bus.publish('t', 1);
      return restoreAndRun(snapshot);
    };
    const observed = run(fast());
    assert.deepEqual(observed.seen, [['b', 1, 2, 1]]);
    assert.deepEqual(observed, run(slow()));
  });

  test('metrics, stats, deadLetters and trace read by a handler equal the slow path at the same point', () => {
    const run = (bus) => {
      const reads = [];
      const subs = [];
      subs.push(bus.subscribe('t', (p) => {
        if (p === 'boom') throw new Error('boom');
      }));
      subs.push(bus.subscribe('t', (p) => {
        reads.push({ p, ...observe(bus, subs) });
        const { events } = bus.trace();
        reads.push(events.map((e) => [e.kind, e.subscription, e.message, e.detail]));
      }));
      subs.push(bus.subscribe('*', () => {}));
      const { calls } = countRecords(() => {
        bus.publish('t', 'first');
        bus.publish('t', 'boom');
        bus.publish('u', 'other');
        bus.publish('t', 'last');
      });
      reads.push(observe(bus, subs));
      return { reads, calls };
    };
    const options = { traceCapacity: 1024 };
    const observed = run(fast(options));
    const reference = run(slow(options));
    assert.ok(observed.calls > 0, 'the fast bus took the fast path');
    // While the second handler of 'first' runs: the first handler's delivery is done, its own is
    // in flight, the '*' subscription's is queued.
    const during = observed.reads[0];
    assert.equal(during.totals.delivered, 1);
    assert.equal(during.inFlight, 1);
    assert.equal(during.queued, 1);
    assert.deepEqual(during.stats.map((s) => s.counters.delivered), [1, 0, 0]);
    assert.deepEqual(during.stats.map((s) => s.depth + s.inFlight), [0, 1, 1]);
    // After a throw, the dead letter is there for the next handler to see.
    assert.equal(observed.reads[2].dead.length, 1);
    assert.deepEqual({ ...observed, calls: 0 }, { ...reference, calls: 0 });
  });

  test('a handler that publishes and reads metrics sees its follow-up queued behind the message', () => {
    const run = (bus) => {
      const log = [];
      const subs = [];
      subs.push(bus.subscribe('a', (p, meta) => {
        log.push(['a1', p, meta.id]);
        bus.publish('b', p + 1);
        const { queued, inFlight, totals } = bus.metrics();
        log.push(['metrics', queued, inFlight, totals.published, totals.delivered]);
      }));
      subs.push(bus.subscribe('a', (p, meta) => log.push(['a2', p, meta.id])));
      subs.push(bus.subscribe('b', (p, meta) => log.push(['b', p, meta.id, meta.causationId])));
      bus.publish('a', 10);
      bus.publish('a', 20);
      return { log, end: observe(bus, subs) };
    };
    const observed = run(fast());
    assert.deepEqual(observed.log.slice(0, 4), [
      ['a1', 10, 1],
      ['metrics', 2, 1, 2, 0],
      ['a2', 10, 1],
      ['b', 11, 2, 1],
    ]);
    assert.deepEqual(observed, run(slow()));
  });

  test('a handler that unsubscribes a later one, then throws, loses nothing and counts the drop', () => {
    const run = (bus) => {
      const log = [];
      let third;
      const subs = [];
      subs.push(bus.subscribe('t', (p) => {
        log.push(['first', p]);
        if (p === 1) {
          third.unsubscribe();
          throw new Error('after unsubscribing');
        }
      }));
      subs.push(bus.subscribe('t', (p) => log.push(['second', p])));
      third = bus.subscribe('t', (p) => log.push(['third', p]));
      subs.push(third);
      for (let i = 0; i < 3; i++) bus.publish('t', i);
      // 3 + 3 + 2 routed pairs, each delivered, dropped or dead-lettered.
      const { totals } = bus.metrics();
      assert.equal(totals.delivered + totals.dropped + totals.deadLettered, 8, 'every routed pair is accounted for');
      return { log, end: observe(bus, subs) };
    };
    const observed = run(fast());
    assert.deepEqual(observed.log, [
      ['first', 0], ['second', 0], ['third', 0],
      ['first', 1], ['second', 1],
      ['first', 2], ['second', 2],
    ]);
    assert.equal(observed.end.totals.dropped, 1);
    assert.equal(observed.end.totals.deadLettered, 1);
    assert.deepEqual(observed, run(slow()));
  });

  test('a promise returned mid-run keeps later publishes of the batch numbered as their handlers saw them', async () => {
    const run = async (bus) => {
      const seen = [];
      let release;
      bus.subscribe('p', (x, meta) => {
        seen.push(['p', x, meta.id, meta.seq]);
        if (x === 0) return new Promise((resolve) => { release = resolve; });
        return undefined;
      });
      bus.subscribe('q', (x, meta) => seen.push(['q', x, meta.id, meta.seq]));
      const ids = [];
      ids.push(bus.publish('q', 'a').id);
      ids.push(bus.publish('p', 0).id);
      ids.push(bus.publish('q', 'b').id);
      ids.push(bus.publish('q', 'c').id);
      release();
      await new Promise((resolve) => setTimeout(resolve, 0));
      ids.push(bus.publish('p', 1).id);
      ids.push(bus.publish('q', 'd').id);
      const { totals } = bus.metrics();
      return { seen, ids, totals, next: bus.publish('q', 'e') };
    };
    const observed = await run(fast());
    assert.deepEqual(observed.ids, [1, 2, 3, 4, 5, 6]);
    assert.equal(observed.totals.published, 6);
    assert.equal(observed.totals.delivered, 6);
    assert.deepEqual(observed.next, { id: 7, seq: 5, matched: 1 });
    assert.deepEqual(observed, await run(slow()));
  });

  test('a handler that aborts a later subscription\'s signal keeps that handler from running, as on the slow path', () => {
    const run = (bus) => {
      const log = [];
      const controller = new AbortController();
      const subs = [];
      subs.push(bus.subscribe('t', (p) => {
        log.push(['first', p]);
        if (p === 1) controller.abort();
      }));
      subs.push(bus.subscribe('t', (p) => log.push(['aborted', p]), { signal: controller.signal }));
      subs.push(bus.subscribe('t', (p) => log.push(['last', p])));
      const { calls } = countRecords(() => {
        for (let i = 0; i < 3; i++) bus.publish('t', i);
      });
      return { log, end: observe(bus, subs), calls };
    };
    const observed = run(fast());
    const reference = run(slow());
    assert.ok(observed.calls > 0, 'the fast bus took the fast path');
    assert.deepEqual(observed.log, [
      ['first', 0], ['aborted', 0], ['last', 0],
      ['first', 1], ['last', 1],
      ['first', 2], ['last', 2],
    ]);
    assert.equal(observed.end.totals.dropped, 1, 'the aborted delivery is counted as dropped');
    assert.deepEqual({ ...observed, calls: 0 }, { ...reference, calls: 0 });
  });

  test('an abort between publishes is traced after the publishes before it', () => {
    const run = (bus) => {
      const controller = new AbortController();
      bus.subscribe('t', () => {}, { signal: controller.signal, name: 'watched' });
      bus.publish('t', 1);
      bus.publish('t', 2);
      controller.abort();
      bus.publish('t', 3);
      return bus.trace().events.map((e) => [e.kind, e.message]);
    };
    const options = { traceCapacity: 256 };
    const observed = run(fast(options));
    assert.deepEqual(observed, run(slow(options)));
    const removed = observed.findIndex(([kind]) => kind === 'subscriber_removed');
    const lastDelivered = observed.findLastIndex(([kind]) => kind === 'delivered');
    assert.ok(removed > lastDelivered, 'removed after both deliveries');
  });

  test('handlers are called as plain functions, never as methods of an internal array', () => {
    const run = (bus) => {
      const receivers = [];
      bus.subscribe('t', function first() {
        receivers.push(this);
        // A sloppy handler writing through `this` must not reach the bus's handlers.
        if (this) this[1] = () => receivers.push('hijacked');
      });
      bus.subscribe('t', function second() {
        receivers.push(this === undefined ? 'second' : this);
      });
      bus.publish('t', 1);
      bus.publish('t', 2);
      return receivers;
    };
    const observed = run(fast());
    assert.deepEqual(observed, [undefined, 'second', undefined, 'second']);
    assert.deepEqual(observed, run(slow()));
  });
});
