// Async handlers, retries, dead letters, redrive, timeouts, backpressure, batching, pause,
// idle — with `clock: 'manual'` so every timing is exact.

import assert from 'node:assert/strict';
import { describe, test } from 'node:test';

import { expectCode, importPackage } from './helpers/package.mjs';

const { EventBus, SwitchyardError } = await importPackage();
const tick = () => new Promise((resolve) => setImmediate(resolve));

describe('async handlers and retries', () => {
  test('a returned promise keeps the delivery pending until it settles', async () => {
    const bus = new EventBus();
    let release;
    const done = [];
    bus.subscribe('t', (p) => new Promise((resolve) => {
      release = resolve;
    }).then(() => done.push(p)));
    bus.publish('t', 1);
    bus.publish('t', 2);
    assert.equal(bus.isIdle(), false);
    assert.equal(bus.metrics().inFlight, 1);
    release();
    await tick();
    release();
    await bus.idle();
    assert.deepEqual(done, [1, 2]);
    assert.equal(bus.metrics().totals.delivered, 2);
  });

  test('a rejected promise is retried with backoff, then dead-lettered', async () => {
    const bus = new EventBus({ clock: 'manual', retry: { attempts: 3, backoffMs: 100, maxBackoffMs: 1000 } });
    const attempts = [];
    bus.subscribe('t', async (_, meta) => {
      attempts.push([meta.attempt, bus.now()]);
      throw new Error('nope');
    });
    bus.publish('t', 'payload');
    await tick();
    assert.deepEqual(attempts, [[1, 0]]);
    bus.advance(99);
    await tick();
    assert.equal(attempts.length, 1);
    bus.advance(1);
    await tick();
    assert.deepEqual(attempts[1], [2, 100]);
    bus.advance(200);
    await tick();
    assert.deepEqual(attempts[2], [3, 300]);
    const [letter] = bus.deadLetters();
    assert.equal(letter.attempts, 3);
    assert.equal(letter.reason, 'handler_error');
    assert.equal(letter.lastError, 'Error: nope');
    assert.equal(letter.payload, 'payload');
    assert.equal(bus.metrics().totals.retried, 2);
  });

  test('redrive moves a dead letter back with attempts reset; purge empties the store', async () => {
    const bus = new EventBus({ clock: 'manual' });
    let fail = true;
    const delivered = [];
    bus.subscribe('t', (p, m) => {
      if (fail) throw new Error('down');
      delivered.push([p, m.attempt]);
    });
    bus.publish('t', 'a');
    bus.publish('t', 'b');
    assert.equal(bus.deadLetters().length, 2);
    fail = false;
    const [first] = bus.deadLetters();
    assert.equal(bus.redrive([first.id]), 1);
    assert.deepEqual(delivered, [['a', 1]]);
    assert.equal(bus.deadLetters().length, 1);
    assert.equal(bus.redrive([123456]), 0);
    assert.equal(bus.purgeDeadLetters(), 1);
    assert.equal(bus.deadLetters().length, 0);
    fail = true;
    bus.publish('t', 'c');
    fail = false;
    assert.equal(bus.redrive(), 1);
    assert.deepEqual(delivered.at(-1), ['c', 1]);
  });

  test('a pending delivery that outlives timeoutMs fails and is dead-lettered as timeout', async () => {
    const bus = new EventBus({ clock: 'manual' });
    bus.subscribe('t', () => new Promise(() => {}), { timeoutMs: 50 });
    bus.publish('t', 1);
    await tick();
    bus.advance(50);
    const letters = bus.deadLetters();
    assert.equal(letters.length, 1);
    assert.equal(letters[0].reason, 'timeout');
  });

  test('idle() waits for pending work including scheduled retries (real clock)', async () => {
    const bus = new EventBus({ retry: { attempts: 2, backoffMs: 5 } });
    let calls = 0;
    bus.subscribe('t', () => {
      calls += 1;
      if (calls === 1) throw new Error('first fails');
    });
    bus.publish('t', null);
    assert.equal(bus.isIdle(), false);
    await bus.idle();
    assert.equal(calls, 2);
    assert.equal(bus.deadLetters().length, 0);
  });
});

describe('backpressure', () => {
  test("'reject' refuses the publish atomically and names the full subscription", () => {
    const bus = new EventBus();
    const free = [];
    bus.subscribe('t', (p) => free.push(p));
    const slow = bus.subscribe('t', () => {}, { capacity: 2, name: 'slow-consumer' });
    slow.pause();
    bus.publish('t', 1);
    bus.publish('t', 2);
    const error = expectCode(assert, () => bus.publish('t', 3), 'E_BACKPRESSURE', SwitchyardError);
    assert.match(error.message, /slow-consumer/);
    assert.equal(error.subscriptionName, 'slow-consumer');
    assert.equal(error.capacity, 2);
    assert.deepEqual(free, [1, 2], 'nothing was enqueued for anyone');
    assert.equal(bus.metrics().publishesRejected, 1);
    slow.resume();
    assert.equal(slow.stats().depth, 0);
  });

  test("'drop-oldest' keeps the newest and counts drops", () => {
    const bus = new EventBus();
    const seen = [];
    const sub = bus.subscribe('t', (p) => seen.push(p), { capacity: 2, overflow: 'drop-oldest' });
    sub.pause();
    for (let i = 1; i <= 5; i++) bus.publish('t', i);
    assert.equal(sub.stats().counters.dropped, 3);
    assert.equal(sub.stats().highWater, 2);
    sub.resume();
    assert.deepEqual(seen, [4, 5]);
  });

  test("'drop-newest' keeps the oldest and counts drops", () => {
    const bus = new EventBus({ capacity: 2, overflow: 'drop-newest' });
    const seen = [];
    const sub = bus.subscribe('t', (p) => seen.push(p));
    sub.pause();
    for (let i = 1; i <= 5; i++) bus.publish('t', i);
    sub.resume();
    assert.deepEqual(seen, [1, 2]);
    assert.equal(bus.metrics().totals.dropped, 3);
  });

  test('a slow async consumer grows only its own queue', async () => {
    const bus = new EventBus();
    const fast = [];
    const slow = bus.subscribe('t', () => new Promise(() => {}));
    bus.subscribe('t', (p) => fast.push(p));
    for (let i = 0; i < 10; i++) bus.publish('t', i);
    assert.equal(fast.length, 10);
    assert.equal(slow.stats().depth, 9);
    assert.equal(slow.stats().inFlight, 1);
  });
});

describe('delivery strategies', () => {
  test('batches flush at size, after maxWaitMs, or on flush()', () => {
    const bus = new EventBus({ clock: 'manual' });
    const batches = [];
    const sub = bus.subscribe('t', (payloads, metas) => {
      assert.equal(payloads.length, metas.length);
      batches.push(payloads);
    }, { delivery: { batch: { size: 3, maxWaitMs: 100 } } });
    for (let i = 1; i <= 4; i++) bus.publish('t', i);
    assert.deepEqual(batches, [[1, 2, 3]]);
    bus.advance(100);
    assert.deepEqual(batches, [[1, 2, 3], [4]]);
    bus.publish('t', 5);
    sub.flush();
    assert.deepEqual(batches.at(-1), [5]);
  });

  test('swapping strategy keeps queued messages', () => {
    const bus = new EventBus({ clock: 'manual' });
    const calls = [];
    const sub = bus.subscribe('t', (p) => calls.push(p), { delivery: { batch: { size: 10, maxWaitMs: 1000 } } });
    bus.publish('t', 1);
    bus.publish('t', 2);
    assert.equal(sub.setDelivery('immediate'), true);
    assert.equal(sub.stats().delivery, 'immediate');
    bus.publish('t', 3);
    assert.deepEqual(calls, [1, 2, 3]);
  });

  test('pause queues, resume delivers in order', () => {
    const bus = new EventBus();
    const seen = [];
    const sub = bus.subscribe('t', (p) => seen.push(p));
    sub.pause();
    bus.publish('t', 1);
    bus.publish('t', 2);
    assert.equal(sub.stats().paused, true);
    assert.deepEqual(seen, []);
    sub.resume();
    assert.deepEqual(seen, [1, 2]);
  });

  test('ttlMs expires queued messages into dead letters', () => {
    const bus = new EventBus({ clock: 'manual' });
    const sub = bus.subscribe('t', () => {});
    sub.pause();
    bus.publish('t', 'stale', { ttlMs: 10 });
    bus.advance(20);
    sub.resume();
    const letters = bus.deadLetters();
    assert.equal(letters.length, 1);
    assert.equal(letters[0].reason, 'expired');
  });
});

describe('breakers and concurrency', () => {
  test('a breaker opens after consecutive failures, keeps messages queued, then lets a trial through', () => {
    const bus = new EventBus({ clock: 'manual' });
    let healthy = false;
    const calls = [];
    const sub = bus.subscribe('t', (p) => {
      calls.push(p);
      if (!healthy) throw new Error('down');
    }, { breaker: { failures: 2, cooldownMs: 100 } });
    const opened = [];
    bus.on('circuit_opened', (e) => opened.push(e.subscription));
    bus.publish('t', 1);
    bus.publish('t', 2);
    assert.equal(sub.stats().breaker, 'open');
    assert.deepEqual(opened, [sub.id]);
    bus.publish('t', 3);
    assert.deepEqual(calls, [1, 2], 'nothing is delivered while open');
    assert.equal(sub.stats().depth, 1, 'the message waits in the queue');
    healthy = true;
    bus.advance(100);
    assert.deepEqual(calls, [1, 2, 3]);
    assert.equal(sub.stats().breaker, 'closed');
  });

  test('concurrency allows several pending deliveries at once', async () => {
    const bus = new EventBus();
    const started = [];
    const releases = [];
    bus.subscribe('t', (p) => {
      started.push(p);
      return new Promise((resolve) => releases.push(resolve));
    }, { concurrency: 2 });
    for (let i = 1; i <= 3; i++) bus.publish('t', i);
    assert.deepEqual(started, [1, 2]);
    releases.shift()();
    await new Promise((resolve) => setImmediate(resolve));
    assert.deepEqual(started, [1, 2, 3]);
    for (const release of releases.splice(0)) release();
    await bus.idle();
  });
});

describe('ordering under retries', () => {
  test("'strict' holds later messages behind a retry; 'relaxed' lets them go ahead", () => {
    for (const [ordering, expected] of [
      ['strict', ['a#1', 'a#2', 'b#1']],
      ['relaxed', ['a#1', 'b#1', 'a#2']],
    ]) {
      const bus = new EventBus({ clock: 'manual', retry: { attempts: 2, backoffMs: 50 } });
      const calls = [];
      bus.subscribe('t', (p, m) => {
        calls.push(`${p}#${m.attempt}`);
        if (p === 'a' && m.attempt === 1) throw new Error('first attempt fails');
      }, { ordering });
      bus.publish('t', 'a');
      bus.publish('t', 'b');
      bus.advance(50);
      assert.deepEqual(calls, expected, ordering);
    }
  });
});
