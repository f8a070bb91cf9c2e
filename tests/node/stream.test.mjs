// waitFor and stream.

import assert from 'node:assert/strict';
import { describe, test } from 'node:test';

import { importPackage } from './helpers/package.mjs';

const { EventBus, SwitchyardError } = await importPackage();
const tick = () => new Promise((resolve) => setImmediate(resolve));

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
});
