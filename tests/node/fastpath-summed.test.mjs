// Fast-path batches summed per route: with the trace ring off, the glue records a batch as one
// `(route, publishes)` pair per topic (however often, and in whatever order, each topic was
// published), in batches of up to 4 096 publishes and 1 024 topics. Everything observable must
// still be exactly what the slow path gives: ids and sequence numbers the handlers saw,
// counters per bus, topic and subscription, dead letters, and what a handler reads when it
// calls the bus in the middle of such a batch. A bus with an `on()` listener never takes the
// fast path, so it is the reference.

import assert from 'node:assert/strict';
import { describe, test } from 'node:test';

import { importPackage } from './helpers/package.mjs';
import { busesOnBothPaths } from './helpers/paths.mjs';

const { EventBus } = await importPackage();
const { fast, slow } = busesOnBothPaths(EventBus);

/** Counts `__inlineRecord` calls and the pairs they record while `body` runs. */
function countRecords(body) {
  const record = EventBus.prototype.__inlineRecord;
  const calls = [];
  EventBus.prototype.__inlineRecord = function (pairs, at) {
    calls.push(pairs);
    return record.call(this, pairs, at);
  };
  try {
    body();
  } finally {
    EventBus.prototype.__inlineRecord = record;
  }
  return calls;
}

/** Counters, per-topic counters, per-subscription counters and dead letters of `bus`. */
function observe(bus, subs) {
  const { totals, topics, queued, inFlight } = bus.metrics();
  return {
    totals,
    topics: topics.map((t) => [t.topic, t.counters]),
    queued,
    inFlight,
    stats: subs.map((s) => s.stats()?.counters),
    dead: bus.deadLetters().map((d) => [d.subscription, d.message, d.reason, d.attempts]),
  };
}

/** `count` topics `svc<i>.eu.created`, each with one `svc<i>.*.created` subscription logging into `seen`. */
function rotating(bus, count, seen) {
  const subs = [];
  for (let i = 0; i < count; i++) {
    subs.push(bus.subscribe(`svc${i}.*.created`, (payload, meta) => seen.push([i, payload, meta.id, meta.seq])));
  }
  // A stride coprime with the count: consecutive publishes go to different topics.
  const topics = Array.from({ length: count }, (_, i) => `svc${(i * 7) % count}.eu.created`);
  return { subs, topics };
}

describe('fast-path batches summed per route', () => {
  test('publishes rotating over many topics in one task are recorded once per topic, not once per run', () => {
    const bus = fast();
    const seen = [];
    const { topics } = rotating(bus, 100, seen);
    for (const topic of topics) bus.publish(topic, -1); // fills every route
    bus.metrics();
    const calls = countRecords(() => {
      for (let i = 0; i < 1000; i++) bus.publish(topics[i % topics.length], i);
      bus.metrics(); // records the batch
    });
    // 1 000 publishes in 1 000 runs: one call with one pair per topic.
    assert.deepEqual(calls, [100]);
    assert.equal(bus.metrics().totals.published, 1100);
    assert.ok(bus.metrics().topics.every((t) => t.counters.published === 11), 'every topic counted 11 publishes');
  });

  test('a long burst over more topics than a batch holds counts exactly what the slow path counts', () => {
    const run = (bus) => {
      const seen = [];
      const { subs, topics } = rotating(bus, 1500, seen);
      const results = [];
      for (let i = 0; i < 9000; i++) results.push(bus.publish(topics[i % topics.length], i));
      return { seen, results, ...observe(bus, subs) };
    };
    const observed = run(fast());
    assert.equal(observed.totals.published, 9000);
    assert.equal(observed.totals.delivered, 9000);
    assert.deepEqual(
      observed.seen.map(([, , id]) => id),
      Array.from({ length: 9000 }, (_, i) => i + 1),
      'ids in publish order',
    );
    assert.deepEqual(observed, run(slow()));
  });

  test('ids and sequence numbers stay the engine\'s across summed batches, slow publishes and new routes', () => {
    const run = (bus) => {
      const seen = [];
      const { subs, topics } = rotating(bus, 40, seen);
      const results = [];
      for (let i = 0; i < 5000; i++) {
        // Now and then a publish with options (slow path) and a topic never published before.
        if (i % 997 === 0) results.push(bus.publish(topics[i % 40], i, { headers: { k: 'v' } }));
        if (i % 1201 === 0) results.push(bus.publish(`svc${i % 40}.new${i}.created`, i));
        results.push(bus.publish(topics[(i * 3) % 40], i));
      }
      return { seen, results, ...observe(bus, subs) };
    };
    const observed = run(fast());
    assert.deepEqual(observed, run(slow()));
  });

  test('a handler that throws in the middle of a summed batch hands over its message with the id it saw', () => {
    const run = (bus) => {
      const seen = [];
      const subs = ['a', 'b', 'c'].map((topic) =>
        bus.subscribe(topic, (payload, meta) => {
          seen.push([topic, payload, meta.id, meta.seq]);
          if (topic === 'a' && payload === 7) throw new Error('boom');
        }),
      );
      // `a` was published to before `b` and `c`: its pair is not the last one written.
      for (let i = 0; i < 12; i++) bus.publish(['a', 'b', 'c', 'a'][i % 4], i);
      bus.advance(60_000); // every retry, then the dead letter
      return { seen, ...observe(bus, subs) };
    };
    const observed = run(fast({ retry: { attempts: 2, backoffMs: 10, jitter: 0 } }));
    assert.equal(observed.dead.length, 1);
    assert.deepEqual(observed, run(slow({ retry: { attempts: 2, backoffMs: 10, jitter: 0 } })));
  });

  test('metrics and stats read by a handler in the middle of a summed batch are the slow path\'s', () => {
    const run = (bus) => {
      const reads = [];
      const subs = [];
      for (const topic of ['x', 'y', 'z']) {
        subs.push(
          bus.subscribe(topic, (payload) => {
            if (payload % 50 === 49) reads.push(observe(bus, subs));
          }),
        );
      }
      for (let i = 0; i < 300; i++) bus.publish(['x', 'y', 'z', 'y'][i % 4], i);
      return { reads, ...observe(bus, subs) };
    };
    const observed = run(fast());
    assert.equal(observed.reads.length, 6);
    assert.deepEqual(observed, run(slow()));
  });

  test('with the trace ring on, batches keep runs in publish order and the trace is the slow path\'s', () => {
    const run = (bus, count = (body) => body()) => {
      for (const topic of ['p', 'q', 'r']) bus.subscribe(topic, () => {});
      for (const topic of ['p', 'q', 'r']) bus.publish(topic, -1); // fills every route
      bus.metrics(); // records them (a read keeps the routes)
      return count(() => {
        for (let i = 0; i < 700; i++) bus.publish(['p', 'q', 'p', 'r'][i % 4], i);
        return bus.trace().events.map((e) => [e.kind, e.subscription, e.message, e.topic, e.detail]);
      });
    };
    let calls;
    const trace = run(fast({ traceCapacity: 100_000 }), (body) => {
      let result;
      calls = countRecords(() => {
        result = body();
      });
      return result;
    });
    // Runs in publish order, at most 256 publishes (one clock reading) per batch.
    assert.deepEqual(calls, [256, 256, 188]);
    assert.deepEqual(trace, run(slow({ traceCapacity: 100_000 })));
  });

  test('topics named like Object.prototype properties or array indices are cached like any other', () => {
    const names = ['__proto__', 'constructor', 'toString', 'hasOwnProperty', '123', 'nobody'];
    const run = (bus) => {
      const seen = [];
      for (const name of names.slice(0, -1)) bus.subscribe(name, (payload, meta) => seen.push([name, payload, meta.id, meta.seq]));
      const results = [];
      for (let round = 0; round < 3; round++) for (const name of names) results.push(bus.publish(name, round));
      const topics = bus.metrics().topics.map((t) => [t.topic, t.counters]);
      return { seen, results, topics };
    };
    const observed = run(fast());
    assert.equal(observed.seen.length, 15);
    assert.deepEqual(observed, run(slow()));
  });
});
