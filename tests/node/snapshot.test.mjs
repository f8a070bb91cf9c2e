// snapshot() / EventBus.restore(): nothing queued, pending or dead-lettered is lost.

import assert from 'node:assert/strict';
import { describe, test } from 'node:test';

import { expectCode, importPackage } from './helpers/package.mjs';

const { EventBus, SwitchyardError } = await importPackage();

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
    expectCode(assert, () => EventBus.restore(good, { handlers: 5 }), 'E_INVALID_OPTION', SwitchyardError);
    expectCode(assert, () => EventBus.restore(good, { nope: 1 }), 'E_INVALID_OPTION', SwitchyardError);
    assert.equal(EventBus.restore(good).subscriptions().length, 0);
  });
});
