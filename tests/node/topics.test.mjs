// The per-topic table stays within `maxTopics`: an application publishing ever new topics
// (`order.<n>.created`) keeps flat memory on both delivery paths, while ids, sequence numbers,
// deliveries and totals stay exact and busy topics are kept.

import assert from 'node:assert/strict';
import { describe, test } from 'node:test';

import { expectCode, importPackage, importSnapshotPackage } from './helpers/package.mjs';
import { busesOnBothPaths } from './helpers/paths.mjs';

const { EventBus, SwitchyardError } = await importPackage();
const { fast, slow } = busesOnBothPaths(EventBus);
/** The entry with snapshots, for the case that restores. */
const withSnapshots = await importSnapshotPackage();

/** Trace events an `on()` listener makes the ring keep (`OBSERVER_TRACE_CAPACITY`). */
const OBSERVER_TRACE_EVENTS = 4096;

/**
 * Publishes `count` one-off topics with a `hot` topic between each, checking every delivery's
 * metadata; returns the bus metrics and what the handler saw.
 */
function rotate(bus, count, publish = (topic, n) => bus.publish(topic, n)) {
  const seen = [];
  bus.subscribe('order.*.created', (payload, meta) => seen.push([meta.topic, meta.seq, meta.id, payload]));
  let hotSeq = 0;
  for (let n = 0; n < count; n++) {
    const unique = publish(`order.${n}.created`, n);
    assert.equal(unique.seq, 1, `order.${n}.created is a new topic`);
    const hot = publish('order.hot.created', -n);
    assert.equal(hot.seq, ++hotSeq, 'the hot topic is never evicted');
  }
  return { metrics: bus.metrics(), seen };
}

/** Checks what the handler saw: every publish once, ids 1, 2, 3... and per-topic seqs. */
function checkDeliveries(seen, count) {
  assert.equal(seen.length, 2 * count);
  seen.forEach(([topic, seq, id, payload], index) => {
    assert.equal(id, index + 1);
    const n = index >> 1;
    if (index % 2 === 0) assert.deepEqual([topic, seq, payload], [`order.${n}.created`, 1, n]);
    else assert.deepEqual([topic, seq, payload], ['order.hot.created', n + 1, -n]);
  });
}

function checkTotals(metrics, count) {
  assert.equal(metrics.totals.published, 2 * count);
  assert.equal(metrics.totals.delivered, 2 * count);
  // Every topic but the ones kept was evicted; nothing was lost from the totals.
  assert.equal(metrics.topicsEvicted, count + 1 - metrics.topics.length);
  const hot = metrics.topics.find((t) => t.topic === 'order.hot.created');
  assert.equal(hot.counters.published, count);
  assert.equal(hot.counters.delivered, count);
}

describe('maxTopics', () => {
  test('is validated like the other options, naming it', () => {
    for (const maxTopics of [0, -1, 1.5, NaN, '10', 2 ** 32]) {
      const error = expectCode(assert, () => new EventBus({ maxTopics }), 'E_INVALID_OPTION', SwitchyardError);
      assert.match(error.message, /maxTopics/);
    }
    assert.equal(new EventBus({ maxTopics: 1 }).metrics().topicsEvicted, 0);
  });

  test('the fast path keeps the table at the bound over 5000 distinct topics', () => {
    const count = 5000;
    // The fast path records its batches with `__inlineRecord`: count them to be sure it ran.
    const record = EventBus.prototype.__inlineRecord;
    let records = 0;
    EventBus.prototype.__inlineRecord = function (...args) {
      records++;
      return record.apply(this, args);
    };
    let result;
    try {
      result = rotate(fast({ maxTopics: 100 }), count);
    } finally {
      EventBus.prototype.__inlineRecord = record;
    }
    const { metrics, seen } = result;
    assert.ok(records >= count, `${records} batches recorded inline`);
    checkDeliveries(seen, count);
    checkTotals(metrics, count);
    assert.equal(metrics.topics.length, 100);
  });

  test('the slow path (publish options) keeps the table at the bound too', () => {
    const count = 5000;
    const bus = fast({ maxTopics: 100 });
    const { metrics, seen } = rotate(bus, count, (topic, n) => bus.publish(topic, n, {}));
    checkDeliveries(seen, count);
    checkTotals(metrics, count);
    assert.equal(metrics.topics.length, 100);
  });

  test('with an on() listener, topics the trace ring still shows are kept until overwritten', () => {
    const count = 5000;
    const bus = slow({ maxTopics: 100 });
    const { metrics, seen } = rotate(bus, count);
    checkDeliveries(seen, count);
    checkTotals(metrics, count);
    // Four events per one-subscriber publish: the ring names at most a quarter as many topics.
    assert.ok(metrics.topics.length <= 100 + OBSERVER_TRACE_EVENTS / 4, `${metrics.topics.length} topics`);
    assert.ok(metrics.topicsEvicted >= count - OBSERVER_TRACE_EVENTS / 4);
  });

  test('both paths show the same deliveries, totals and kept topics', () => {
    const count = 3000;
    const onFast = rotate(fast({ maxTopics: 50 }), count);
    const bus = fast({ maxTopics: 50 });
    const onSlow = rotate(bus, count, (topic, n) => bus.publish(topic, n, {}));
    assert.deepEqual(onFast.seen, onSlow.seen);
    assert.deepEqual(onFast.metrics.totals, onSlow.metrics.totals);
    assert.equal(onFast.metrics.topicsEvicted, onSlow.metrics.topicsEvicted);
    const names = (m) => m.topics.map((t) => t.topic);
    assert.deepEqual(names(onFast.metrics), names(onSlow.metrics));
  });

  test('a topic with a queued or dead-lettered message is kept, and counts on after the churn', () => {
    const bus = fast({ maxTopics: 10 });
    const got = [];
    const held = bus.subscribe('held', (payload, meta) => got.push([payload, meta.seq]));
    held.pause();
    bus.publish('held', 'queued');
    bus.subscribe('fails', () => {
      throw new Error('no');
    });
    bus.publish('fails', 'dead');
    bus.subscribe('churn.*', () => {});
    for (let n = 0; n < 1000; n++) bus.publish(`churn.${n}`, n);
    const kept = new Set(bus.metrics().topics.map((t) => t.topic));
    assert.ok(kept.has('held') && kept.has('fails'));
    assert.ok(kept.size <= 10);

    held.resume();
    assert.deepEqual(got, [['queued', 1]]);
    assert.equal(bus.publish('held', 'again').seq, 2, 'the same topic lifetime');
    assert.equal(bus.redrive(), 1);
    const stats = (topic) => bus.metrics().topics.find((t) => t.topic === topic).counters;
    assert.deepEqual([stats('held').published, stats('held').delivered], [2, 2]);
    // Redriven, it failed and was dead-lettered again, on the same topic entry.
    assert.deepEqual([stats('fails').failed, stats('fails').deadLettered], [2, 2]);
  });

  test('a topic published again after its eviction restarts seq at 1, ids keep counting', () => {
    const bus = fast({ maxTopics: 2 });
    const metas = [];
    bus.subscribe('**', (payload, meta) => metas.push([meta.topic, meta.id, meta.seq]));
    bus.publish('a', 1);
    bus.publish('a', 2);
    for (let n = 0; n < 5; n++) bus.publish(`other.${n}`, n);
    assert.ok(!bus.metrics().topics.some((t) => t.topic === 'a'));
    bus.publish('a', 3);
    assert.deepEqual(metas.filter(([topic]) => topic === 'a'), [['a', 1, 1], ['a', 2, 2], ['a', 8, 1]]);
  });

  test('a snapshot after evictions restores the kept topics under the same bound', () => {
    const bus = busesOnBothPaths(withSnapshots.EventBus).fast({ maxTopics: 20 });
    bus.subscribe('t.*', () => {});
    for (let n = 0; n < 200; n++) bus.publish(`t.${n}`, n);
    const before = bus.metrics();
    const restored = withSnapshots.EventBus.restore(bus.snapshot(), { clock: 'manual', maxTopics: 5, handlers: {} });
    const after = restored.metrics();
    assert.deepEqual(after.totals, before.totals);
    assert.equal(after.topics.length, 5);
    assert.equal(after.topicsEvicted, 15);
  });
  test('with retain > 0, order.<uuid> topics stay within maxTopics; retained messages evicted are counted', () => {
    const bus = new EventBus({ maxTopics: 50, retain: 1 });
    for (let i = 0; i < 2000; i++) bus.publish(`order.${i}-${(i * 2654435761) >>> 0}`, { i });
    const m = bus.metrics();
    assert.ok(m.topics.length <= 50, `${m.topics.length} topics kept`);
    assert.equal(m.topicsEvicted, 2000 - m.topics.length);
    assert.equal(m.retainedEvicted, m.topicsEvicted, 'each evicted topic took its one retained message');
    // The topics still kept replay their retained message.
    const seen = [];
    bus.subscribe('order.*', (p) => seen.push(p.i), { replay: 100 });
    assert.equal(seen.length, m.topics.length);
    assert.equal(seen.at(-1), 1999);
  });
});

describe('topics and patterns hold well-formed text', () => {
  for (const [path, make] of Object.entries({ fast, slow })) {
    test(`a topic with a lone surrogate is refused with E_INVALID_TOPIC (${path} path), nothing delivered`, () => {
      const bus = make();
      const seen = [];
      bus.subscribe('s.*', (payload, meta) => seen.push(meta.topic));
      for (const topic of ['s.\ud800', 's.\udbff', 's.\udc00x', 's.a\ud83d']) {
        expectCode(assert, () => bus.publish(topic, 1), 'E_INVALID_TOPIC', SwitchyardError);
      }
      assert.deepEqual(seen, []);
      assert.equal(bus.metrics().totals.published, 0);
      // A real U+FFFD and a surrogate pair are well-formed.
      bus.publish('s.\ufffd', 1);
      bus.publish('s.\ud83d\ude00', 2);
      assert.deepEqual(seen, ['s.\ufffd', 's.\ud83d\ude00']);
    });
  }

  test('a pattern with a lone surrogate is refused with E_INVALID_PATTERN, so two never collide', async () => {
    const bus = new EventBus();
    expectCode(assert, () => bus.subscribe('s.\ud800', () => {}), 'E_INVALID_PATTERN', SwitchyardError);
    expectCode(assert, () => bus.stream('s.\udfff'), 'E_INVALID_PATTERN', SwitchyardError);
    await assert.rejects(bus.waitFor('\ud800.*'), (e) => e instanceof SwitchyardError && e.code === 'E_INVALID_PATTERN');
    assert.equal(bus.subscriptions().length, 0);
    const seen = [];
    bus.subscribe('s.\ufffd', (p) => seen.push(p));
    expectCode(assert, () => bus.publish('s.\udbff', 1), 'E_INVALID_TOPIC', SwitchyardError);
    bus.publish('s.\ufffd', 2);
    assert.deepEqual(seen, [2]);
  });
});
