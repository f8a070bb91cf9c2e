// The fast path builds a `meta` only for handlers that can read one (see metareaders.js in the
// package's sources): every handler that can read its second argument, in any way JavaScript
// allows, must get a fresh meta with the documented fields, exactly as on the slow path, and no
// handler may see another handler's changes to its meta.

import assert from 'node:assert/strict';
import vm from 'node:vm';
import { describe, test } from 'node:test';

import { importPackage } from './helpers/package.mjs';
import { busesOnBothPaths } from './helpers/paths.mjs';

const { EventBus } = await importPackage();
const { fast, slow } = busesOnBothPaths(EventBus);

/** Counts `__inlineRecord` calls (fast-path batches recorded) while `body` runs. */
async function countRecords(body) {
  const record = EventBus.prototype.__inlineRecord;
  let calls = 0;
  EventBus.prototype.__inlineRecord = function (...args) {
    calls++;
    return record.apply(this, args);
  };
  try {
    await body();
    await Promise.resolve();
  } finally {
    EventBus.prototype.__inlineRecord = record;
  }
  return calls;
}

const FIELDS = ['id', 'topic', 'seq', 'attempt', 'publishedAt', 'causationId', 'correlationId', 'headers', 'origin'];

/** What a handler saw as its second argument, as plain data. */
function describeMeta(meta) {
  if (meta === undefined) return 'none';
  return { keys: Object.keys(meta), values: FIELDS.map((f) => (f === 'headers' ? { ...meta.headers } : meta[f])) };
}

// Handlers that read their meta in every way the language offers; each reports what it saw.
let seen = [];
const sloppy = vm.runInThisContext('(function onTick(p) { return globalThis.__peekMeta(); })');
globalThis.__peekMeta = () => seen.push(['sloppy fn.arguments', describeMeta(sloppy.arguments[1])]);
const READERS = {
  'two parameters': (p, meta) => seen.push(['two parameters', describeMeta(meta)]),
  'a default value': (p, meta = 'default') => seen.push(['a default value', describeMeta(meta)]),
  'rest parameters': (...args) => seen.push(['rest parameters', describeMeta(args[1])]),
  arguments: function (p) {
    seen.push(['arguments', describeMeta(arguments[1])]);
  },
  eval: function (p) {
    seen.push(['eval', describeMeta(eval('arguments[1]'))]);
  },
  'a bound function': function (p, meta) {
    seen.push(['a bound function', describeMeta(meta)]);
  }.bind(null),
  'a destructured first parameter and a second': ({ n }, meta) => seen.push(['a destructured first parameter and a second', describeMeta(meta)]),
  'a length that lies': Object.defineProperty((p, meta) => seen.push(['a length that lies', describeMeta(meta)]), 'length', { value: 0 }),
  // A comment hiding the real end of the parameter list.
  'a comment in the parameters': function (p /* ) { */, meta = 0) {
    seen.push(['a comment in the parameters', describeMeta(meta)]);
  },
  'sloppy fn.arguments': sloppy,
};

function runReaders(bus) {
  seen = [];
  for (const handler of Object.values(READERS)) bus.subscribe('tick', handler);
  bus.subscribe('tick', (p) => p); // a handler that cannot read its meta, between the others
  for (let i = 0; i < 3; i++) bus.publish('tick', { n: i });
  return seen;
}

describe('metas on the fast path', () => {
  test('every handler that can read its meta gets one with the documented fields, as on the slow path', async () => {
    let onFast;
    const records = await countRecords(() => {
      onFast = runReaders(fast());
    });
    assert.ok(records > 0, 'the publishes took the fast path');
    const onSlow = runReaders(slow());
    assert.equal(onFast.length, 3 * Object.keys(READERS).length);
    for (const [name, meta] of onFast) assert.notEqual(meta, 'none', `${name} got no meta`);
    assert.deepEqual(onFast, onSlow);
    assert.deepEqual(onFast[0][1].keys, FIELDS);
  });

  test('a handler that changes or extends its meta is not seen by the next handler, nor by one that kept its own', async () => {
    const bus = fast();
    const kept = [];
    bus.subscribe('t', (p, meta) => {
      kept.push(meta);
    });
    bus.subscribe('t', (p, meta) => {
      meta.id = -1;
      meta.note = 'changed';
      kept.push(meta);
    });
    bus.subscribe('t', (p, meta) => {
      kept.push(meta);
    });
    const records = await countRecords(() => {
      bus.publish('t', 1);
      bus.publish('t', 2);
    });
    assert.ok(records > 0, 'the publishes took the fast path');
    assert.equal(new Set(kept).size, 6, 'each call got its own meta');
    assert.deepEqual(kept.map((m) => [m.id, m.note]), [
      [1, undefined],
      [-1, 'changed'],
      [1, undefined],
      [2, undefined],
      [-1, 'changed'],
      [2, undefined],
    ]);
  });

  test('deciding whether a handler reads its meta never runs the app\'s code (getters, proxy traps)', async () => {
    const touched = [];
    const withGetters = (p, meta) => meta;
    for (const key of ['length', 'arguments', 'name', 'toString']) {
      Object.defineProperty(withGetters, key, {
        get() {
          touched.push(`getter ${key}`);
          return 0;
        },
      });
    }
    const traps = {};
    for (const trap of ['get', 'has', 'getOwnPropertyDescriptor', 'ownKeys', 'getPrototypeOf']) {
      traps[trap] = (...args) => {
        touched.push(`trap ${trap}`);
        return Reflect[trap](...args);
      };
    }
    const metas = [];
    const proxied = new Proxy((p, meta) => metas.push(meta), traps);
    const bus = fast();
    bus.subscribe('t', withGetters);
    bus.subscribe('t', proxied);
    const records = await countRecords(() => {
      bus.publish('t', 1);
      bus.publish('t', 2);
    });
    assert.ok(records > 0, 'the publishes took the fast path');
    assert.deepEqual(touched, []);
    assert.deepEqual(metas.map((m) => m.id), [1, 2], 'a proxy counts as a handler that reads its meta');
  });

  test('handlers that cannot read a meta still run in order with their payloads', async () => {
    const bus = fast();
    const calls = [];
    bus.subscribe('t', (p) => calls.push(['arrow', p]));
    bus.subscribe('t', function named(p) {
      calls.push(['function', p]);
    });
    bus.subscribe('t', ({ n }) => calls.push(['destructured', n]));
    bus.subscribe('t', () => calls.push(['no parameters']));
    const records = await countRecords(() => {
      bus.publish('t', { n: 1 });
    });
    assert.ok(records > 0);
    assert.deepEqual(calls, [['arrow', { n: 1 }], ['function', { n: 1 }], ['destructured', 1], ['no parameters']]);
  });
});
