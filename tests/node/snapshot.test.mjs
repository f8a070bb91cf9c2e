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
    const saved = bus.snapshot();
    assert.equal(typeof saved, 'string');

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
    const restored = EventBus.restore(bus.snapshot(), { clock: 'manual', handlers: { worker: (p) => seen.push(p) } });
    assert.deepEqual(seen, ['a', 'b'], 'the in-flight delivery runs again (at least once)');
    assert.equal(restored.publish('jobs', 'c').seq, 3);
    assert.deepEqual(seen, ['a', 'b', 'c']);
  });

  test('payloads JSON cannot hold make snapshot() throw; bad snapshots are refused', () => {
    const bus = new EventBus();
    const sub = bus.subscribe('t', () => {});
    sub.pause();
    bus.publish('t', 10n);
    expectCode(assert, () => bus.snapshot(), 'E_INVALID_OPTION', SwitchyardError);
    for (const bad of [42, '', '{}', '{"version": 99}', JSON.stringify({ nope: true })]) {
      expectCode(assert, () => EventBus.restore(bad), 'E_INVALID_OPTION', SwitchyardError);
    }
    const good = new EventBus().snapshot();
    expectCode(assert, () => EventBus.restore(good, { handlers: 5 }), 'E_INVALID_OPTION', SwitchyardError);
    expectCode(assert, () => EventBus.restore(good, { nope: 1 }), 'E_INVALID_OPTION', SwitchyardError);
    assert.equal(EventBus.restore(good).subscriptions().length, 0);
  });
});
