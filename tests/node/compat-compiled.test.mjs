// Compiled callers for `EventEmitter#emit` (crates/wasm/js/compat/callers.js): a listener list
// emitted often enough gets a caller compiled for exactly its listeners. It must be
// indistinguishable from `emit`'s loop: this file runs the compat behaviour tests again (the
// differential against node:events among them) with every list compiled at its first emit, and
// checks when compiling happens.

import assert from 'node:assert/strict';
import { describe, test } from 'node:test';

import { countCompiles } from './helpers/compiles.mjs';
import { importCompat } from './helpers/compat.mjs';
import { importPackage } from './helpers/package.mjs';

const { EventEmitter } = await importCompat();
const { EventBus } = await importPackage();

describe('compiled emit callers', () => {
  test('a list is compiled at its 1024th emit, once; a changed list starts over; every call keeps `this` and its arguments', () => {
    EventEmitter.__compileAfter(1024, 0);
    try {
      const emitter = new EventEmitter();
      const calls = [];
      emitter.on('e', function first(...args) {
        calls.push(['first', this === emitter, args.length]);
      });
      emitter.on('e', (...args) => calls.push(['second', args.length]));
      assert.equal(countCompiles(() => {
        for (let i = 0; i < 1023; i++) emitter.emit('e', i);
      }), 0);
      assert.equal(countCompiles(() => emitter.emit('e', 1023)), 1);
      calls.length = 0;
      assert.equal(countCompiles(() => {
        emitter.emit('e');
        emitter.emit('e', 1);
        emitter.emit('e', 1, 2);
        emitter.emit('e', 1, 2, 3);
        emitter.emit('e', 1, 2, 3, 4); // more than three arguments: the loop
      }), 0);
      assert.deepEqual(calls, [
        ['first', true, 0], ['second', 0],
        ['first', true, 1], ['second', 1],
        ['first', true, 2], ['second', 2],
        ['first', true, 3], ['second', 3],
        ['first', true, 4], ['second', 4],
      ]);
      emitter.on('e', () => {});
      assert.equal(countCompiles(() => {
        for (let i = 0; i < 1100; i++) emitter.emit('e', i);
      }), 1);
    } finally {
      EventEmitter.__compileAfter(1, 0);
    }
  });

  test('a listener removed from a hot event can be collected (the compiled caller does not hold it)', async () => {
    EventEmitter.__compileAfter(1024, 0);
    try {
      const emitter = new EventEmitter();
      emitter.on('data', () => {});
      let listener = ((buffer) => () => buffer.length)(new Uint8Array(1 << 20));
      const collected = new WeakRef(listener);
      emitter.on('data', listener);
      assert.equal(countCompiles(() => {
        for (let i = 0; i < 1100; i++) emitter.emit('data', i);
      }), 1);
      emitter.off('data', listener);
      listener = null;
      for (let i = 0; i < 5 && collected.deref() !== undefined; i++) {
        await new Promise((resolve) => setTimeout(resolve, 0));
        globalThis.gc();
      }
      assert.equal(collected.deref(), undefined, 'the removed listener is collectable');
      assert.equal(emitter.emit('data', 1), true);
    } finally {
      EventEmitter.__compileAfter(1, 0);
    }
  });

  test('a list that changes at every emit (a once per request) is never compiled', () => {
    EventEmitter.__compileAfter(1024, 0);
    // Only compat's compiles are counted: the emitter's bus (its registrations' no-op handler,
    // published when the bus is told) keeps its loop meanwhile.
    EventBus.__inlineCompileAfter(0);
    try {
      const emitter = new EventEmitter();
      emitter.on('response', () => {});
      let answered = 0;
      const compiles = countCompiles(() => {
        for (let i = 0; i < 5000; i++) {
          emitter.once('response', () => answered++);
          emitter.emit('response', i);
        }
      });
      assert.equal(compiles, 0);
      assert.equal(answered, 5000);
    } finally {
      EventEmitter.__compileAfter(1, 0);
      EventBus.__inlineCompileAfter(1024);
    }
  });

  test('emit() with no arguments calls the listeners of `undefined` with none, as Node does', () => {
    for (const after of [0, 1]) {
      EventEmitter.__compileAfter(after, 0);
      try {
        const emitter = new EventEmitter();
        const calls = [];
        emitter.on(undefined, (...args) => calls.push(args.length));
        assert.equal(emitter.emit(), true);
        assert.equal(emitter.emit(), true);
        assert.deepEqual(calls, [0, 0]);
      } finally {
        EventEmitter.__compileAfter(1, 0);
      }
    }
  });

  test('a listener that throws from a compiled caller stops the emit there, as in Node', () => {
    const emitter = new EventEmitter();
    const calls = [];
    emitter.on('e', (n) => calls.push(['a', n]));
    emitter.on('e', (n) => {
      if (n === 2) throw new Error('two');
      calls.push(['b', n]);
    });
    emitter.on('e', (n) => calls.push(['c', n]));
    emitter.emit('e', 1);
    assert.throws(() => emitter.emit('e', 2), /two/);
    emitter.emit('e', 3);
    assert.deepEqual(calls, [['a', 1], ['b', 1], ['c', 1], ['a', 2], ['a', 3], ['b', 3], ['c', 3]]);
  });
});

// Every compat behaviour again, on compiled callers.
EventEmitter.__compileAfter(1, 0);
await import('./compat.test.mjs');
