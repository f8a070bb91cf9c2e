// Bad input of any type gets a SwitchyardError naming the problem, changes nothing, and never
// poisons the module (a Rust panic would trap and break every later call).

import assert from 'node:assert/strict';
import { describe, test } from 'node:test';

import { expectCode, importPackage, importSnapshotPackage } from './helpers/package.mjs';

const { EventBus, SwitchyardError } = await importPackage();
/** The entry with snapshots, for the cases that restore. */
const withSnapshots = await importSnapshotPackage();

const throwingGetter = () => ({
  get capacity() {
    throw new Error('getter boom');
  },
});
const throwingProxy = () => new Proxy({}, {
  ownKeys() {
    throw new Error('ownKeys boom');
  },
});
const weird = [undefined, null, 0, -1, NaN, Infinity, 1.5, '', 'x', true, {}, [], () => {}, Symbol('s'), 10n];

function assertWorks(bus) {
  const seen = [];
  const sub = bus.subscribe('health.check', (p) => seen.push(p));
  const result = bus.publish('health.check', 'ok');
  assert.equal(result.matched, 1);
  assert.deepEqual(seen, ['ok']);
  assert.equal(sub.unsubscribe(), true);
  assert.equal(typeof bus.metrics().totals.published, 'number');
}

describe('bad input', () => {
  test('constructor options are validated, naming the option', () => {
    const cases = [
      [{ capacity: 0 }, /capacity/],
      [{ capacity: -1 }, /capacity/],
      [{ capacity: NaN }, /capacity/],
      [{ capacity: 1.5 }, /capacity/],
      [{ capacity: '10' }, /capacity/],
      [{ overflow: 'drop-all' }, /overflow/],
      [{ retry: { attempts: 0 } }, /retry\.attempts/],
      [{ retry: { backoffMs: -5 } }, /retry\.backoffMs/],
      [{ retry: { tries: 2 } }, /retry\.tries/],
      [{ retry: 3 }, /retry/],
      [{ timeoutMs: -1 }, /timeoutMs/],
      [{ clock: 'fake' }, /clock/],
      [{ captureStacks: 'yes' }, /captureStacks/],
      [{ capacityy: 10 }, /capacityy/],
      [throwingGetter(), /capacity/],
      [throwingProxy(), /options/],
      ['options', /options/],
      [[1, 2], /options/],
    ];
    for (const [index, [options, pattern]] of cases.entries()) {
      const error = expectCode(assert, () => new EventBus(options), 'E_INVALID_OPTION', SwitchyardError);
      assert.match(error.message, pattern, `case ${index}`);
    }
  });

  test('subscribe: bad patterns, handlers and options leave the bus unchanged', () => {
    const bus = new EventBus();
    for (const pattern of [42, null, undefined, {}, '', 'a..b', '.a', 'a.', 'a*', 'a.***', 'x'.repeat(300), Array(40).fill('a').join('.')]) {
      expectCode(assert, () => bus.subscribe(pattern, () => {}), 'E_INVALID_PATTERN', SwitchyardError);
    }
    for (const handler of weird.filter((w) => typeof w !== 'function')) {
      expectCode(assert, () => bus.subscribe('t', handler), 'E_INVALID_HANDLER', SwitchyardError);
    }
    const badOptions = [
      { priority: NaN },
      { priority: 1.5 },
      { priority: 2 ** 40 },
      { once: 1 },
      { filter: 'yes' },
      { capacity: 0 },
      { overflow: 5 },
      { delivery: 'batch' },
      { delivery: { batch: { size: 0 } } },
      { delivery: { batch: { size: 2, maxWaitMs: NaN } } },
      { delivery: { batchx: {} } },
      { concurrency: 0 },
      { ordering: 'loose' },
      { retry: { attempts: -1 } },
      { timeoutMs: Infinity },
      { breaker: { failures: 0 } },
      { group: 7 },
      { replay: -1 },
      { name: {} },
      { owner: 5 },
      { weak: true },
      { signal: {} },
      { prio: 1 },
      'opts',
      throwingGetter(),
    ];
    for (const options of badOptions) {
      expectCode(assert, () => bus.subscribe('t', () => {}, options), 'E_INVALID_OPTION', SwitchyardError);
    }
    assert.equal(bus.metrics().activeSubscriptions, 0);
    assertWorks(bus);
  });

  test('publish: bad topics and options enqueue nothing', () => {
    const bus = new EventBus();
    const seen = [];
    const everything = bus.subscribe('**', (p) => seen.push(p));
    for (const topic of [42, null, undefined, {}, '', 'a..b', 'a.*', 'a.**', 'x'.repeat(300)]) {
      expectCode(assert, () => bus.publish(topic, 1), 'E_INVALID_TOPIC', SwitchyardError);
    }
    const badOptions = [
      { headers: 'h' },
      { headers: { a: 1 } },
      { headers: [['a', 'b']] },
      { correlationId: 5 },
      { ttlMs: NaN },
      { ttlMs: -1 },
      { ttl: 5 },
      'x',
      5,
      new Proxy({}, {
        get() {
          throw new Error('get boom');
        },
        ownKeys() {
          return ['headers'];
        },
        getOwnPropertyDescriptor() {
          return { enumerable: true, configurable: true, value: 1 };
        },
      }),
    ];
    for (const options of badOptions) {
      expectCode(assert, () => bus.publish('t', 1, options), 'E_INVALID_OPTION', SwitchyardError);
    }
    assert.deepEqual(seen, []);
    assert.equal(bus.metrics().totals.published, 0);
    everything.unsubscribe();
    assertWorks(bus);
  });

  test('every other method rejects wrong types without breaking the bus', () => {
    const manual = new EventBus({ clock: 'manual' });
    for (const ms of ['1', -1, NaN, Infinity, {}, null, 10n]) {
      expectCode(assert, () => manual.advance(ms), 'E_INVALID_OPTION', SwitchyardError);
    }
    const bus = new EventBus();
    expectCode(assert, () => bus.advance(10), 'E_INVALID_OPTION', SwitchyardError);
    for (const cursor of ['1', -1, 1.5, NaN, {}]) {
      expectCode(assert, () => bus.trace(cursor), 'E_INVALID_OPTION', SwitchyardError);
    }
    for (const ids of ['1', 5, {}, [-1], [1.5], ['a']]) {
      expectCode(assert, () => bus.redrive(ids), 'E_INVALID_OPTION', SwitchyardError);
    }
    for (const kind of weird) {
      if (kind === '') continue;
      assert.throws(() => bus.on(kind, () => {}), (e) => e instanceof SwitchyardError);
    }
    for (const name of [5, '', null, {}, 'x'.repeat(300)]) {
      expectCode(assert, () => bus.expose(name), 'E_INVALID_OPTION', SwitchyardError);
    }
    const sub = bus.subscribe('t', () => {});
    for (const strategy of ['batched', 5, null, { batch: { size: -1 } }, { batch: 3 }]) {
      expectCode(assert, () => sub.setDelivery(strategy), 'E_INVALID_OPTION', SwitchyardError);
    }
    assert.equal(bus.__clearTimer('nope'), false);
    expectCode(assert, () => bus.__setTimer(-1, () => {}), 'E_INVALID_OPTION', SwitchyardError);
    expectCode(assert, () => bus.stream('t', { size: 1 }), 'E_INVALID_OPTION', SwitchyardError);
    sub.unsubscribe();
    assertWorks(manual);
    assertWorks(bus);
  });

  test('methods called on something that is not a bus throw E_INVALID_RECEIVER, and the module keeps working', async () => {
    const bus = new EventBus();
    const invalidReceiver = (e) => e instanceof SwitchyardError && e.code === 'E_INVALID_RECEIVER' && /call it on a bus/.test(e.message);
    assert.throws(() => EventBus.prototype.publish.call({}, 't', 1), invalidReceiver);
    assert.throws(() => EventBus.prototype.subscribe.call(null, 't', () => {}), invalidReceiver);
    assert.throws(() => EventBus.prototype.metrics.call(Object.create(EventBus.prototype)), invalidReceiver);
    assert.throws(() => EventBus.prototype.close.call(null), invalidReceiver);
    assert.throws(() => EventBus.prototype.free.call({}), invalidReceiver);
    const revoked = Proxy.revocable({}, {});
    revoked.revoke();
    assert.throws(() => EventBus.prototype.snapshot.call(revoked.proxy), invalidReceiver);
    assert.throws(() => Object.getOwnPropertyDescriptor(EventBus.prototype, 'closed').get.call({}), invalidReceiver);
    const { publish, metrics } = bus;
    assert.throws(() => publish('t', 1), invalidReceiver);
    assert.throws(() => metrics(), invalidReceiver);
    await assert.rejects(EventBus.prototype.waitFor.call({}, 't'), invalidReceiver);
    assert.throws(() => EventBus.prototype.stream.call(1, 't'), invalidReceiver);
    assert.equal(bus.metrics().totals.published, 0, 'nothing reached the real bus');
    assertWorks(bus);
    assertWorks(new EventBus());
  });

  test('Subscription members used on something that is not a Subscription throw E_INVALID_RECEIVER', () => {
    const bus = new EventBus();
    const sub = bus.subscribe('t', () => {});
    const proto = Object.getPrototypeOf(sub);
    const invalidReceiver = (e) => e instanceof SwitchyardError && e.code === 'E_INVALID_RECEIVER' && /not a Subscription/.test(e.message);
    for (const receiver of [{}, null, 1, Object.create(proto), bus]) {
      for (const method of ['unsubscribe', 'pause', 'resume', 'flush', 'stats']) {
        assert.throws(() => proto[method].call(receiver), invalidReceiver, `${method} on ${String(receiver)}`);
      }
      for (const getter of ['id', 'pattern', 'name', 'active']) {
        assert.throws(() => Object.getOwnPropertyDescriptor(proto, getter).get.call(receiver), invalidReceiver, getter);
      }
    }
    const { unsubscribe } = sub;
    assert.throws(() => unsubscribe(), invalidReceiver);
    assert.equal(sub.active, true, 'the real subscription is untouched');
    assertWorks(bus);
  });

  test('names and groups with lone surrogates are refused, so two names never collide', () => {
    const bus = new EventBus();
    for (const key of ['name', 'group']) {
      expectCode(assert, () => bus.subscribe('t', () => {}, { [key]: 'a\ud800' }), 'E_INVALID_OPTION', SwitchyardError);
    }
    assert.equal(bus.subscriptions().length, 0);
    bus.subscribe('t', () => {}, { name: 'emoji \ud83d\ude00' });
    assert.equal(bus.subscriptions()[0].name, 'emoji \ud83d\ude00', 'a surrogate pair is fine');
    assertWorks(bus);
  });

  test('huge and exotic payloads pass through untouched', () => {
    const bus = new EventBus();
    const seen = [];
    bus.subscribe('t', (p) => seen.push(p));
    const huge = 'x'.repeat(8 * 1024 * 1024);
    const exotic = [Symbol('s'), 10n, () => 1, new Map([[1, 2]]), undefined, null, NaN];
    bus.publish('t', huge);
    for (const payload of exotic) bus.publish('t', payload);
    assert.equal(seen[0].length, huge.length);
    assert.deepEqual(seen.slice(1).map((p) => typeof p), exotic.map((p) => typeof p));
    assertWorks(bus);
  });

  /** A revoked proxy (of an object, or of an array). */
  const revoked = (target = {}) => {
    const { proxy, revoke } = Proxy.revocable(target, {});
    revoke();
    return proxy;
  };

  /** Expects `fn` to throw (or reject with) a SwitchyardError with one of `codes`, naming `name`. */
  async function expectRefused(fn, codes, name) {
    let caught;
    try {
      await fn();
    } catch (error) {
      caught = error;
    }
    assert.ok(caught instanceof SwitchyardError, `expected a SwitchyardError, got ${caught}`);
    assert.ok(codes.includes(caught.code), `${caught.code}: ${caught.message}`);
    if (name !== undefined) assert.match(caught.message, name);
  }

  test('revoked proxies as options, lists or ids are refused with a SwitchyardError naming them, changing nothing', async () => {
    const bus = new EventBus();
    const sub = bus.subscribe('a', () => {});
    const before = bus.metrics().totals;
    await expectRefused(() => new EventBus(revoked()), ['E_INVALID_OPTION'], /options/);
    await expectRefused(() => bus.subscribe('a', () => {}, revoked()), ['E_INVALID_OPTION'], /options/);
    await expectRefused(() => bus.subscribe('a', () => {}, { retry: revoked() }), ['E_INVALID_OPTION'], /retry/);
    await expectRefused(() => bus.publish('a', 1, revoked()), ['E_INVALID_OPTION'], /options/);
    await expectRefused(() => bus.publish('a', 1, { headers: revoked() }), ['E_INVALID_OPTION'], /headers/);
    await expectRefused(() => bus.redrive(revoked([])), ['E_INVALID_OPTION'], /ids/);
    await expectRefused(() => sub.setDelivery(revoked()), ['E_INVALID_OPTION'], /strategy/);
    await expectRefused(() => sub.setDelivery({ batch: revoked() }), ['E_INVALID_OPTION'], /batch/);
    const saving = new withSnapshots.EventBus();
    await expectRefused(() => withSnapshots.EventBus.restore(revoked()), ['E_INVALID_OPTION'], /snapshot/);
    await expectRefused(() => withSnapshots.EventBus.restore(saving.snapshot(), revoked()), ['E_INVALID_OPTION'], /options/);
    await expectRefused(() => withSnapshots.EventBus.restore({ ...saving.snapshot(), payloads: revoked([]) }), ['E_INVALID_OPTION'], /payloads/);
    await expectRefused(() => bus.waitFor('a', revoked()), ['E_INVALID_OPTION'], /options/);
    await expectRefused(() => bus.stream('a', revoked()), ['E_INVALID_OPTION'], /options/);
    await expectRefused(() => bus.waitFor(revoked()), ['E_INVALID_PATTERN'], /pattern/);
    await expectRefused(() => bus.stream(revoked()), ['E_INVALID_PATTERN'], /pattern/);
    assert.deepEqual(bus.metrics().totals, before);
    assert.equal(bus.subscriptions().length, 1);
    assertWorks(bus);
  });

  test('a signal whose getters throw is refused as option `signal`, not with what it throws', async () => {
    const bus = new EventBus();
    const hostile = new Proxy({}, {
      get() {
        throw new Error('proxy boom');
      },
    });
    await expectRefused(() => bus.stream('x', { signal: hostile }), ['E_INVALID_OPTION'], /signal/);
    await expectRefused(() => bus.waitFor('x', { signal: hostile }), ['E_INVALID_OPTION'], /signal/);
    await expectRefused(() => bus.subscribe('x', () => {}, { signal: hostile }), ['E_INVALID_OPTION'], /signal/);
    // A live signal whose addEventListener throws.
    const refusing = { aborted: false, addEventListener() { throw new Error('listener boom'); }, removeEventListener() {} };
    await expectRefused(() => bus.subscribe('x', () => {}, { signal: refusing }), ['E_INVALID_OPTION'], /signal/);
    await expectRefused(() => bus.stream('x', { signal: refusing }), ['E_INVALID_OPTION'], /signal/);
    await expectRefused(() => bus.waitFor('x', { signal: refusing }), ['E_INVALID_OPTION'], /signal/);
    assert.equal(bus.subscriptions().length, 0);
    assertWorks(bus);
  });

  test('waitFor and stream with a pattern that is not a string are refused with E_INVALID_PATTERN', async () => {
    const bus = new EventBus();
    for (const pattern of [Object.create(null), { toString: () => 'a' }, 1, undefined, Symbol('s')]) {
      await expectRefused(() => bus.waitFor(pattern), ['E_INVALID_PATTERN'], /pattern/);
      await expectRefused(() => bus.stream(pattern), ['E_INVALID_PATTERN'], /pattern/);
    }
    assert.equal(bus.subscriptions().length, 0);
    assertWorks(bus);
  });

  test('redrive with an array of length 2**32 - 1 is refused as option `ids`, allocating nothing', async () => {
    const bus = new EventBus();
    const ids = [];
    ids.length = 2 ** 32 - 1;
    await expectRefused(() => bus.redrive(ids), ['E_INVALID_OPTION'], /ids/);
    await expectRefused(() => bus.redrive(new Proxy([], { get: () => { throw new Error('boom'); } })), ['E_INVALID_OPTION'], /ids/);
    assertWorks(bus);
  });

  test('restore refuses snapshot bytes that are a proxy of a Uint8Array or a detached one, naming snapshot.bytes', async () => {
    const { EventBus } = withSnapshots;
    const bus = new EventBus();
    bus.subscribe('a', () => {}, { name: 'a' });
    const snapshot = bus.snapshot();
    await expectRefused(() => EventBus.restore({ ...snapshot, bytes: new Proxy(snapshot.bytes, {}) }), ['E_INVALID_OPTION'], /snapshot\.bytes/);
    const detached = snapshot.bytes.slice();
    structuredClone(detached, { transfer: [detached.buffer] });
    await expectRefused(() => EventBus.restore({ ...snapshot, bytes: detached }), ['E_INVALID_OPTION'], /snapshot\.bytes/);
    EventBus.restore(snapshot).free();
    assertWorks(bus);
  });
});

