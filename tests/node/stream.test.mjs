// waitFor and stream.

import assert from 'node:assert/strict';
import { describe, test } from 'node:test';

import { importPackage } from './helpers/package.mjs';

const { EventBus, SwitchyardError } = await importPackage();
const tick = () => new Promise((resolve) => setImmediate(resolve));

/** `promise`'s outcome, or 'pending' if it has not settled after a few turns of the loop. */
async function settledOrPending(promise) {
  let outcome = 'pending';
  promise.then(
    (value) => (outcome = { value }),
    (error) => (outcome = { error }),
  );
  for (let i = 0; i < 5; i++) await tick();
  return outcome;
}

describe('waitFor', () => {
  test('resolves with the first matching payload that passes the filter, then unsubscribes', async () => {
    const bus = new EventBus();
    const waiting = bus.waitFor('user.*', { filter: (p) => p.ok });
    bus.publish('user.a', { ok: false });
    bus.publish('user.b', { ok: true, n: 2 });
    assert.deepEqual(await waiting, { ok: true, n: 2 });
    assert.equal(bus.metrics().activeSubscriptions, 0);
  });

  test('rejects with E_TIMEOUT on the bus clock', async () => {
    const bus = new EventBus({ clock: 'manual' });
    const waiting = bus.waitFor('never', { timeoutMs: 100 });
    bus.advance(100);
    await assert.rejects(waiting, (e) => e instanceof SwitchyardError && e.code === 'E_TIMEOUT');
    assert.equal(bus.metrics().activeSubscriptions, 0);
  });

  test('rejects with the abort reason', async () => {
    const bus = new EventBus();
    const controller = new AbortController();
    const waiting = bus.waitFor('never', { signal: controller.signal });
    controller.abort(new Error('user left'));
    await assert.rejects(waiting, /user left/);
  });

  test('a waiting waitFor rejects with E_CLOSED when the bus is closed', async () => {
    const bus = new EventBus();
    const waiting = bus.waitFor('never');
    bus.close();
    const outcome = await settledOrPending(waiting);
    assert.notEqual(outcome, 'pending', 'waitFor never settled after close()');
    assert.ok(outcome.error instanceof SwitchyardError, String(outcome.error));
    assert.equal(outcome.error.code, 'E_CLOSED');
  });

  test('a waiting waitFor rejects with E_CLOSED when the bus is freed', async () => {
    const bus = new EventBus();
    const waiting = bus.waitFor('never', { timeoutMs: 1000 });
    bus.free();
    const outcome = await settledOrPending(waiting);
    assert.equal(outcome.error?.code, 'E_CLOSED', String(outcome.error ?? outcome));
  });

  test('a waiting waitFor rejects with E_CLOSED when its subscription is removed', async () => {
    const bus = new EventBus();
    const waiting = bus.waitFor('never');
    const [info] = bus.subscriptions();
    assert.equal(bus.getSubscription(info.id).unsubscribe(), true);
    const outcome = await settledOrPending(waiting);
    assert.equal(outcome.error?.code, 'E_CLOSED', String(outcome.error ?? outcome));
    assert.match(outcome.error.message, /subscription was removed/);
  });

  test('waitFor on a closed bus rejects with E_CLOSED', async () => {
    const bus = new EventBus();
    bus.close();
    await assert.rejects(bus.waitFor('x'), (e) => e instanceof SwitchyardError && e.code === 'E_CLOSED');
  });

  test('a bad timeoutMs rejects with E_INVALID_OPTION and leaves no subscription behind', async () => {
    const bus = new EventBus();
    for (const timeoutMs of [-1, NaN, Infinity, '5', null]) {
      await assert.rejects(bus.waitFor('x', { timeoutMs }), (e) => e instanceof SwitchyardError && e.code === 'E_INVALID_OPTION');
    }
    assert.deepEqual(bus.subscriptions(), []);
  });

  test('rejects bad options', async () => {
    const bus = new EventBus();
    await assert.rejects(bus.waitFor('x', { timeout: 5 }), (e) => e.code === 'E_INVALID_OPTION');
    await assert.rejects(bus.waitFor('', {}), (e) => e.code === 'E_INVALID_PATTERN');
  });
});

describe('stream', () => {
  test('yields messages in order, pulled one at a time', async () => {
    const bus = new EventBus();
    const stream = bus.stream('t');
    bus.publish('t', 1);
    bus.publish('t', 2);
    bus.publish('t', 3);
    const got = [];
    for await (const { payload, meta } of stream) {
      got.push([payload, meta.topic]);
      if (got.length === 3) break;
    }
    assert.deepEqual(got, [[1, 't'], [2, 't'], [3, 't']]);
    assert.equal(stream.subscription.active, false);
  });

  test('while the consumer does not pull, messages wait in the bounded queue under its policy', async () => {
    const bus = new EventBus();
    const stream = bus.stream('t', { capacity: 2, overflow: 'drop-oldest' });
    for (let i = 1; i <= 6; i++) bus.publish('t', i);
    await tick();
    const stats = stream.subscription.stats();
    // The capacity bounds what the stream holds: message 1, handed over and waiting for the
    // consumer's pull (in flight), and the newest waiting one.
    assert.deepEqual([stats.depth, stats.inFlight], [1, 1]);
    assert.equal(stats.counters.dropped, 4);
    const first = await stream.next();
    assert.equal(first.value.payload, 1);
    const rest = [(await stream.next()).value.payload];
    await tick();
    assert.deepEqual(rest, [6]);
    await stream.return();
  });

  test('a pending next() resolves when a message arrives', async () => {
    const bus = new EventBus();
    const stream = bus.stream('t');
    const next = stream.next();
    bus.publish('t', 'hello');
    assert.equal((await next).value.payload, 'hello');
    await stream.return();
    assert.deepEqual(await stream.next(), { value: undefined, done: true });
  });

  test('a waiting next() ends with done when the bus is closed, and so does a for await loop', async () => {
    const bus = new EventBus();
    const stream = bus.stream('t');
    const next = stream.next();
    bus.close();
    assert.deepEqual(await settledOrPending(next), { value: { value: undefined, done: true } });
    const looped = (async () => {
      const got = [];
      for await (const item of stream) got.push(item);
      return got;
    })();
    assert.deepEqual(await settledOrPending(looped), { value: [] });
  });

  test('a for await loop waiting on a stream ends when the bus is closed', async () => {
    const bus = new EventBus();
    const stream = bus.stream('t');
    const got = [];
    const loop = (async () => {
      for await (const { payload } of stream) got.push(payload);
      return 'ended';
    })();
    bus.publish('t', 1);
    await tick();
    bus.close();
    assert.deepEqual(await settledOrPending(loop), { value: 'ended' });
    assert.deepEqual(got, [1]);
  });

  test('a waiting next() ends with done when the bus is freed', async () => {
    const bus = new EventBus();
    const stream = bus.stream('t');
    const next = stream.next();
    bus.free();
    assert.deepEqual(await settledOrPending(next), { value: { value: undefined, done: true } });
    assert.deepEqual(await stream.next(), { value: undefined, done: true });
  });

  test("a waiting next() ends with done when the stream's subscription is unsubscribed", async () => {
    const bus = new EventBus();
    const stream = bus.stream('t');
    const next = stream.next();
    assert.equal(stream.subscription.unsubscribe(), true);
    assert.deepEqual(await settledOrPending(next), { value: { value: undefined, done: true } });
    bus.publish('t', 1);
    assert.deepEqual(await stream.next(), { value: undefined, done: true });
  });
});
