// Lifecycle events (on), the trace ring, metrics, leak reports and close().

import assert from 'node:assert/strict';
import { describe, test } from 'node:test';

import { expectCode, importPackage } from './helpers/package.mjs';

const { EventBus, SwitchyardError } = await importPackage();

describe('observability', () => {
  test('on(kind) receives lifecycle events with the JS names, and off() stops them', () => {
    const bus = new EventBus();
    const kinds = [];
    const off = bus.on('*', (event) => kinds.push(event.kind));
    const added = [];
    const offAdded = bus.on('subscriber_added', (event) => added.push(event));
    const sub = bus.subscribe('orders.*', () => {});
    bus.publish('orders.created', 1);
    assert.ok(kinds.includes('subscriber_added'));
    assert.ok(kinds.includes('published'));
    assert.ok(kinds.includes('message_enqueued'));
    assert.ok(kinds.includes('delivered'));
    assert.equal(added.length, 1);
    assert.equal(added[0].subscription, sub.id);
    off();
    offAdded();
    const before = kinds.length;
    bus.publish('orders.created', 2);
    assert.equal(kinds.length, before);
  });

  test('dead_letter and dropped events carry their subscription', () => {
    const bus = new EventBus();
    const events = [];
    bus.on('dead_letter', (e) => events.push(e));
    bus.on('dropped', (e) => events.push(e));
    const failing = bus.subscribe('t', () => {
      throw new Error('x');
    });
    bus.publish('t', 1);
    const dropping = bus.subscribe('u', () => {}, { capacity: 1, overflow: 'drop-newest' });
    dropping.pause();
    bus.publish('u', 1);
    bus.publish('u', 2);
    assert.deepEqual(events.map((e) => [e.kind, e.subscription]), [
      ['dead_letter', failing.id],
      ['dropped', dropping.id],
    ]);
  });

  test('dead_letter_evicted names the dead letter a full store dropped, and metrics count it', () => {
    const bus = new EventBus({ deadLetterCapacity: 1 });
    const evicted = [];
    bus.on('dead_letter_evicted', (e) => evicted.push(e));
    const failing = bus.subscribe('t', () => {
      throw new Error('x');
    });
    const first = bus.publish('t', 1);
    const [letter] = bus.deadLetters();
    assert.deepEqual(evicted, []);
    bus.publish('t', 2);
    assert.equal(evicted.length, 1);
    assert.equal(evicted[0].kind, 'dead_letter_evicted');
    assert.equal(evicted[0].message, first.id);
    assert.equal(evicted[0].subscription, failing.id);
    assert.equal(evicted[0].topic, 't');
    assert.equal(evicted[0].detail, letter.id);
    assert.equal(bus.metrics().deadLettersEvicted, 1);
    assert.deepEqual(bus.deadLetters().map((d) => d.payload), [2]);
  });

  test('a listener that throws does not break the bus; a listener may publish', () => {
    const bus = new EventBus();
    const seen = [];
    const original = console.error;
    console.error = () => {};
    try {
      bus.on('published', () => {
        throw new Error('listener bug');
      });
      bus.on('subscriber_added', () => bus.publish('audit', 'added'));
      bus.subscribe('audit', (p) => seen.push(p));
      bus.publish('audit', 'direct');
    } finally {
      console.error = original;
    }
    assert.deepEqual(seen, ['added', 'direct']);
  });

  test('on() rejects unknown kinds and non-function listeners', () => {
    const bus = new EventBus();
    expectCode(assert, () => bus.on('subscribed', () => {}), 'E_INVALID_OPTION', SwitchyardError);
    expectCode(assert, () => bus.on('published', 'nope'), 'E_INVALID_HANDLER', SwitchyardError);
  });

  test('trace(cursor) reads the ring by cursor when traceCapacity is set', () => {
    const bus = new EventBus({ traceCapacity: 64 });
    bus.subscribe('t', () => {});
    bus.publish('t', 1);
    const first = bus.trace();
    assert.ok(first.events.length >= 4);
    assert.equal(first.missed, 0);
    bus.publish('t', 2);
    const next = bus.trace(first.cursor);
    assert.ok(next.events.every((e) => e.cursor >= first.cursor));
    assert.ok(next.events.some((e) => e.kind === 'published'));
  });

  test('trace stays empty with no traceCapacity and no listener', () => {
    const bus = new EventBus();
    bus.subscribe('t', () => {});
    bus.publish('t', 1);
    assert.equal(bus.trace().events.length, 0);
  });

  test('metrics count per bus, topic and subscription', () => {
    const bus = new EventBus();
    bus.subscribe('a.*', () => {});
    bus.subscribe('a.x', () => {
      throw new Error('no');
    });
    bus.publish('a.x', 1);
    bus.publish('a.y', 2);
    const m = bus.metrics();
    assert.equal(m.activeSubscriptions, 2);
    assert.equal(m.totals.delivered, 2);
    assert.equal(m.totals.failed, 1);
    assert.equal(m.totals.deadLettered, 1);
    assert.equal(m.deadLetters, 1);
    const topic = m.topics.find((t) => t.topic === 'a.x');
    assert.equal(topic.counters.published, 1);
    const subs = bus.subscriptions();
    assert.equal(subs.length, 2);
    assert.equal(subs[0].pattern, 'a.*');
    assert.equal(subs[0].overflow, 'reject');
    assert.equal(subs[0].capacity, 1024);
  });

  test('leaks() reports a pattern over maxListeners with names', () => {
    const bus = new EventBus({ maxListeners: 2 });
    for (let i = 0; i < 3; i++) bus.subscribe('hot', () => {}, { name: `listener-${i}` });
    const leaks = bus.leaks();
    assert.ok(leaks.length >= 1);
    assert.equal(leaks[0].reason, 'max_listeners');
    assert.equal(leaks[0].pattern, 'hot');
    assert.ok(leaks[0].suspects.some((s) => s.name === 'listener-2'));
  });

  test('close() makes publish and subscribe throw E_CLOSED and resolves idle()', async () => {
    const bus = new EventBus();
    bus.subscribe('t', () => new Promise(() => {}));
    bus.publish('t', 1);
    const idle = bus.idle();
    bus.close();
    await idle;
    assert.equal(bus.closed, true);
    expectCode(assert, () => bus.publish('t', 1), 'E_CLOSED', SwitchyardError);
    expectCode(assert, () => bus.subscribe('t', () => {}), 'E_CLOSED', SwitchyardError);
    assert.equal(bus.metrics().activeSubscriptions, 0);
  });
  test('metrics conserve every matched message with a batch in flight: inFlight counts messages', () => {
    const bus = new EventBus({ clock: 'manual' });
    bus.subscribe('t', () => new Promise(() => {}), { delivery: { batch: { size: 2 } } });
    bus.subscribe('t', () => {});
    for (const n of [1, 2, 3]) bus.publish('t', n);
    const m = bus.metrics();
    const t = m.totals;
    assert.equal(m.inFlight, 2, 'both messages of the pending batch');
    assert.equal(m.inFlightDeliveries, 1);
    assert.equal(t.matched, 6);
    assert.equal(
      t.matched + t.redriven,
      t.delivered + t.filtered + t.dropped + t.deadLettered + m.queued + m.inFlight,
    );
    const batched = bus.subscriptions()[0];
    assert.deepEqual([batched.depth, batched.inFlight, batched.inFlightDeliveries], [1, 2, 1]);
  });
  test('metrics() names every topic exactly, quotes, backslashes and non-ASCII included', () => {
    const bus = new EventBus();
    const names = ['a"quoted".topic', 'back\\slash', 'caf\u00e9.\u{1F600}', 'tab\u0001ctl'];
    const accepted = names.filter((topic) => {
      try {
        bus.publish(topic, 1);
        return true;
      } catch {
        return false;
      }
    });
    assert.ok(accepted.length >= 3, `accepted ${JSON.stringify(accepted)}`);
    const topics = bus.metrics().topics.map((t) => t.topic);
    assert.deepEqual(topics, [...accepted].sort());
    assert.equal(Object.getPrototypeOf(bus.metrics()), Object.prototype);
  });
});
