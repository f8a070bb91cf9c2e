// `mitt()` from `switchyard/compat`, from mitt's README (https://github.com/developit/mitt). Each
// scenario also runs on mitt 3.0.1 itself (tests/node_modules) and must log the same. Then what
// the bus underneath sees (`emitter.bus`).

import assert from 'node:assert/strict';
import { describe, test } from 'node:test';

import realMitt from 'mitt';

import { importCompat } from './helpers/compat.mjs';

const { mitt } = await importCompat();

/** Runs `scenario(mittFactory)` on mitt and on compat's; both logs must match. */
function sameAsMitt(scenario) {
  const expected = scenario(realMitt);
  const actual = scenario(mitt);
  assert.deepEqual(actual, expected);
  return actual;
}

describe('compat mitt (mitt README)', () => {
  test('on and emit call a type\'s handlers with the event, then the * handlers with (type, event)', () => {
    const log = sameAsMitt((factory) => {
      const emitter = factory();
      const out = [];
      emitter.on('*', (type, e) => out.push(['*', type, e]));
      emitter.on('foo', (e) => out.push(['foo', e]));
      emitter.on('foo', (e) => out.push(['foo again', e]));
      emitter.emit('foo', { a: 'b' });
      emitter.emit('bar', 1);
      emitter.emit('foo');
      return out;
    });
    assert.deepEqual(log[0], ['foo', { a: 'b' }]);
    assert.deepEqual(log[2], ['*', 'foo', { a: 'b' }]);
  });

  test('off removes one handler; off without a handler removes every handler of the type', () => {
    sameAsMitt((factory) => {
      const emitter = factory();
      const out = [];
      const onFoo = (e) => out.push(['onFoo', e]);
      emitter.on('foo', onFoo);
      emitter.on('foo', (e) => out.push(['other', e]));
      emitter.off('foo', onFoo);
      emitter.emit('foo', 1);
      emitter.off('foo', () => {});
      emitter.off('missing', onFoo);
      emitter.emit('foo', 2);
      emitter.off('foo');
      emitter.emit('foo', 3);
      out.push([...emitter.all.keys()], emitter.all.get('foo'));
      return out;
    });
  });

  test('all is the live Map of handler lists: reading it, clearing it and changing a list act on the emitter', () => {
    sameAsMitt((factory) => {
      const emitter = factory();
      const out = [];
      const f = (e) => out.push(['f', e]);
      emitter.on('foo', f);
      out.push(emitter.all instanceof Map, emitter.all.get('foo').length, emitter.all.get('foo')[0] === f);
      // A list is a plain array to its readers (compared equal, keys as mitt's).
      const list = emitter.all.get('foo');
      out.push(Object.keys(list), Object.getOwnPropertySymbols(list).filter((s) => list.propertyIsEnumerable(s)));
      emitter.all.get('foo').push((e) => out.push(['pushed', e]));
      emitter.emit('foo', 1);
      emitter.all.clear();
      emitter.emit('foo', 2);
      emitter.all.set('bar', [(e) => out.push(['set', e])]);
      emitter.emit('bar', 3);
      emitter.all.delete('bar');
      emitter.emit('bar', 4);
      out.push(emitter.all.size);
      return out;
    });
  });

  test('a Map passed to mitt(all) is used as the handler map', () => {
    sameAsMitt((factory) => {
      const out = [];
      const all = new Map([['x', [(e) => out.push(['x', e])]]]);
      const emitter = factory(all);
      emitter.emit('x', 1);
      out.push(emitter.all === all);
      return out;
    });
  });

  test('an emit calls the lists as they were when it reached them; a handler that throws ends the emit', () => {
    sameAsMitt((factory) => {
      const emitter = factory();
      const out = [];
      const second = () => out.push('second');
      emitter.on('a', () => {
        out.push('first');
        emitter.off('a', second);
        emitter.on('a', () => out.push('added'));
      });
      emitter.on('a', second);
      emitter.emit('a');
      emitter.emit('a');
      emitter.on('b', () => {
        throw new Error('boom');
      });
      emitter.on('b', () => out.push('never'));
      emitter.on('*', () => out.push('never either'));
      try {
        emitter.emit('b');
      } catch (error) {
        out.push(error.message);
      }
      return out;
    });
  });

  test('handlers are called as plain functions, and emit returns nothing', () => {
    sameAsMitt((factory) => {
      const emitter = factory();
      const out = [];
      emitter.on('a', function () {
        out.push(this === undefined);
      });
      out.push(emitter.emit('a', 1), emitter.on('b', () => {}), emitter.off('b'));
      return out;
    });
  });

  test('symbol types and a * type work as in mitt (emitting * calls the * handlers twice, as mitt does)', () => {
    sameAsMitt((factory) => {
      const emitter = factory();
      const out = [];
      const s = Symbol('s');
      emitter.on(s, (e) => out.push(['s', e]));
      emitter.on('*', (type, e) => out.push(['*', String(type), e]));
      emitter.emit(s, 1);
      emitter.emit('*', 2);
      return out;
    });
  });
});

describe('compat mitt: the bus underneath', () => {
  test('bad bus options are refused by mitt() itself with E_INVALID_OPTION', () => {
    assert.throws(() => mitt(undefined, { bus: { capacity: -1 } }), (error) => error.code === 'E_INVALID_OPTION' && /capacity/.test(error.message));
    const emitter = mitt(undefined, { bus: { capacity: 8 } });
    emitter.on('x', () => {});
    assert.equal(emitter.bus.subscriptions().length, 1);
  });

  test('each handler is a subscription named after its type (* handlers on **), and each emit a publish, seen in the same task', () => {
    const emitter = mitt();
    emitter.on('user.created', () => {});
    emitter.on('user.created', () => {});
    emitter.on('*', () => {});
    emitter.on('a b', () => {});
    assert.deepEqual(
      emitter.bus.subscriptions().map((s) => [s.pattern, s.name]),
      [
        ['user.created', 'user.created'],
        ['user.created', 'user.created'],
        ['**', '*'],
        ['~a%20b', 'a b'],
      ],
    );
    for (let i = 0; i < 3; i++) emitter.emit('user.created', { i });
    emitter.emit('nobody.typed', 1);
    emitter.emit('a b', 2);
    const { totals } = emitter.bus.metrics();
    assert.equal(totals.published, 5);
    // 3 × (2 typed + 1 wildcard) + 1 wildcard + (1 typed + 1 wildcard).
    assert.equal(totals.delivered, 12);
    assert.deepEqual(
      emitter.bus.subscriptions().map((s) => s.counters.delivered),
      [3, 3, 5, 1],
    );
  });

  test('off, off without a handler, all.delete and all.clear end the registrations', () => {
    const emitter = mitt();
    const f = () => {};
    emitter.on('a', f);
    emitter.on('a', () => {});
    emitter.on('b', f);
    emitter.on('*', f);
    emitter.off('a', f);
    assert.equal(emitter.bus.subscriptions().length, 3);
    emitter.off('a');
    assert.deepEqual(emitter.bus.subscriptions().map((s) => s.name), ['b', '*']);
    emitter.all.delete('b');
    assert.deepEqual(emitter.bus.subscriptions().map((s) => s.name), ['*']);
    emitter.all.clear();
    assert.deepEqual(emitter.bus.subscriptions(), []);
    emitter.all.set('c', [f, f]);
    assert.equal(emitter.bus.subscriptions().length, 2);
  });

  test('emitting the type * publishes the plain name *, heard by the * registrations', () => {
    const errors = [];
    const error = console.error;
    console.error = (...args) => errors.push(args);
    try {
      const emitter = mitt();
      emitter.on('*', () => {});
      emitter.emit('*', 1);
      emitter.emit('*', 2);
      emitter.emit('*', 3);
      const byTopic = Object.fromEntries(emitter.bus.metrics().topics.map((t) => [t.topic, t.counters.published]));
      assert.deepEqual(byTopic, { '~%2A': 3 });
      assert.deepEqual(emitter.bus.subscriptions().map((s) => s.counters.delivered), [3]);
    } finally {
      console.error = error;
    }
    assert.deepEqual(errors, []);
  });

  test('a type only * handlers hear can be emitted again and again, and reaches the bus only while they listen', () => {
    const log = sameAsMitt((factory) => {
      const emitter = factory();
      const out = [];
      const star = (type, e) => out.push([type, e]);
      emitter.on('*', star);
      emitter.emit('foo', 1);
      emitter.emit('foo', 2);
      emitter.emit('foo', 3);
      emitter.off('*', star);
      emitter.emit('foo', 4);
      emitter.emit('foo', 5);
      return out;
    });
    assert.deepEqual(log, [['foo', 1], ['foo', 2], ['foo', 3]]);
    const emitter = mitt();
    const star = () => {};
    emitter.on('*', star);
    emitter.emit('foo', 1);
    emitter.emit('foo', 2);
    emitter.off('*', star);
    emitter.emit('foo', 3);
    const byTopic = Object.fromEntries(emitter.bus.metrics().topics.map((t) => [t.topic, t.counters.published]));
    assert.deepEqual(byTopic, { foo: 2 });
  });

  test('types only * handlers hear are not kept once many others followed (a new symbol per emit does not pile up)', async () => {
    const emitter = mitt();
    emitter.on('*', () => {});
    let first;
    (() => {
      const symbol = Symbol('first');
      first = new WeakRef(symbol);
      emitter.emit(symbol, 0);
    })();
    for (let i = 0; i < 1100; i++) emitter.emit(Symbol('next'), i);
    for (let i = 0; i < 3; i++) {
      await new Promise((resolve) => setTimeout(resolve, 10));
      globalThis.gc();
    }
    assert.equal(first.deref(), undefined);
  });

  test('a list set under another type counts that type\'s emits on its own topic', () => {
    const emitter = mitt();
    emitter.on('a', () => {});
    emitter.all.set('b', emitter.all.get('a'));
    emitter.emit('b', 1);
    emitter.emit('b', 2);
    emitter.emit('a', 3);
    const byTopic = Object.fromEntries(emitter.bus.metrics().topics.map((t) => [t.topic, t.counters.published]));
    assert.deepEqual(byTopic, { a: 1, b: 2 });
  });

  test('leaks() reports more handlers than the bus\'s maxListeners on one type', () => {
    const emitter = mitt(undefined, { bus: { maxListeners: 2 } });
    for (let i = 0; i < 3; i++) emitter.on('tick', () => {});
    const [leak] = emitter.bus.leaks();
    assert.equal(leak.reason, 'max_listeners');
    assert.equal(leak.pattern, 'tick');
  });

  test('a handler subscribed on the bus itself receives every emit with its event', () => {
    const emitter = mitt();
    emitter.on('tick', () => {});
    const seen = [];
    emitter.bus.subscribe('tick', (payload) => seen.push(payload));
    for (let i = 0; i < 3; i++) emitter.emit('tick', { i });
    assert.deepEqual(seen, [{ i: 0 }, { i: 1 }, { i: 2 }]);
  });
});
