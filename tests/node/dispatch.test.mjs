// Delivery semantics through the installed package: ordering, priority, once, filter,
// wildcards, error isolation, meta, causation, run-to-completion and removal during dispatch.

import assert from 'node:assert/strict';
import { describe, test } from 'node:test';

import { importPackage } from './helpers/package.mjs';

const { EventBus, SwitchyardError } = await importPackage();

describe('dispatch', () => {
  test('sync handlers have run when publish returns, in FIFO order per subscription', () => {
    const bus = new EventBus();
    const seen = [];
    bus.subscribe('orders.created', (payload) => seen.push(payload));
    for (let i = 0; i < 5; i++) bus.publish('orders.created', i);
    assert.deepEqual(seen, [0, 1, 2, 3, 4]);
  });

  test('publish returns id, per-topic seq and matched count', () => {
    const bus = new EventBus();
    bus.subscribe('a.b', () => {});
    bus.subscribe('a.*', () => {});
    const first = bus.publish('a.b', 1);
    const second = bus.publish('a.b', 2);
    const other = bus.publish('a.c', 3);
    assert.equal(first.matched, 2);
    assert.equal(second.seq, first.seq + 1);
    assert.ok(second.id > first.id);
    assert.equal(other.matched, 1);
    assert.equal(other.seq, 1);
  });

  test('higher priority runs first, ties in subscription order', () => {
    const bus = new EventBus();
    const order = [];
    bus.subscribe('t', () => order.push('low'), { priority: -1 });
    bus.subscribe('t', () => order.push('first-default'));
    bus.subscribe('t', () => order.push('high'), { priority: 10 });
    bus.subscribe('t', () => order.push('second-default'));
    bus.publish('t', null);
    assert.deepEqual(order, ['high', 'first-default', 'second-default', 'low']);
  });

  test('once receives exactly one message and then is inactive', () => {
    const bus = new EventBus();
    const seen = [];
    const sub = bus.subscribe('t', (p) => seen.push(p), { once: true });
    bus.publish('t', 1);
    bus.publish('t', 2);
    assert.deepEqual(seen, [1]);
    assert.equal(sub.active, false);
  });

  test('a filter that rejects counts the message as filtered, not delivered', () => {
    const bus = new EventBus();
    const seen = [];
    const sub = bus.subscribe('n', (p) => seen.push(p), { filter: (p) => p % 2 === 0 });
    for (let i = 0; i < 6; i++) bus.publish('n', i);
    assert.deepEqual(seen, [0, 2, 4]);
    const stats = sub.stats();
    assert.equal(stats.counters.filtered, 3);
    assert.equal(stats.counters.delivered, 3);
  });

  test('wildcards: * is one segment, ** is zero or more', () => {
    const bus = new EventBus();
    const hits = { star: [], globstar: [], tail: [] };
    bus.subscribe('orders.*', (_, m) => hits.star.push(m.topic));
    bus.subscribe('orders.**', (_, m) => hits.globstar.push(m.topic));
    bus.subscribe('**.created', (_, m) => hits.tail.push(m.topic));
    for (const t of ['orders', 'orders.created', 'orders.eu.created', 'users.created']) bus.publish(t, null);
    assert.deepEqual(hits.star, ['orders.created']);
    assert.deepEqual(hits.globstar, ['orders', 'orders.created', 'orders.eu.created']);
    assert.deepEqual(hits.tail, ['orders.created', 'orders.eu.created', 'users.created']);
  });

  test('a throwing handler (of any thrown value) does not stop other subscribers', () => {
    const bus = new EventBus();
    const seen = [];
    bus.subscribe('t', () => {
      throw new Error('boom');
    }, { priority: 3 });
    bus.subscribe('t', () => {
      throw 'a string';
    }, { priority: 2 });
    bus.subscribe('t', () => {
      throw Object.create(null);
    }, { priority: 1 });
    bus.subscribe('t', (p) => seen.push(p));
    bus.publish('t', 'x');
    bus.publish('t', 'y');
    assert.deepEqual(seen, ['x', 'y']);
    const letters = bus.deadLetters();
    assert.equal(letters.length, 6);
    assert.ok(letters.some((d) => d.lastError === 'Error: boom'));
    assert.ok(letters.some((d) => d.lastError === 'a string'));
  });

  test('meta carries id, topic, seq, attempt, publishedAt, correlation and headers', () => {
    const bus = new EventBus({ clock: 'manual' });
    bus.advance(5);
    let meta;
    bus.subscribe('user.created', (_, m) => {
      meta = m;
    });
    const { id } = bus.publish('user.created', {}, { headers: { source: 'test' }, correlationId: 'req-1' });
    assert.equal(meta.id, id);
    assert.equal(meta.topic, 'user.created');
    assert.equal(meta.seq, 1);
    assert.equal(meta.attempt, 1);
    assert.equal(meta.publishedAt, 5);
    assert.equal(meta.causationId, null);
    assert.equal(meta.correlationId, 'req-1');
    assert.deepEqual({ ...meta.headers }, { source: 'test' });
  });

  test('a publish from a handler is delivered after the current message reached everyone, with causation', () => {
    const bus = new EventBus();
    const log = [];
    bus.subscribe('a', (_, m) => {
      log.push('a1');
      bus.publish('b', m.id, { correlationId: 'c' });
      log.push('a1-after-publish');
    });
    bus.subscribe('a', () => log.push('a2'));
    bus.subscribe('b', (cause, m) => log.push(`b cause=${m.causationId === cause}`));
    bus.publish('a', null);
    assert.deepEqual(log, ['a1', 'a1-after-publish', 'a2', 'b cause=true']);
  });

  test('correlation id is inherited from the causing message', () => {
    const bus = new EventBus();
    let inherited;
    bus.subscribe('a', () => bus.publish('b', null));
    bus.subscribe('b', (_, m) => {
      inherited = m.correlationId;
    });
    bus.publish('a', null, { correlationId: 'flow-7' });
    assert.equal(inherited, 'flow-7');
  });

  test('unsubscribed during dispatch: receives nothing more, not even the message in flight', () => {
    const bus = new EventBus();
    const seen = [];
    let victim;
    bus.subscribe('t', () => victim.unsubscribe(), { priority: 1 });
    victim = bus.subscribe('t', (p) => seen.push(p));
    bus.publish('t', 1);
    assert.deepEqual(seen, []);
    assert.equal(victim.active, false);
    assert.equal(victim.unsubscribe(), false);
  });

  test('subscribed during dispatch: does not receive the message in flight', () => {
    const bus = new EventBus();
    const late = [];
    let added = false;
    bus.subscribe('t', () => {
      if (!added) {
        added = true;
        bus.subscribe('t', (p) => late.push(p));
      }
    });
    bus.publish('t', 1);
    bus.publish('t', 2);
    assert.deepEqual(late, [2]);
  });

  test('a cascade loop is refused with E_CASCADE and the bus keeps working', () => {
    const bus = new EventBus({ maxCascadeDepth: 5 });
    const errors = [];
    bus.subscribe('ping', () => {
      try {
        bus.publish('ping', null);
      } catch (e) {
        errors.push(e);
      }
    });
    bus.publish('ping', null);
    assert.equal(errors.length, 1);
    assert.ok(errors[0] instanceof SwitchyardError);
    assert.equal(errors[0].code, 'E_CASCADE');
    assert.equal(bus.metrics().cascadesRefused, 1);
    assert.equal(bus.publish('other', 1).matched, 0);
  });

  test('a filter that publishes in a loop is refused with E_CASCADE, as a handler is', () => {
    const bus = new EventBus({ maxCascadeDepth: 5 });
    const errors = [];
    let publishes = 0;
    bus.subscribe('r', () => {}, {
      filter: () => {
        // Bounded so that a guard that does not hold fails the test instead of hanging it.
        if (publishes++ < 100) {
          try {
            bus.publish('r', 1);
          } catch (e) {
            errors.push(e);
          }
        }
        return true;
      },
    });
    bus.publish('r', 0);
    assert.equal(errors.length, 1, `publishes made: ${publishes}`);
    assert.ok(errors[0] instanceof SwitchyardError);
    assert.equal(errors[0].code, 'E_CASCADE');
    assert.equal(publishes, 6, 'depths 1 to 5 published, depth 6 refused, then the loop stopped');
    assert.equal(bus.metrics().cascadesRefused, 1);
  });

  test('a filter that publishes unconditionally fails its delivery with E_CASCADE and publish returns', () => {
    const bus = new EventBus({ maxCascadeDepth: 5 });
    let calls = 0;
    bus.subscribe('r', () => {}, {
      filter: () => {
        if (++calls > 100) return false;
        bus.publish('r', 1);
        return true;
      },
    });
    bus.publish('r', 0);
    assert.ok(calls <= 7, `the filter ran ${calls} times`);
    const [letter] = bus.deadLetters();
    assert.match(letter.lastError, /E_CASCADE|causation hops/);
  });

  test('an on() listener that publishes in a loop is refused with E_CASCADE', () => {
    const bus = new EventBus({ maxCascadeDepth: 5 });
    const errors = [];
    let publishes = 0;
    bus.subscribe('r', () => {});
    bus.on('delivered', () => {
      if (publishes++ < 100) {
        try {
          bus.publish('r', 1);
        } catch (e) {
          errors.push(e);
        }
      }
    });
    bus.publish('r', 0);
    assert.equal(errors.length, 1, `publishes made: ${publishes}`);
    assert.ok(errors[0] instanceof SwitchyardError);
    assert.equal(errors[0].code, 'E_CASCADE');
    assert.equal(publishes, 6);
    // The bus keeps working, and a later root publish starts a new cascade.
    errors.length = 0;
    publishes = 0;
    bus.publish('r', 0);
    assert.equal(errors.length, 1);
    assert.equal(publishes, 6);
  });

  test('a loop through a listener and a handler is refused with E_CASCADE', () => {
    const bus = new EventBus({ maxCascadeDepth: 5 });
    const errors = [];
    let rounds = 0;
    // The handler of `a` publishes `b`; a listener hearing `b` delivered publishes `a` again.
    bus.subscribe('a', () => bus.publish('b', 1));
    bus.subscribe('b', () => {});
    bus.on('delivered', (event) => {
      if (event.topic !== 'b' || rounds++ >= 100) return;
      try {
        bus.publish('a', 1);
      } catch (e) {
        errors.push(e);
      }
    });
    bus.publish('a', 0);
    assert.ok(rounds < 100, `the loop went round ${rounds} times`);
    assert.equal(errors.at(-1)?.code, 'E_CASCADE');
  });

  for (const kind of ['subscriber_added', 'subscriber_removed']) {
    test(`a listener on ${kind} that publishes to a handler which subscribes is refused with E_CASCADE instead of looping`, () => {
      const bus = new EventBus({ maxCascadeDepth: 8 });
      const errors = [];
      let published = 0;
      let rounds = 0;
      // The handler's subscriber_added / subscriber_removed events carry no message: they are
      // as deep as the message whose handler caused them, so the chain does not restart.
      bus.subscribe('job', () => {
        bus.subscribe('tmp', () => {}).unsubscribe();
      });
      bus.on(kind, () => {
        if (rounds++ >= 100) return;
        try {
          bus.publish('job', 1);
          published++;
        } catch (e) {
          errors.push(e);
        }
      });
      bus.publish('job', 0);
      assert.ok(rounds < 100, `the loop went round ${rounds} times`);
      assert.equal(errors.length, 1);
      assert.ok(errors[0] instanceof SwitchyardError);
      assert.equal(errors[0].code, 'E_CASCADE');
      assert.equal(published, 8, 'depths 1 to 8 published, depth 9 refused');
      assert.equal(bus.metrics().cascadesRefused, 1);
    });
  }

  test('a listener publish refused with E_CASCADE is counted in metrics().cascadesRefused', () => {
    const bus = new EventBus({ maxCascadeDepth: 3 });
    bus.subscribe('r', () => {});
    let refused = 0;
    bus.on('delivered', () => {
      try {
        bus.publish('r', 1);
      } catch (e) {
        if (e.code === 'E_CASCADE') refused++;
      }
    });
    bus.publish('r', 0);
    bus.publish('r', 0);
    assert.equal(refused, 2);
    assert.equal(bus.metrics().cascadesRefused, 2);
  });

  test('consumer groups deliver each message to one member, round-robin', () => {
    const bus = new EventBus();
    const a = [];
    const b = [];
    bus.subscribe('jobs', (p) => a.push(p), { group: 'workers' });
    bus.subscribe('jobs', (p) => b.push(p), { group: 'workers' });
    for (let i = 0; i < 4; i++) bus.publish('jobs', i);
    assert.equal(a.length + b.length, 4);
    assert.equal(a.length, 2);
  });

  test('replay delivers retained messages on subscribe', () => {
    const bus = new EventBus({ retain: 2 });
    for (let i = 0; i < 3; i++) bus.publish('config', i);
    const seen = [];
    bus.subscribe('config', (p) => seen.push(p), { replay: 5 });
    assert.deepEqual(seen, [1, 2]);
  });

  test('Subscription works with `using` (Symbol.dispose)', () => {
    const bus = new EventBus();
    const sub = bus.subscribe('t', () => {});
    sub[Symbol.dispose]();
    assert.equal(sub.active, false);
  });

  test('an AbortSignal unsubscribes', () => {
    const bus = new EventBus();
    const seen = [];
    const controller = new AbortController();
    const sub = bus.subscribe('t', (p) => seen.push(p), { signal: controller.signal });
    bus.publish('t', 1);
    controller.abort();
    bus.publish('t', 2);
    assert.deepEqual(seen, [1]);
    assert.equal(sub.active, false);
    const already = bus.subscribe('t', () => {}, { signal: AbortSignal.abort() });
    assert.equal(already.active, false);
  });
});
