// `free()` releases a bus. Subscription objects that outlive it keep the engine's memory alive,
// so freeing must also close the bus: nothing may go on calling handlers on a bus nobody can
// reach, whether it was freed from outside or by one of its own handlers, on either path.

import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';

import { importPackage } from './helpers/package.mjs';
import { busesOnBothPaths } from './helpers/paths.mjs';

const { EventBus, SwitchyardError } = await importPackage();
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

  /** Expects every method of a freed (or closed) `bus` to throw a SwitchyardError E_CLOSED. */
  function assertFreed(bus, SwitchyardError) {
    const calls = {
      publish: () => bus.publish('a', 1),
      publishWithOptions: () => bus.publish('a', 1, { headers: {} }),
      subscribe: () => bus.subscribe('a', () => {}),
      metrics: () => bus.metrics(),
      subscriptions: () => bus.subscriptions(),
      deadLetters: () => bus.deadLetters(),
      leaks: () => bus.leaks(),
      snapshot: () => bus.snapshot(),
      trace: () => bus.trace(),
      now: () => bus.now(),
      getSubscription: () => bus.getSubscription(1),
      on: () => bus.on('*', () => {}),
      redrive: () => bus.redrive(),
      idle: () => bus.idle(),
      stream: () => bus.stream('a'),
    };
    for (const [name, call] of Object.entries(calls)) {
      let caught;
      try {
        call();
      } catch (error) {
        caught = error;
      }
      assert.ok(caught instanceof SwitchyardError, `${name}() after free threw ${caught}`);
      assert.equal(caught.code, 'E_CLOSED', `${name}(): ${caught.message}`);
    }
    assert.equal(bus.closed, true);
    assert.doesNotThrow(() => bus.free(), 'a second free() does nothing');
    assert.doesNotThrow(() => bus.close());
  }

  test('every call on a freed bus throws SwitchyardError E_CLOSED, and freeing again does nothing', async () => {
    const bus = new EventBus();
    bus.free();
    assertFreed(bus, SwitchyardError);
    await assert.rejects(bus.waitFor('a'), (e) => e instanceof SwitchyardError && e.code === 'E_CLOSED');
  });

  const freers = {
    'a queued handler': (bus) => {
      bus.subscribe('a', () => bus.publish('b', 1));
      bus.subscribe('b', () => bus.free());
      bus.publish('a', 0);
    },
    'a filter': (bus) => {
      bus.subscribe('a', () => {}, { filter: () => (bus.free(), true) });
      bus.publish('a', 0);
    },
    'a batch handler': (bus) => {
      bus.subscribe('a', () => bus.free(), { delivery: { batch: { size: 2 } } });
      bus.publish('a', 0);
      bus.publish('a', 1);
    },
    'a retry': (bus) => {
      let calls = 0;
      bus.subscribe('a', () => {
        if (++calls === 2) bus.free();
        throw new Error('first attempt fails');
      });
      bus.publish('a', 0);
      bus.advance(10);
    },
    'a subscribe option getter': (bus) => {
      bus.subscribe('a', () => {}, {
        get priority() {
          bus.free();
          return 1;
        },
      });
    },
    'a publish option getter': (bus) => {
      bus.publish('a', 0, {
        get headers() {
          bus.free();
          return {};
        },
      });
    },
    'an on() listener': (bus) => {
      bus.on('delivered', () => bus.free());
      bus.subscribe('a', () => {});
      bus.publish('a', 0);
    },
  };
  for (const [where, run] of Object.entries(freers)) {
    test(`free() called from ${where} closes the bus, frees it, and later calls throw E_CLOSED`, async () => {
      const bus = new EventBus({ clock: 'manual', retry: { attempts: 3, backoffMs: 5 } });
      let thrown;
      try {
        run(bus);
      } catch (error) {
        thrown = error;
      }
      // The call whose option getter freed the bus may refuse with E_CLOSED; nothing else.
      if (thrown !== undefined) {
        assert.ok(thrown instanceof SwitchyardError && thrown.code === 'E_CLOSED', `threw ${thrown}`);
      }
      const letters = (() => {
        try {
          return bus.deadLetters();
        } catch (error) {
          return error;
        }
      })();
      assert.ok(!(letters instanceof Array) || letters.every((l) => !/ownership|null pointer/.test(l.lastError)),
        'no handler saw a wasm-bindgen ownership error');
      assertFreed(bus, SwitchyardError);
      // Another bus is unaffected.
      const other = new EventBus();
      const got = [];
      other.subscribe('x', (p) => got.push(p));
      other.publish('x', 1);
      assert.deepEqual(got, [1]);
    });
  }
});

describe('closing in the middle of a call', () => {
  test('a subscribe whose option getter closes the bus throws E_CLOSED and adds nothing', async () => {
    const bus = new EventBus();
    let thrown;
    try {
      bus.subscribe('a', () => {}, {
        get priority() {
          bus.close();
          return 1;
        },
      });
    } catch (error) {
      thrown = error;
    }
    assert.ok(thrown instanceof SwitchyardError, `threw ${thrown}`);
    assert.equal(thrown.code, 'E_CLOSED');
    assert.equal(bus.metrics().activeSubscriptions, 0);
    assert.deepEqual(bus.subscriptions(), []);
  });

  test('a publish whose headers getter closes the bus throws E_CLOSED and is not counted', async () => {
    const bus = new EventBus();
    let thrown;
    try {
      bus.publish('a', 1, {
        get headers() {
          bus.close();
          return { k: 'v' };
        },
      });
    } catch (error) {
      thrown = error;
    }
    assert.ok(thrown instanceof SwitchyardError, `threw ${thrown}`);
    assert.equal(thrown.code, 'E_CLOSED');
    assert.equal(bus.metrics().totals.published, 0);
  });
});
