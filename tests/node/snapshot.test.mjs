// snapshot() / EventBus.restore(): nothing queued, pending or dead-lettered is lost.

import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import v8 from 'node:v8';

import { expectCode, importSnapshotPackage } from './helpers/package.mjs';

const { EventBus, SwitchyardError } = await importSnapshotPackage();

describe('snapshot and restore', () => {
  test('queued messages, dead letters and counters survive; handlers re-attach by name', () => {
    const bus = new EventBus({ clock: 'manual' });
    const billing = bus.subscribe('orders.*', () => {}, { name: 'billing' });
    bus.subscribe('orders.*', () => {
      throw new Error('down');
    }, { name: 'audit' });
    billing.pause();
    bus.publish('orders.created', { id: 1 });
    bus.publish('orders.paid', { id: 1, total: 9 });
    assert.equal(bus.deadLetters().length, 2);
    // What IndexedDB or postMessage would store and give back.
    const saved = structuredClone(bus.snapshot());
    assert.equal(typeof saved, 'object');

    const seen = [];
    const restored = EventBus.restore(saved, {
      clock: 'manual',
      handlers: { billing: (payload, meta) => seen.push([meta.topic, payload]) },
    });
    const subs = restored.subscriptions();
    assert.deepEqual(subs.map((s) => s.name), ['billing', 'audit']);
    assert.equal(subs[0].depth, 2);
    assert.equal(subs[1].paused, true, 'a subscription with no handler is paused');
    assert.equal(restored.deadLetters().length, 2);
    assert.equal(restored.deadLetters()[0].payload.id, 1);
    assert.equal(restored.metrics().totals.published, bus.metrics().totals.published);
    restored.publish('orders.shipped', { id: 1 });
    assert.deepEqual(seen, [], 'billing is still paused as it was');
  });

  test('a restored subscription with a handler receives its waiting messages', () => {
    const bus = new EventBus({ clock: 'manual' });
    bus.subscribe('jobs', () => new Promise(() => {}), { name: 'worker' });
    bus.publish('jobs', 'a');
    bus.publish('jobs', 'b');
    const seen = [];
    const restored = EventBus.restore(structuredClone(bus.snapshot()), {
      clock: 'manual',
      handlers: { worker: { handler: (p) => seen.push(p), filter: () => true } },
    });
    assert.deepEqual(seen, ['a', 'b'], 'the in-flight delivery runs again (at least once)');
    assert.equal(restored.publish('jobs', 'c').seq, 3);
    assert.deepEqual(seen, ['a', 'b', 'c']);
  });

  test('payloads survive as themselves (no JSON): BigInt, Map, Date, undefined', () => {
    const bus = new EventBus();
    const sub = bus.subscribe('t', () => {}, { name: 'keeper' });
    sub.pause();
    const payloads = [10n, new Map([['k', 1]]), new Date(5), undefined];
    for (const payload of payloads) bus.publish('t', payload);
    const seen = [];
    const restored = EventBus.restore(structuredClone(bus.snapshot()), { handlers: { keeper: (p) => seen.push(p) } });
    const [info] = restored.subscriptions();
    assert.equal(info.paused, true, 'paused before the snapshot, paused after');
    assert.equal(info.depth, 4);
    const keeper = restored.getSubscription(info.id);
    assert.equal(keeper.name, 'keeper');
    keeper.resume();
    assert.equal(seen[0], 10n);
    assert.ok(seen[1] instanceof Map && seen[1].get('k') === 1);
    assert.ok(seen[2] instanceof Date && seen[2].getTime() === 5);
    assert.equal(seen[3], undefined);
    assert.equal(seen.length, 4);
    assert.equal(restored.getSubscription(-1), undefined);
    assert.equal(restored.getSubscription('x'), undefined);
  });

  test('bad snapshots and options are refused and build nothing', () => {
    for (const bad of [42, '', 'x', null, {}, { version: 99 }, [], { nope: true }]) {
      expectCode(assert, () => EventBus.restore(bad), 'E_INVALID_OPTION', SwitchyardError);
    }
    const good = new EventBus().snapshot();
    const newer = { ...good, version: good.version + 1 };
    const error = expectCode(assert, () => EventBus.restore(newer), 'E_INVALID_OPTION', SwitchyardError);
    assert.match(error.message, /newer/);
    assert.match(error.message, /snapshot\.version/);
    expectCode(assert, () => EventBus.restore(good, { handlers: 5 }), 'E_INVALID_OPTION', SwitchyardError);
    expectCode(assert, () => EventBus.restore(good, { nope: 1 }), 'E_INVALID_OPTION', SwitchyardError);
    assert.equal(EventBus.restore(good).subscriptions().length, 0);
  });

  test('the snapshot is { format, version, bytes, payloads } with each payload stored once', () => {
    const bus = new EventBus({ clock: 'manual' });
    for (const name of ['a', 'b', 'c']) bus.subscribe('orders.*', () => {}, { name }).pause();
    const order = { id: 7, lines: new Map([['sku', 2]]) };
    bus.publish('orders.created', order);
    const snapshot = bus.snapshot();
    assert.deepEqual(Object.keys(snapshot).sort(), ['bytes', 'format', 'payloads', 'version']);
    assert.equal(snapshot.format, 'switchyard.snapshot');
    assert.equal(snapshot.version, 2);
    assert.ok(snapshot.bytes instanceof Uint8Array);
    assert.ok(Array.isArray(snapshot.payloads));
    assert.equal(snapshot.payloads.length, 1, 'one message queued for three subscriptions is stored once');
    assert.equal(snapshot.payloads[0], order, 'the payload is the value itself, not a copy');
  });

  test('structuredClone and v8.serialize round trips restore the same bus, twice over', () => {
    const bus = new EventBus({ clock: 'manual', retry: { attempts: 3, backoffMs: 100 } });
    bus.subscribe('jobs.*', () => {}, { name: 'idle' }).pause();
    bus.subscribe('jobs.*', (p) => {
      if (p.fail) throw new Error('no');
    }, { name: 'picky', retry: { attempts: 1 } });
    bus.publish('jobs.a', { n: 1 });
    bus.publish('jobs.b', { n: 2, fail: true }, { headers: { trace: 'x' }, correlationId: 'c-1' });
    const original = bus.snapshot();
    const viaClone = structuredClone(original);
    const viaV8 = v8.deserialize(v8.serialize(original));
    for (const copy of [viaClone, viaV8]) {
      assert.ok(copy.bytes instanceof Uint8Array);
      assert.deepEqual([...copy.bytes], [...original.bytes]);
      const restored = EventBus.restore(copy, { clock: 'manual' });
      assert.deepEqual(
        restored.subscriptions().map((s) => [s.name, s.pattern, s.depth]),
        bus.subscriptions().map((s) => [s.name, s.pattern, s.depth]),
      );
      assert.deepEqual(restored.metrics().totals, bus.metrics().totals);
      const letters = restored.deadLetters();
      assert.equal(letters.length, 1);
      assert.deepEqual(letters[0].payload, { n: 2, fail: true });
      assert.equal(letters[0].correlationId, 'c-1');
      // A restored bus snapshots and restores again with the same content.
      const again = EventBus.restore(structuredClone(restored.snapshot()), { clock: 'manual' });
      assert.deepEqual(again.metrics().totals, bus.metrics().totals);
      assert.equal(again.deadLetters()[0].payload.n, 2);
      assert.equal(again.publish('jobs.c', { n: 3 }).seq, 1, 'per-topic sequences continue');
      assert.equal(again.publish('jobs.a', { n: 4 }).seq, 2);
    }
  });

  test('truncated, extended and overwritten bytes are refused naming snapshot.bytes', () => {
    const bus = new EventBus({ clock: 'manual' });
    bus.subscribe('t', () => {}, { name: 'keeper' }).pause();
    bus.publish('t', 'kept');
    const good = bus.snapshot();
    const bytes = good.bytes;
    const variants = [
      bytes.slice(0, bytes.length - 1),
      bytes.slice(0, 3),
      new Uint8Array(0),
      Uint8Array.from([...bytes, 0]),
      new Uint8Array(bytes.length).fill(0xff),
    ];
    for (const corrupt of variants) {
      const error = expectCode(
        assert,
        () => EventBus.restore({ ...good, bytes: corrupt }),
        'E_INVALID_OPTION',
        SwitchyardError,
      );
      assert.match(error.message, /snapshot\.bytes/);
    }
    // The source bus and the good snapshot are untouched.
    assert.equal(bus.subscriptions()[0].depth, 1);
    const restored = EventBus.restore(good);
    assert.equal(restored.subscriptions()[0].depth, 1);
  });

  test('no flipped byte makes restore panic: each is refused with E_INVALID_OPTION or restores', () => {
    const bus = new EventBus({ clock: 'manual' });
    bus.subscribe('a.*', () => {}, { name: 'x', priority: 3 }).pause();
    bus.subscribe('a.b', () => {
      throw new Error('down');
    }, { retry: { attempts: 1 }, breaker: { failures: 1, cooldownMs: 50 } });
    bus.publish('a.b', 1, { ttlMs: 500 });
    bus.publish('a.c', 2);
    const good = bus.snapshot();
    let refusedCount = 0;
    for (let i = 0; i < good.bytes.length; i += 1) {
      for (const mask of [0x01, 0x80, 0xff]) {
        const bytes = Uint8Array.from(good.bytes);
        bytes[i] ^= mask;
        try {
          EventBus.restore({ ...good, bytes });
        } catch (error) {
          assert.ok(error instanceof SwitchyardError, `byte ${i} ^ ${mask}: ${error}`);
          assert.equal(error.code, 'E_INVALID_OPTION');
          refusedCount += 1;
        }
      }
    }
    // Random bytes of random lengths (a fixed-seed generator, so a failure reproduces).
    let seed = 0x2545f491;
    const random = () => {
      seed ^= seed << 13;
      seed ^= seed >>> 17;
      seed ^= seed << 5;
      return seed >>> 0;
    };
    for (let round = 0; round < 300; round += 1) {
      const bytes = Uint8Array.from({ length: random() % (good.bytes.length * 2) }, () => random() & 0xff);
      bytes[0] = 1;
      try {
        EventBus.restore({ ...good, bytes });
      } catch (error) {
        assert.ok(error instanceof SwitchyardError, `round ${round}: ${error}`);
        assert.equal(error.code, 'E_INVALID_OPTION');
        refusedCount += 1;
      }
    }
    assert.ok(refusedCount > 300);
    // The module is not poisoned: the original bus and a clean restore still work.
    const seen = [];
    bus.subscribe('z', (p) => seen.push(p));
    bus.publish('z', 'still alive');
    assert.deepEqual(seen, ['still alive']);
    assert.equal(EventBus.restore(good).subscriptions().length, 2);
  });

  test('a version the bytes do not hold, and a newer one, are refused', () => {
    const good = new EventBus().snapshot();
    assert.equal(good.bytes[0], 2, 'the bytes open with the format version');
    assert.equal(good.version, 2);
    const newerBytes = Uint8Array.from(good.bytes);
    newerBytes[0] = 3;
    const mismatch = expectCode(
      assert,
      () => EventBus.restore({ ...good, bytes: newerBytes }),
      'E_INVALID_OPTION',
      SwitchyardError,
    );
    assert.match(mismatch.message, /snapshot\.bytes/);
    assert.match(mismatch.message, /version 3/);
    const newer = expectCode(
      assert,
      () => EventBus.restore({ ...good, version: 3, bytes: newerBytes }),
      'E_INVALID_OPTION',
      SwitchyardError,
    );
    assert.match(newer.message, /snapshot\.version/);
    assert.match(newer.message, /newer/);
    for (const version of [0, 1.5, -1, '1', undefined, NaN]) {
      const error = expectCode(
        assert,
        () => EventBus.restore({ ...good, version }),
        'E_INVALID_OPTION',
        SwitchyardError,
      );
      assert.match(error.message, /snapshot\.version/);
    }
  });

  test('wrong field types, missing payloads and throwing getters name the field', () => {
    const bus = new EventBus();
    bus.subscribe('t', () => {}).pause();
    bus.publish('t', { a: 1 });
    bus.publish('t', { a: 2 });
    const good = bus.snapshot();
    const cases = [
      [{ ...good, format: 'other' }, /snapshot\.format/],
      [{ ...good, bytes: [...good.bytes] }, /snapshot\.bytes/],
      [JSON.parse(JSON.stringify(good)), /snapshot\.bytes/],
      [{ ...good, payloads: 'x' }, /snapshot\.payloads/],
      [{ ...good, payloads: [good.payloads[0]] }, /snapshot\.payloads.*index 1/],
      [{ ...good, payloads: [] }, /snapshot\.payloads/],
      [
        Object.defineProperty({ ...good }, 'bytes', {
          get() {
            throw new Error('getter');
          },
        }),
        /snapshot\.bytes.*threw/,
      ],
    ];
    for (const [bad, pattern] of cases) {
      const error = expectCode(assert, () => EventBus.restore(bad), 'E_INVALID_OPTION', SwitchyardError);
      assert.match(error.message, pattern);
    }
    // Extra payloads are harmless; the bus is whole.
    const restored = EventBus.restore({ ...good, payloads: [...good.payloads, 'unused'] });
    assert.equal(restored.subscriptions()[0].depth, 2);
  });
  test('a full queue behind a handler that never settles restores from its own snapshot', () => {
    // Capacity counts the message in flight: the third publish is refused, not over-queued.
    const bus = new EventBus({ clock: 'manual' });
    bus.subscribe('t', () => new Promise(() => {}), { name: 's', capacity: 2 });
    bus.publish('t', 1);
    bus.publish('t', 2);
    expectCode(assert, () => bus.publish('t', 3), 'E_BACKPRESSURE', SwitchyardError);
    const info = bus.subscriptions()[0];
    assert.deepEqual([info.depth, info.inFlight], [1, 1]);

    const dropping = new EventBus({ clock: 'manual' });
    dropping.subscribe('t', () => new Promise(() => {}), { name: 's', capacity: 2, overflow: 'drop-oldest' });
    for (const n of [1, 2, 3]) dropping.publish('t', n);
    for (const source of [bus, dropping]) {
      const seen = [];
      const restored = EventBus.restore(structuredClone(source.snapshot()), {
        clock: 'manual',
        handlers: { s: (p) => seen.push(p) },
      });
      assert.equal(seen.length, 2, 'the written-back delivery and the queued message run');
      restored.close();
    }
  });

  test('a failed async delivery waiting for its retry never holds more than the capacity', async () => {
    const bus = new EventBus({ clock: 'manual', retry: { attempts: 5, backoffMs: 1000 } });
    const sub = bus.subscribe('t', () => Promise.reject(new Error('down')), {
      name: 'flaky',
      capacity: 3,
      concurrency: 2,
      overflow: 'drop-oldest',
    });
    for (let round = 0; round < 4; round++) {
      for (let n = 0; n < 5; n++) bus.publish('t', round * 10 + n);
      await new Promise((resolve) => setImmediate(resolve));
      const { depth, inFlight, capacity } = sub.stats();
      assert.ok(depth + inFlight <= capacity, `round ${round}: depth ${depth} + in flight ${inFlight}`);
      assert.ok(depth <= capacity);
      const restored = EventBus.restore(structuredClone(bus.snapshot()), { clock: 'manual' });
      restored.close();
      bus.advance(1000);
    }
  });
});
