// The `origin` publish option: where a message a bridge republished came from. Validated,
// shown to handlers as a frozen `meta.origin` (null for a local publish), kept through retries,
// dead letters, redrive and snapshots, and named on the `published` trace event.

import assert from 'node:assert/strict';
import { describe, test } from 'node:test';

import { expectCode, importPackage, importSnapshotPackage } from './helpers/package.mjs';
import { busesOnBothPaths } from './helpers/paths.mjs';

const { EventBus, SwitchyardError } = await importPackage();
const { fast, slow } = busesOnBothPaths(EventBus);
const origin = Object.freeze({ realm: 'tab-7f3a', id: 41, seq: 9, hops: 1 });
const tick = () => new Promise((resolve) => setImmediate(resolve));

describe('meta.origin', () => {
  for (const [path, make] of [['fast', fast], ['slow', slow]]) {
    test(`a local publish shows origin null on the ${path} path`, () => {
      const bus = make();
      const seen = [];
      bus.subscribe('cart.*', (_, meta) => seen.push(meta.origin));
      bus.publish('cart.add', 1);
      bus.publish('cart.add', 2, { headers: { a: 'b' } });
      assert.deepEqual(seen, [null, null]);
    });

    test(`a bridged publish shows its frozen origin to every handler on the ${path} path`, () => {
      const bus = make();
      const seen = [];
      bus.subscribe('cart.*', (_, meta) => seen.push(meta.origin));
      bus.subscribe('cart.add', (_, meta) => seen.push(meta.origin));
      bus.publish('cart.add', 1, { origin: { ...origin } });
      assert.equal(seen.length, 2);
      for (const o of seen) {
        assert.deepEqual(o, origin);
        assert.ok(Object.isFrozen(o));
      }
    });
  }

  test('a filter and a batched handler see the origin too', () => {
    const bus = new EventBus({ clock: 'manual' });
    const seen = [];
    bus.subscribe('t', (payloads, metas) => seen.push(...metas.map((m) => m.origin?.realm ?? null)), {
      delivery: { batch: { size: 2, maxWaitMs: 1000 } },
      filter: (_, meta) => seen.push(`filter:${meta.origin?.realm ?? null}`),
    });
    bus.publish('t', 1, { origin });
    bus.publish('t', 2);
    assert.deepEqual(seen, ['filter:tab-7f3a', 'filter:null', 'tab-7f3a', null]);
  });
});

describe('the origin option is validated', () => {
  const cases = [
    [{ realm: '', id: 1, seq: 1, hops: 1 }, /origin\.realm/],
    [{ realm: 'x'.repeat(129), id: 1, seq: 1, hops: 1 }, /origin\.realm/],
    [{ realm: 7, id: 1, seq: 1, hops: 1 }, /origin\.realm/],
    [{ id: 1, seq: 1, hops: 1 }, /origin\.realm/],
    [{ realm: 'r', id: -1, seq: 1, hops: 1 }, /origin\.id/],
    [{ realm: 'r', id: 1.5, seq: 1, hops: 1 }, /origin\.id/],
    [{ realm: 'r', id: 2 ** 53, seq: 1, hops: 1 }, /origin\.id/],
    [{ realm: 'r', id: 1, seq: NaN, hops: 1 }, /origin\.seq/],
    [{ realm: 'r', id: 1, seq: '1', hops: 1 }, /origin\.seq/],
    [{ realm: 'r', id: 1, seq: 1, hops: 0 }, /origin\.hops/],
    [{ realm: 'r', id: 1, seq: 1, hops: 256 }, /origin\.hops/],
    [{ realm: 'r', id: 1, seq: 1, hops: 1.5 }, /origin\.hops/],
    [{ realm: 'r', id: 1, seq: 1 }, /origin\.hops/],
    [{ realm: 'r', id: 1, seq: 1, hops: 1, extra: true }, /origin\.extra/],
    ['tab', /origin/],
    [[1], /origin/],
  ];
  for (const [bad, field] of cases) {
    test(`origin ${JSON.stringify(bad)} is refused naming ${field.source} and nothing is published`, () => {
      const bus = new EventBus();
      const seen = [];
      bus.subscribe('t', (p) => seen.push(p));
      const error = expectCode(assert, () => bus.publish('t', 1, { origin: bad }), 'E_INVALID_OPTION', SwitchyardError);
      assert.match(error.message, field);
      assert.deepEqual(seen, []);
      assert.equal(bus.metrics().totals.published, 0);
    });
  }

  test('the bounds themselves are accepted', () => {
    const bus = new EventBus();
    const seen = [];
    bus.subscribe('t', (_, meta) => seen.push(meta.origin));
    const edge = { realm: 'é'.repeat(64), id: 2 ** 53 - 1, seq: 0, hops: 255 };
    bus.publish('t', 1, { origin: edge });
    assert.deepEqual(seen, [edge]);
  });
});

describe('the origin stays with the message', () => {
  test('through retries, the dead letter and a redrive', async () => {
    const bus = new EventBus({ clock: 'manual', retry: { attempts: 2, backoffMs: 10 } });
    const seen = [];
    let fail = true;
    bus.subscribe('t', (_, meta) => {
      seen.push([meta.attempt, meta.origin?.realm ?? null]);
      if (fail) throw new Error('boom');
    });
    bus.publish('t', 'x', { origin });
    bus.advance(10);
    await tick();
    const [letter] = bus.deadLetters();
    assert.deepEqual(letter.origin, origin);
    fail = false;
    bus.redrive([letter.id]);
    await bus.idle();
    assert.deepEqual(seen, [
      [1, 'tab-7f3a'],
      [2, 'tab-7f3a'],
      [1, 'tab-7f3a'],
    ]);
  });

  test('a local message dead-letters with origin null', () => {
    const bus = new EventBus();
    bus.subscribe('t', () => {
      throw new Error('boom');
    });
    bus.publish('t', 'x');
    assert.equal(bus.deadLetters()[0].origin, null);
  });

  test('through a snapshot and a restore', async () => {
    const { EventBus } = await importSnapshotPackage();
    const bus = new EventBus({ clock: 'manual' });
    bus.subscribe('t', () => new Promise(() => {}), { name: 'worker' });
    bus.publish('t', 'remote', { origin });
    bus.publish('t', 'local');
    const saved = structuredClone(bus.snapshot());
    const seen = [];
    EventBus.restore(saved, { clock: 'manual', handlers: { worker: (p, meta) => seen.push([p, meta.origin]) } });
    assert.deepEqual(seen, [
      ['remote', origin],
      ['local', null],
    ]);
  });

  test('the published trace event names it; other events do not', () => {
    const bus = new EventBus({ traceCapacity: 64 });
    const events = [];
    bus.on('published', (e) => events.push(e));
    bus.subscribe('t', () => {});
    bus.publish('t', 1, { origin });
    bus.publish('t', 2);
    assert.deepEqual(events.map((e) => e.origin ?? null), [origin, null]);
    assert.ok(!('origin' in events[1]));
    assert.ok(bus.trace(0).events.every((e) => e.kind === 'published' || !('origin' in e)));
    assert.deepEqual(bus.trace(0).events.find((e) => e.kind === 'published').origin, origin);
  });
});
