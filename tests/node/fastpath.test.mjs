// The inline fast path in the JavaScript glue: a plain `publish(topic, payload)` on an eligible
// route calls the handlers from JavaScript and records runs of publishes with one engine call.
// Everything observable must be exactly what the slow path gives; a bus with an `on()` listener
// never takes the fast path (listeners see each event before `publish` returns), so it is the
// reference.

import assert from 'node:assert/strict';
import { describe, test } from 'node:test';

import { importPackage } from './helpers/package.mjs';
import { busesOnBothPaths } from './helpers/paths.mjs';

const { EventBus } = await importPackage();

const tick = () => new Promise((resolve) => setTimeout(resolve, 0));
const { fast, slow } = busesOnBothPaths(EventBus);

/** Counts `__inlineRecord` calls (fast-path batches recorded) while `body` runs. */
function countRecords(body) {
  const record = EventBus.prototype.__inlineRecord;
  let calls = 0;
  EventBus.prototype.__inlineRecord = function (...args) {
    calls++;
    return record.apply(this, args);
  };
  try {
    body();
  } finally {
    EventBus.prototype.__inlineRecord = record;
  }
  return calls;
}

/** A scripted run mixing fast and slow publishes on two topics; returns what it observed. */
function script(bus) {
  const log = [];
  const record = (name) => (payload, meta) => log.push({ name, payload, ...meta, headers: { ...meta.headers } });
  bus.subscribe('a', record('a1'));
  bus.subscribe('a', record('a2'));
  bus.subscribe('*', record('any'));
  bus.subscribe('b', record('b1'));
  const results = [];
  results.push(bus.publish('a', 1));
  results.push(bus.publish('a', 2));
  results.push(bus.publish('b', 3));
  results.push(bus.publish('a', 4, { headers: { h: 'x' } }));
  results.push(bus.publish('a', 5));
  results.push(bus.publish('b', 6, { correlationId: 'c' }));
  results.push(bus.publish('b', 7));
  results.push(bus.publish('c', 8));
  bus.advance(5);
  results.push(bus.publish('a', 9));
  const { totals, topics } = bus.metrics();
  return { log, results, totals, topics: topics.map((t) => [t.topic, t.counters]) };
}

describe('the JavaScript fast path', () => {
  test('a handler that frees the bus ends the dispatch quietly: later handlers do not run', () => {
    const bus = new EventBus();
    const calls = [];
    bus.subscribe('a', () => {
      calls.push('first');
      bus.free();
    });
    bus.subscribe('a', () => calls.push('second'));
    const result = bus.publish('a', 1);
    assert.equal(result.matched, 2);
    assert.deepEqual(calls, ['first']);
  });

  test('freeing a bus records its pending batch, not a stale one', async () => {
    const bus = new EventBus();
    bus.subscribe('a', () => {});
    bus.subscribe('b', () => {});
    for (let i = 0; i < 5; i++) bus.publish('a', i);
    await Promise.resolve(); // the batch of five on 'a' is recorded at the end of the task
    const record = EventBus.prototype.__inlineRecord;
    const recorded = [];
    EventBus.prototype.__inlineRecord = function (...args) {
      const count = record.apply(this, args);
      recorded.push(count);
      return count;
    };
    try {
      bus.publish('b', 1);
      bus.publish('b', 2);
      bus.free();
    } finally {
      EventBus.prototype.__inlineRecord = record;
    }
    assert.deepEqual(recorded, [2], 'the two publishes on b, recorded before the memory is released');
  });

  test('ids and sequence numbers stay exactly sequential across fast and slow publishes', () => {
    const { log, results } = script(fast());
    assert.deepEqual(results.map((r) => r.id), [1, 2, 3, 4, 5, 6, 7, 8, 9]);
    const topics = ['a', 'a', 'b', 'a', 'a', 'b', 'b', 'c', 'a'];
    const seqs = (topic) => results.filter((_, i) => topics[i] === topic);
    assert.deepEqual(seqs('a').map((r) => r.seq), [1, 2, 3, 4, 5]);
    assert.deepEqual(seqs('b').map((r) => r.seq), [1, 2, 3]);
    assert.deepEqual(results.map((r) => r.matched), [3, 3, 2, 3, 3, 2, 2, 1, 3]);
    const metaIds = [...new Set(log.map((m) => m.id))];
    assert.deepEqual(metaIds, [1, 2, 3, 4, 5, 6, 7, 8, 9]);
    assert.equal(log.find((m) => m.id === 9).publishedAt, 5);
  });

  test('a bus forced onto the slow path observes exactly the same run', () => {
    assert.deepEqual(script(fast()), script(slow()));
  });

  test('metrics read right after a burst count every publish', () => {
    const bus = fast();
    let sink = 0;
    const subs = [1, 2, 3].map(() => bus.subscribe('burst', (n) => { sink += n; }));
    for (let i = 0; i < 1000; i++) bus.publish('burst', 1);
    assert.equal(sink, 3000);
    const { totals } = bus.metrics();
    assert.equal(totals.published, 1000);
    assert.equal(totals.delivered, 3000);
    for (const sub of subs) assert.equal(sub.stats().counters.delivered, 1000);
    assert.equal(bus.publish('burst', 1).id, 1001);
  });

  test('a burst on one topic crosses into the engine once, not once per publish', async () => {
    const bus = fast();
    bus.subscribe('burst', () => {});
    bus.publish('burst', 0); // fills the route
    await Promise.resolve();
    const record = EventBus.prototype.__inlineRecord;
    let calls = 0;
    EventBus.prototype.__inlineRecord = function (...args) {
      calls++;
      return record.apply(this, args);
    };
    try {
      for (let i = 0; i < 100; i++) bus.publish('burst', i);
      assert.equal(calls, 0);
      await Promise.resolve();
      assert.equal(calls, 1);
    } finally {
      EventBus.prototype.__inlineRecord = record;
    }
    assert.equal(bus.metrics().totals.published, 101);
  });

  test('a batch is recorded at the end of the task even when nothing reads it', async () => {
    const bus = fast();
    bus.subscribe('t', () => {});
    bus.publish('t', 1);
    bus.publish('t', 2);
    await Promise.resolve();
    const reference = fast();
    reference.subscribe('t', () => {});
    reference.publish('t', 1);
    reference.publish('t', 2);
    assert.deepEqual(bus.metrics(), reference.metrics());
  });

  test('a throwing handler is isolated and retried, on both paths alike', () => {
    const run = (bus) => {
      const seen = [];
      let fail = true;
      bus.subscribe('t', (p, meta) => {
        seen.push(['first', p, meta.attempt]);
        if (fail) {
          fail = false;
          throw new Error('boom');
        }
      });
      bus.subscribe('t', (p, meta) => seen.push(['second', p, meta.attempt]));
      bus.publish('t', 'x');
      bus.publish('t', 'y');
      bus.advance(10);
      return { seen, totals: bus.metrics().totals, dead: bus.deadLetters().length };
    };
    const options = { retry: { attempts: 2, backoffMs: 10 } };
    const result = run(fast(options));
    assert.deepEqual(result.seen.slice(0, 2), [['first', 'x', 1], ['second', 'x', 1]]);
    assert.ok(result.seen.some(([who, p, attempt]) => who === 'first' && p === 'x' && attempt === 2));
    assert.equal(result.totals.failed, 1);
    assert.equal(result.totals.retried, 1);
    assert.deepEqual(result, run(slow(options)));
  });

  test('a promise-returning handler is pending until it settles', async () => {
    const bus = fast();
    let release;
    const order = [];
    bus.subscribe('t', () => new Promise((resolve) => { release = resolve; }));
    bus.subscribe('t', (p) => order.push(p));
    bus.publish('t', 1);
    assert.deepEqual(order, [1]);
    assert.equal(bus.isIdle(), false);
    assert.equal(bus.metrics().inFlight, 1);
    let idle = false;
    bus.idle().then(() => { idle = true; });
    await tick();
    assert.equal(idle, false);
    release();
    await tick();
    assert.equal(idle, true);
    assert.equal(bus.metrics().totals.delivered, 2);
  });

  test('a subscription removed mid-dispatch is skipped; one added mid-dispatch waits for the next message', () => {
    const run = (bus) => {
    const seen = [];
    let late;
    bus.subscribe('t', (p) => {
      seen.push(['first', p]);
      if (p === 1) {
        third.unsubscribe();
        late = bus.subscribe('t', (q) => seen.push(['late', q]));
      }
    });
    bus.subscribe('t', (p) => seen.push(['second', p]));
    const third = bus.subscribe('t', (p) => seen.push(['third', p]));
    bus.publish('t', 0);
    bus.publish('t', 1);
    bus.publish('t', 2);
    return { seen, totals: bus.metrics().totals, late: late.stats().counters };
    };
    const { seen, totals, late } = run(fast());
    assert.deepEqual(seen, [
      ['first', 0], ['second', 0], ['third', 0],
      ['first', 1], ['second', 1],
      ['first', 2], ['second', 2], ['late', 2],
    ]);
    assert.equal(totals.published, 3);
    assert.equal(totals.delivered, 3 + 2 + 3);
    assert.equal(totals.dropped, 1);
    assert.equal(late.delivered, 1);
    assert.deepEqual(run(fast()), run(slow()));
  });

  test('a handler that publishes sees its message reach everyone first (breadth first, with causation)', () => {
    const run = (bus) => {
      const seen = [];
      bus.subscribe('a', (p, meta) => {
        seen.push(['a1', p, meta.id]);
        bus.publish('b', `from ${p}`);
      });
      bus.subscribe('a', (p, meta) => seen.push(['a2', p, meta.id]));
      bus.subscribe('b', (p, meta) => seen.push(['b', p, meta.id, meta.causationId]));
      bus.publish('a', 1);
      bus.publish('a', 2);
      return seen;
    };
    const seen = run(fast());
    assert.deepEqual(seen, [
      ['a1', 1, 1], ['a2', 1, 1], ['b', 'from 1', 2, 1],
      ['a1', 2, 3], ['a2', 2, 3], ['b', 'from 2', 4, 3],
    ]);
    assert.deepEqual(seen, run(slow()));
  });

  test('publishes alternating between topics keep exact ids, sequence numbers, order and metrics', () => {
    const run = (bus) => {
      const log = [];
      for (const topic of ['x', 'y', 'z']) {
        bus.subscribe(topic, (p, meta) => log.push([topic, p, meta.id, meta.seq, meta.topic]));
      }
      bus.subscribe('*', (p, meta) => log.push(['*', p, meta.id, meta.seq]));
      const results = [];
      const order = ['x', 'y', 'x', 'z', 'y', 'y', 'x', 'z', 'x', 'y'];
      for (let round = 0; round < 3; round++) {
        order.forEach((topic, i) => results.push(bus.publish(topic, round * 100 + i)));
      }
      const { totals, topics } = bus.metrics();
      return { log, results, totals, topics: topics.map((t) => [t.topic, t.counters]) };
    };
    const observed = run(fast());
    assert.deepEqual(observed.results.map((r) => r.id), Array.from({ length: 30 }, (_, i) => i + 1));
    const seqOf = (topic) => observed.log.filter((entry) => entry[0] === topic).map((entry) => entry[3]);
    assert.deepEqual(seqOf('x'), Array.from({ length: 12 }, (_, i) => i + 1));
    assert.deepEqual(seqOf('y'), Array.from({ length: 12 }, (_, i) => i + 1));
    assert.deepEqual(seqOf('z'), Array.from({ length: 6 }, (_, i) => i + 1));
    assert.equal(observed.totals.published, 30);
    assert.equal(observed.totals.delivered, 60);
    assert.deepEqual(observed, run(slow()));
    // The next publish after the batch continues both numberings.
    const bus = fast();
    bus.subscribe('x', () => {});
    bus.subscribe('y', () => {});
    for (let i = 0; i < 5; i++) {
      bus.publish('x', i);
      bus.publish('y', i);
    }
    assert.deepEqual(bus.publish('y', 'last'), { id: 11, seq: 6, matched: 1 });
  });

  test('a burst over many topics crosses into the engine once per batch, not once per topic switch', async () => {
    const bus = fast();
    const topics = Array.from({ length: 50 }, (_, i) => `svc${i}.eu.created`);
    let sink = 0;
    for (let i = 0; i < topics.length; i++) bus.subscribe(`svc${i}.*.created`, () => { sink++; });
    for (const topic of topics) bus.publish(topic, 0); // fills every route
    await Promise.resolve();
    const record = EventBus.prototype.__inlineRecord;
    const route = EventBus.prototype.__inlineRoute;
    let records = 0;
    let routes = 0;
    EventBus.prototype.__inlineRecord = function (...args) {
      records++;
      return record.apply(this, args);
    };
    EventBus.prototype.__inlineRoute = function (...args) {
      routes++;
      return route.apply(this, args);
    };
    try {
      for (let round = 0; round < 3; round++) for (const topic of topics) bus.publish(topic, round);
      assert.equal(records, 0);
      assert.equal(routes, 0);
      await Promise.resolve();
      assert.equal(records, 1);
    } finally {
      EventBus.prototype.__inlineRecord = record;
      EventBus.prototype.__inlineRoute = route;
    }
    assert.equal(sink, 200);
    const { totals, topics: perTopic } = bus.metrics();
    assert.equal(totals.published, 200);
    assert.equal(totals.delivered, 200);
    assert.ok(perTopic.every((t) => t.counters.published === 4), 'every topic counted 4 publishes');
  });

  test('more topics and publishes than one batch holds are all recorded, in order', () => {
    const run = (bus) => {
      const seen = [];
      for (let i = 0; i < 300; i++) bus.subscribe(`t${i}`, (p, meta) => seen.push(meta.id - p));
      const last = [];
      for (let round = 0; round < 2; round++) {
        for (let i = 0; i < 300; i++) last.push(bus.publish(`t${i}`, round * 300 + i).id);
      }
      return { offsets: [...new Set(seen)], last: last.at(-1), totals: bus.metrics().totals };
    };
    const observed = run(fast());
    assert.deepEqual(observed.offsets, [1]); // meta.id is always payload + 1
    assert.equal(observed.last, 600);
    assert.equal(observed.totals.published, 600);
    assert.equal(observed.totals.delivered, 600);
    assert.deepEqual(observed, run(slow()));
  });

  test('a subscription added between publishes of a cached route receives the next one', () => {
    const bus = fast();
    const seen = [];
    bus.subscribe('t', (p) => seen.push(['first', p]));
    bus.publish('t', 1);
    bus.publish('t', 2);
    const second = bus.subscribe('t', (p) => seen.push(['second', p]));
    assert.equal(bus.publish('t', 3).matched, 2);
    second.unsubscribe();
    assert.equal(bus.publish('t', 4).matched, 1);
    assert.deepEqual(seen, [['first', 1], ['first', 2], ['first', 3], ['second', 3], ['first', 4]]);
  });

  test('reading metrics or stats between publishes keeps cached routes and counts every publish', () => {
    const bus = fast();
    const sub = bus.subscribe('a', () => {});
    bus.subscribe('b', () => {});
    bus.publish('a', 0);
    bus.publish('b', 0);
    const route = EventBus.prototype.__inlineRoute;
    let routes = 0;
    EventBus.prototype.__inlineRoute = function (...args) {
      routes++;
      return route.apply(this, args);
    };
    try {
      for (let i = 1; i <= 10; i++) {
        bus.publish('a', i);
        bus.publish('b', i);
        assert.equal(bus.metrics().totals.published, 2 + 2 * i);
        assert.equal(sub.stats().counters.delivered, 1 + i);
        assert.equal(sub.active, true);
      }
      assert.equal(routes, 0);
    } finally {
      EventBus.prototype.__inlineRoute = route;
    }
  });

  test('an on() listener added after fast publishes sees the following ones with their ids', () => {
    const bus = fast();
    bus.subscribe('a', () => {});
    bus.subscribe('b', () => {});
    for (let i = 0; i < 4; i++) {
      bus.publish('a', i);
      bus.publish('b', i);
    }
    const published = [];
    const off = bus.on('published', (event) => published.push([event.topic, event.message]));
    bus.publish('b', 'seen');
    bus.publish('a', 'seen');
    off();
    assert.deepEqual(published, [['b', 9], ['a', 10]]);
    assert.equal(bus.metrics().totals.published, 10);
    // With the listener gone the fast path resumes and the numbering continues.
    assert.deepEqual(bus.publish('a', 'after'), { id: 11, seq: 6, matched: 1 });
  });

  test('a throw or a follow-up publish inside an alternating run keeps ids consistent', () => {
    const run = (bus) => {
      const seen = [];
      let thrown = false;
      bus.subscribe('x', (p, meta) => {
        seen.push(['x', p, meta.id, meta.seq, meta.attempt]);
        if (p === 2 && !thrown) {
          thrown = true;
          throw new Error('once');
        }
      });
      bus.subscribe('y', (p, meta) => {
        seen.push(['y', p, meta.id, meta.seq]);
        if (p === 3) bus.publish('z', `from ${meta.id}`);
      });
      bus.subscribe('z', (p, meta) => seen.push(['z', p, meta.id, meta.causationId]));
      const ids = [];
      for (let i = 0; i < 6; i++) ids.push(bus.publish(i % 2 === 0 ? 'x' : 'y', i).id);
      bus.advance(10);
      ids.push(bus.publish('x', 'end').id);
      return { seen, ids, totals: bus.metrics().totals, dead: bus.deadLetters().length };
    };
    const options = { retry: { attempts: 2, backoffMs: 10 } };
    const observed = run(fast(options));
    assert.deepEqual(observed.ids, [1, 2, 3, 4, 6, 7, 8]);
    assert.ok(observed.seen.some(([who, p, id, , attempt]) => who === 'x' && p === 2 && id === 3 && attempt === 2));
    assert.ok(observed.seen.some(([who, p, id, causation]) => who === 'z' && p === 'from 4' && id === 5 && causation === 4));
    assert.deepEqual(observed, run(slow(options)));
  });

  for (const traceCapacity of [4096, 0]) {
    test(`buses publishing in turn within one task each record their own batch (traceCapacity ${traceCapacity})`, () => {
      // The engine reads every bus's batch from one shared area: each bus keeps its runs until
      // the call that records them, so interleaved publishes on several buses stay apart.
      const run = (make) => {
        const buses = [make(), make(), make()];
        const seen = buses.map(() => []);
        buses.forEach((bus, b) => {
          for (const topic of ['x', 'y', 'z']) bus.subscribe(topic, (payload, meta) => seen[b].push([topic, payload, meta?.id, meta?.seq]));
        });
        const order = ['x', 'y', 'y', 'x', 'z', 'x', 'x', 'y'];
        const records = countRecords(() => {
          for (let round = 0; round < 40; round++) {
            order.forEach((topic, i) => buses.forEach((bus, b) => bus.publish(order[(i + b) % order.length], round * 100 + i)));
          }
        });
        return {
          records,
          seen,
          totals: buses.map((bus) => bus.metrics().totals),
          traces: buses.map((bus) => (traceCapacity > 0 ? bus.trace().events : [])),
          stats: buses.map((bus) => bus.subscriptions().map((s) => [s.pattern, s.delivered])),
        };
      };
      const observed = run(() => fast({ traceCapacity }));
      const reference = run(() => slow({ traceCapacity }));
      assert.ok(observed.records > 0, 'the buses took the fast path');
      assert.equal(reference.records, 0);
      assert.deepEqual({ ...observed, records: 0 }, reference);
    });
  }

  test('with traceCapacity the fast path runs and bus.trace() reads exactly the slow path events', () => {
    const run = (bus) => {
      for (const topic of ['x', 'y', 'z']) bus.subscribe(topic, () => {});
      bus.subscribe('*', () => {}, { priority: 2 });
      const order = ['x', 'y', 'x', 'x', 'z', 'y', 'y', 'x', 'q'];
      const records = countRecords(() => {
        for (let round = 0; round < 3; round++) {
          order.forEach((topic, i) => bus.publish(topic, round * 100 + i));
          bus.advance(1);
        }
      });
      const { events, cursor, missed } = bus.trace();
      return { records, events, cursor, missed, totals: bus.metrics().totals };
    };
    const observed = run(fast({ traceCapacity: 4096 }));
    const reference = run(slow({ traceCapacity: 4096 }));
    assert.ok(observed.records > 0, 'the traced bus took the fast path');
    assert.equal(reference.records, 0, 'the bus with a listener took the slow path');
    const kinds = (events) => [...new Set(events.map((e) => e.kind))].sort();
    assert.deepEqual(kinds(observed.events), ['delivered', 'delivering', 'message_enqueued', 'published', 'subscriber_added']);
    assert.equal(observed.events.filter((e) => e.kind === 'published').length, 27);
    assert.deepEqual(
      observed.events.filter((e) => e.kind === 'published').map((e) => e.message),
      Array.from({ length: 27 }, (_, i) => i + 1),
    );
    assert.deepEqual({ ...observed, records: 0 }, reference);
  });

  test('a small trace ring keeps the newest events and counts the rest as missed, as the slow path does', () => {
    const run = (bus) => {
      bus.subscribe('t', () => {});
      bus.subscribe('t', () => {});
      for (let i = 0; i < 100; i++) bus.publish('t', i);
      return bus.trace(5);
    };
    const observed = run(fast({ traceCapacity: 10 }));
    assert.equal(observed.events.length, 10);
    assert.equal(observed.cursor, 2 + 100 * 7);
    assert.equal(observed.missed, observed.cursor - 10 - 5);
    // A listener grows the reference's ring: it holds the whole history, of which the fast
    // ring must hold exactly the newest 10 events.
    const reference = run(slow({ traceCapacity: 10 }));
    assert.equal(reference.cursor, observed.cursor);
    assert.deepEqual(observed.events, reference.events.slice(-10));
  });

  test('an on() listener added mid-stream on a traced bus receives every later event before publish returns', () => {
    const bus = fast({ traceCapacity: 256 });
    bus.subscribe('a', () => {});
    bus.subscribe('b', () => {});
    for (let i = 0; i < 5; i++) {
      bus.publish('a', i);
      bus.publish('b', i);
    }
    const seen = [];
    const off = bus.on('*', (event) => seen.push([event.kind, event.message]));
    for (let i = 0; i < 3; i++) {
      const { id } = bus.publish(i % 2 ? 'b' : 'a', 'seen');
      // Synchronously, before publish returned: published, enqueued, delivering, delivered.
      assert.deepEqual(seen.splice(0), [
        ['published', id],
        ['message_enqueued', id],
        ['delivering', id],
        ['delivered', id],
      ]);
    }
    off();
    // With the listener gone the fast path resumes, and the ring keeps recording.
    const before = bus.trace().cursor;
    assert.equal(countRecords(() => bus.publish('a', 'after')), 0); // recorded at the batch end
    const after = bus.trace(before); // reading records the batch first
    assert.deepEqual(after.events.map((e) => [e.kind, e.message]), [
      ['published', 14],
      ['message_enqueued', 14],
      ['delivering', 14],
      ['delivered', 14],
    ]);
    assert.equal(seen.length, 0);
  });

  test('a throw on a traced fast bus traces no delivered event for the failed handler', () => {
    const bus = fast({ traceCapacity: 256 });
    const ok = bus.subscribe('t', () => {});
    const bad = bus.subscribe('t', () => {
      throw new Error('boom');
    });
    bus.publish('t', 1);
    const events = bus.trace().events.filter((e) => e.kind !== 'subscriber_added');
    const of = (sub) => events.filter((e) => e.subscription === sub.id).map((e) => e.kind);
    assert.deepEqual(of(ok), ['message_enqueued', 'delivering', 'delivered']);
    assert.deepEqual(of(bad), ['message_enqueued', 'delivering', 'failed', 'dead_letter']);
    assert.deepEqual(events.map((e) => e.cursor), events.map((_, i) => events[0].cursor + i));
  });

  test('an on() listener added by a handler of a fast traced publish sees what the slow path shows it', () => {
    const run = (bus) => {
      const seen = [];
      let off;
      bus.subscribe('t', () => {
        off ??= bus.on('*', (event) => seen.push([event.kind, event.message]));
      });
      bus.subscribe('t', (p) => {
        if (p === 1) throw new Error('boom');
      });
      bus.publish('t', 1);
      const first = seen.splice(0);
      bus.publish('t', 2);
      const second = seen.splice(0);
      off();
      const events = bus.trace().events.map((e) => [e.cursor, e.kind, e.subscription, e.message]);
      return { first, second, events };
    };
    const observed = run(fast({ traceCapacity: 256 }));
    // The listener came while the first handler ran: it sees that delivery end, then the second
    // handler's delivery fail.
    assert.deepEqual(observed.first, [
      ['delivered', 1],
      ['delivering', 1],
      ['failed', 1],
      ['dead_letter', 1],
    ]);
    assert.deepEqual(observed.second, [
      ['published', 2],
      ['message_enqueued', 2],
      ['message_enqueued', 2],
      ['delivering', 2],
      ['delivered', 2],
      ['delivering', 2],
      ['delivered', 2],
    ]);
    const cursors = observed.events.map(([cursor]) => cursor);
    assert.deepEqual(cursors, cursors.map((_, i) => cursors[0] + i));
    assert.equal(observed.events.filter(([, kind, , message]) => kind === 'delivered' && message === 1).length, 1);
    // The trace and later publishes are the slow path's. (A listener added to a bus that already
    // has one shares its pending events, so there it also sees the events before it came.)
    const reference = run(slow({ traceCapacity: 256 }));
    assert.deepEqual(observed.second, reference.second);
    assert.deepEqual(observed.events, reference.events);
    assert.deepEqual(reference.first.slice(-4), observed.first);
  });
});
