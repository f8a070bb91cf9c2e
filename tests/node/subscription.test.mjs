// The `Subscription` object: plain JavaScript over the bus's id-based bindings (see the glue's
// `defineSubscription`). What it reports, what its methods do before and after removal, and
// that subscribing the same pattern over and over (a component on mount and unmount) behaves
// exactly like subscribing it once.

import assert from 'node:assert/strict';
import { describe, test } from 'node:test';

import { importPackage } from './helpers/package.mjs';
import { busesOnBothPaths } from './helpers/paths.mjs';

const { EventBus, Subscription, SwitchyardError } = await importPackage();
const paths = busesOnBothPaths(EventBus);

describe('subscription objects', () => {
  test('a subscription is a Subscription that reports its id, pattern and name', () => {
    const bus = new EventBus();
    const named = bus.subscribe('orders.*', () => {}, { name: 'audit' });
    const plain = bus.subscribe('orders.*', () => {});
    assert.ok(named instanceof Subscription);
    assert.equal(named.pattern, 'orders.*');
    assert.equal(named.name, 'audit');
    assert.equal(plain.name, null);
    assert.notEqual(named.id, plain.id);
    assert.deepEqual(
      bus.subscriptions().map((s) => [s.id, s.name]),
      [
        [named.id, 'audit'],
        [plain.id, null],
      ],
    );
  });

  test('an unnamed subscription has name null, as in views, whether subscribed or found by id', () => {
    const bus = new EventBus();
    const withoutOptions = bus.subscribe('a', () => {});
    const withOptions = bus.subscribe('a', () => {}, { priority: 1 });
    assert.equal(withoutOptions.name, null);
    assert.equal(withOptions.name, null);
    assert.equal(bus.getSubscription(withoutOptions.id).name, null);
    assert.equal(withOptions.stats().name, null);
    assert.equal(bus.getSubscription(bus.subscribe('b', () => {}, { name: 'n' }).id).name, 'n');
  });

  test('Subscription cannot be constructed directly', () => {
    assert.throws(() => new Subscription(), TypeError);
  });

  test('a removed subscription keeps its id, pattern and name, and its methods answer false or null', () => {
    const bus = new EventBus();
    const subscription = bus.subscribe('a', () => {}, { name: 'gone' });
    const id = subscription.id;
    assert.equal(subscription.unsubscribe(), true);
    assert.equal(subscription.unsubscribe(), false);
    assert.equal(subscription.active, false);
    assert.equal(subscription.pause(), false);
    assert.equal(subscription.resume(), false);
    assert.equal(subscription.flush(), false);
    assert.equal(subscription.setDelivery('immediate'), false);
    assert.equal(subscription.stats(), null);
    assert.deepEqual([subscription.id, subscription.pattern, subscription.name], [id, 'a', 'gone']);
  });

  test('a subscription made with an already aborted signal is inactive and keeps its name', () => {
    const bus = new EventBus();
    const subscription = bus.subscribe('a', () => {}, { name: 'late', signal: AbortSignal.abort() });
    assert.equal(subscription.active, false);
    assert.equal(subscription.name, 'late');
    assert.equal(bus.subscriptions().length, 0);
  });

  test('setDelivery still refuses an invalid strategy with E_INVALID_OPTION', () => {
    const bus = new EventBus();
    const subscription = bus.subscribe('a', () => {});
    assert.throws(
      () => subscription.setDelivery({ batch: { size: 0 } }),
      (e) => e instanceof SwitchyardError && e.code === 'E_INVALID_OPTION',
    );
    assert.equal(subscription.stats().delivery, 'immediate');
  });

  test('pause, resume and flush act on the subscription they were called on', () => {
    const bus = new EventBus();
    const seen = [];
    const first = bus.subscribe('a', (p) => seen.push(`first ${p}`));
    bus.subscribe('a', (p) => seen.push(`second ${p}`));
    assert.equal(first.pause(), true);
    bus.publish('a', 1);
    assert.deepEqual(seen, ['second 1']);
    assert.equal(first.stats().depth, 1);
    assert.equal(first.resume(), true);
    assert.deepEqual(seen, ['second 1', 'first 1']);
    assert.equal(first.setDelivery({ batch: { size: 2, maxWaitMs: 1000 } }), true);
    bus.publish('a', 2);
    assert.equal(first.stats().depth, 1, 'the batch waits for a second message');
    assert.equal(first.flush(), true);
    assert.equal(first.stats().depth, 0);
    assert.equal(seen.length, 4);
    bus.close();
  });

  test('getSubscription returns a Subscription that controls the same subscription', () => {
    const bus = new EventBus();
    const original = bus.subscribe('a', () => {}, { name: 'kept' });
    const found = bus.getSubscription(original.id);
    assert.ok(found instanceof Subscription);
    assert.deepEqual([found.id, found.pattern, found.name], [original.id, 'a', 'kept']);
    assert.equal(found.unsubscribe(), true);
    assert.equal(original.active, false);
    assert.equal(bus.getSubscription(original.id), undefined);
  });

  test('a kept subscription keeps its bus open after the bus object is dropped', { skip: !global.gc && 'needs --expose-gc' }, async () => {
    const subscription = new EventBus().subscribe('a', () => {});
    for (let i = 0; i < 3; i++) {
      global.gc();
      await new Promise((resolve) => setTimeout(resolve, 10));
    }
    assert.equal(subscription.active, true);
    assert.equal(subscription.unsubscribe(), true);
  });

  test('a subscription kept after its bus was freed reports inactive and answers false or null', () => {
    const bus = new EventBus();
    const subscription = bus.subscribe('a', () => {});
    bus.free();
    assert.equal(subscription.active, false);
    assert.equal(subscription.unsubscribe(), false);
    assert.equal(subscription.pause(), false);
    assert.equal(subscription.stats(), null);
    assert.equal(subscription.pattern, 'a');
  });
});

describe('subscribing the same pattern over and over', () => {
  for (const [path, make] of Object.entries(paths)) {
    test(`a thousand subscribe + unsubscribe pairs leave exactly the first subscribers (${path} path)`, () => {
      const bus = make({ traceCapacity: 4096 });
      const seen = [];
      bus.subscribe('orders.created', (p) => seen.push(`kept ${p}`));
      for (let i = 0; i < 1000; i++) {
        const churned = bus.subscribe('orders.created', () => seen.push('churned'));
        assert.equal(churned.unsubscribe(), true);
      }
      bus.publish('orders.created', 1);
      assert.deepEqual(seen, ['kept 1']);
      assert.equal(bus.subscriptions().length, 1);
      const kinds = bus.trace().events.map((e) => e.kind);
      assert.equal(kinds.filter((k) => k === 'subscriber_added').length, 1001);
      assert.equal(kinds.filter((k) => k === 'subscriber_removed').length, 1000);
    });
  }

  test('ids stay exact numbers past two million reuses of one slot, so unsubscribe always works', () => {
    const bus = new EventBus();
    bus.subscribe('keep', () => {});
    let failed = 0;
    let largest = 0;
    for (let i = 0; i < 2 ** 21 + 2; i++) {
      const churned = bus.subscribe('x', () => {});
      largest = Math.max(largest, churned.id);
      if (!churned.unsubscribe()) failed++;
    }
    assert.equal(failed, 0);
    assert.ok(Number.isSafeInteger(largest), `id ${largest} is not an exact number`);
    assert.equal(bus.metrics().activeSubscriptions, 1);
  });

  test('a pattern that differs from the one subscribed last is parsed anew', () => {
    const bus = new EventBus();
    const seen = [];
    bus.subscribe('orders.*', (p, meta) => seen.push(`star ${meta.topic}`));
    bus.subscribe('orders.**', (p, meta) => seen.push(`globstar ${meta.topic}`));
    bus.subscribe('orders.*', (p, meta) => seen.push(`star again ${meta.topic}`));
    bus.publish('orders.eu.created', 1);
    bus.publish('orders.eu', 2);
    assert.deepEqual(seen, ['globstar orders.eu.created', 'star orders.eu', 'globstar orders.eu', 'star again orders.eu']);
  });

  test('an invalid pattern between two valid ones is refused and changes nothing', () => {
    const bus = new EventBus();
    const seen = [];
    bus.subscribe('a.*', (p) => seen.push(`first ${p}`));
    assert.throws(() => bus.subscribe('a..b', () => {}), (e) => e.code === 'E_INVALID_PATTERN');
    assert.throws(() => bus.subscribe(42, () => {}), (e) => e.code === 'E_INVALID_PATTERN');
    bus.subscribe('a.*', (p) => seen.push(`second ${p}`));
    bus.publish('a.x', 1);
    assert.deepEqual(seen, ['first 1', 'second 1']);
    assert.equal(bus.subscriptions().length, 2);
  });

  test('crossing maxListeners on a churned pattern is reported once per crossing', () => {
    const bus = new EventBus({ maxListeners: 2, traceCapacity: 64 });
    const kept = [bus.subscribe('a', () => {}), bus.subscribe('a', () => {})];
    for (let i = 0; i < 3; i++) bus.subscribe('a', () => {}).unsubscribe();
    const reported = bus.trace().events.filter((e) => e.kind === 'leak_suspected').length;
    assert.equal(reported, 3, 'each subscribe past the limit follows a drop back to it');
    assert.equal(kept.every((s) => s.active), true);
  });
});
