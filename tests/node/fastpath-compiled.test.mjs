// Compiled dispatchers (crates/wasm/js/src/dispatchers.js): a route published often enough gets
// its own dispatcher, compiled for exactly its handlers. It must be indistinguishable from the
// shared loop: this file runs every fast-path test file again with every route compiled at its
// first publish (`__inlineCompileAfter(1, 0)`), and checks when compiling happens.

import assert from 'node:assert/strict';
import { describe, test } from 'node:test';

import { countCompiles } from './helpers/compiles.mjs';
import { importPackage } from './helpers/package.mjs';

const { EventBus } = await importPackage();

describe('compiled dispatchers', () => {
  test('a route is compiled at its 1024th publish, once; a cold route and owned subscriptions keep the loop', () => {
    EventBus.__inlineCompileAfter(1024, 0);
    try {
      const bus = new EventBus();
      const seen = [];
      bus.subscribe('hot', (n) => seen.push(['hot-a', n]));
      bus.subscribe('hot', (n, meta) => seen.push(['hot-b', n, meta.seq]));
      bus.subscribe('cold', (n) => seen.push(['cold', n]));
      const owner = {};
      bus.subscribe('owned', () => {}, { owner });
      assert.equal(countCompiles(() => {
        for (let i = 0; i < 1023; i++) bus.publish('hot', i);
      }), 0);
      assert.equal(countCompiles(() => bus.publish('hot', 1023)), 1);
      assert.equal(countCompiles(() => {
        for (let i = 1024; i < 3000; i++) bus.publish('hot', i);
        for (let i = 0; i < 100; i++) bus.publish('cold', i);
        for (let i = 0; i < 3000; i++) bus.publish('owned', i);
      }), 0);
      // Both paths delivered every message, in order, with the right meta.
      const hotA = seen.filter((s) => s[0] === 'hot-a').map((s) => s[1]);
      const hotB = seen.filter((s) => s[0] === 'hot-b');
      assert.deepEqual(hotA, Array.from({ length: 3000 }, (_, i) => i));
      assert.deepEqual(hotB.map((s) => s[2]), Array.from({ length: 3000 }, (_, i) => i + 1));
      assert.equal(bus.metrics().totals.delivered, 9100);
      bus.close();
    } finally {
      EventBus.__inlineCompileAfter(1, 0);
    }
  });

  test('a changed route (a new subscriber) starts over on the loop and is compiled again when hot', () => {
    EventBus.__inlineCompileAfter(1024, 0);
    try {
      const bus = new EventBus();
      let calls = 0;
      bus.subscribe('t', () => calls++);
      assert.equal(countCompiles(() => {
        for (let i = 0; i < 1100; i++) bus.publish('t', i);
      }), 1);
      bus.subscribe('t', () => calls++);
      assert.equal(countCompiles(() => {
        for (let i = 0; i < 1100; i++) bus.publish('t', i);
      }), 1);
      assert.equal(calls, 3300);
      bus.close();
    } finally {
      EventBus.__inlineCompileAfter(1, 0);
    }
  });

  test('a hot route keeps its dispatcher when a throw or a change elsewhere makes it refill with the same handlers', () => {
    EventBus.__inlineCompileAfter(1024, 0);
    try {
      const bus = new EventBus({ retry: { attempts: 1 } });
      let calls = 0;
      bus.subscribe('hot', (n) => {
        calls++;
        if (n === 1050) throw new Error('once');
      });
      const compiles = countCompiles(() => {
        for (let i = 0; i < 1100; i++) bus.publish('hot', i);
        bus.subscribe('other', () => {}).unsubscribe();
        for (let i = 0; i < 1100; i++) bus.publish('hot', i + 1100);
      });
      assert.equal(compiles, 1);
      assert.equal(calls, 2200);
      assert.equal(bus.metrics().totals.deadLettered, 1);
      bus.close();
    } finally {
      EventBus.__inlineCompileAfter(1, 0);
    }
  });

  test('a hot route is compiled though publishes with options (the slow path) come in between', () => {
    EventBus.__inlineCompileAfter(1024, 0);
    try {
      const bus = new EventBus();
      let calls = 0;
      bus.subscribe('hot', () => calls++);
      bus.subscribe('hot', () => calls++);
      bus.subscribe('other', () => {});
      const compiles = countCompiles(() => {
        for (let i = 0; i < 2000; i++) {
          bus.publish('hot', i);
          if (i % 100 === 0) bus.publish('other', i, { headers: { from: 'test' } });
        }
      });
      assert.equal(compiles, 1);
      assert.equal(calls, 4000);
      bus.close();
    } finally {
      EventBus.__inlineCompileAfter(1, 0);
    }
  });

  test('routes turning hot together compile one at a time, the others again after as many publishes', async () => {
    // A spacing far longer than a round takes, even on a loaded machine.
    EventBus.__inlineCompileAfter(1024, 300);
    try {
      const bus = new EventBus();
      for (const topic of ['a', 'b', 'c']) bus.subscribe(topic, () => {});
      const round = () => {
        for (let i = 0; i < 1024; i++) for (const topic of ['a', 'b', 'c']) bus.publish(topic, i);
      };
      assert.equal(countCompiles(round), 1, 'one compile, the other two refused for now');
      assert.equal(countCompiles(round), 0, 'still within the spacing');
      await new Promise((resolve) => setTimeout(resolve, 350));
      assert.equal(countCompiles(round), 1);
      await new Promise((resolve) => setTimeout(resolve, 350));
      assert.equal(countCompiles(round), 1);
      await new Promise((resolve) => setTimeout(resolve, 350));
      assert.equal(countCompiles(round), 0, 'all three have their dispatcher');
      bus.close();
    } finally {
      EventBus.__inlineCompileAfter(1, 0);
    }
  });
});

// Every fast-path behaviour again, on compiled dispatchers.
EventBus.__inlineCompileAfter(1, 0);
await import('./fastpath.test.mjs');
await import('./fastpath-midispatch.test.mjs');
await import('./fastpath-meta.test.mjs');
await import('./fastpath-summed.test.mjs');
await import('./fastpath-owned.test.mjs');
await import('./dispatch.test.mjs');
