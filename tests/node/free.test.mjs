// `free()` releases a bus. Subscription objects that outlive it keep the engine's memory alive,
// so freeing must also close the bus: nothing may go on calling handlers on a bus nobody can
// reach, whether it was freed from outside or by one of its own handlers, on either path.

import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';

import { importPackage } from './helpers/package.mjs';
import { busesOnBothPaths } from './helpers/paths.mjs';

const { EventBus } = await importPackage();
const paths = busesOnBothPaths(EventBus);

describe('freeing a bus', () => {
  for (const [path, make] of Object.entries(paths)) {
    test(`a handler that frees its bus (${path} path) leaves its kept subscriptions inactive`, () => {
      const bus = make();
      const calls = [];
      const first = bus.subscribe('a', () => {
        calls.push('first');
        bus.free();
      });
      const second = bus.subscribe('a', () => calls.push('second'));
      bus.publish('a', 1);
      // free() closes the bus at once (the bindings drop a bus in use only when `publish`
      // returns), so on both paths the next handler is not called.
      assert.deepEqual(calls, ['first']);
      assert.equal(first.active, false, 'free() closed the bus');
      assert.equal(second.active, false);
      assert.equal(first.stats(), null);
    });
  }

  test('a freed bus never retries a failed delivery, though its subscription object lives on', async () => {
    const bus = new EventBus({ retry: { attempts: 5, backoffMs: 5 } });
    let calls = 0;
    const subscription = bus.subscribe('a', () => {
      calls++;
      throw new Error('fails every time');
    });
    bus.publish('a', 1);
    assert.equal(calls, 1);
    bus.free();
    await sleep(60);
    assert.equal(calls, 1, 'the retries scheduled before free() were dropped with the bus');
    assert.equal(subscription.active, false);
  });

  test('disposing a bus that was already freed does nothing', () => {
    const bus = new EventBus();
    bus.free();
    assert.doesNotThrow(() => bus[Symbol.dispose]());
  });

  test('a bus disposed with Symbol.dispose is closed: publish then fails with E_CLOSED', () => {
    const bus = new EventBus();
    const subscription = bus.subscribe('a', () => {});
    assert.equal(typeof bus[Symbol.dispose], 'function');
    bus[Symbol.dispose]();
    assert.equal(bus.closed, true);
    assert.equal(subscription.active, false);
    assert.throws(() => bus.publish('a', 1), { code: 'E_CLOSED' });
  });
});
