// The bus side of the attach protocol (docs/ATTACH_PROTOCOL.md) over Node's BroadcastChannel.

import assert from 'node:assert/strict';
import { describe, test } from 'node:test';

import { importPackage } from './helpers/package.mjs';

const { EventBus } = await importPackage();

function viewer(name) {
  const channel = new BroadcastChannel(`switchyard:${name}`);
  const inbox = [];
  const waiters = [];
  channel.onmessage = (event) => {
    inbox.push(event.data);
    for (const w of waiters.splice(0)) w();
  };
  const next = async (type, timeoutMs = 2000) => {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      const index = inbox.findIndex((m) => m.type === type);
      if (index >= 0) return inbox.splice(index, 1)[0];
      if (Date.now() > deadline) throw new Error(`no ${type} within ${timeoutMs} ms; got ${JSON.stringify(inbox)}`);
      await new Promise((resolve) => {
        waiters.push(resolve);
        setTimeout(resolve, 50);
      });
    }
  };
  return { channel, inbox, next, send: (m) => channel.postMessage(m), close: () => channel.close() };
}

describe('expose', () => {
  test('nothing is sent while no viewer is attached', async () => {
    const bus = new EventBus();
    const stop = bus.expose('quiet');
    const watcher = viewer('quiet');
    bus.subscribe('t', () => {});
    bus.publish('t', 1);
    await new Promise((resolve) => setTimeout(resolve, 100));
    assert.deepEqual(watcher.inbox, []);
    watcher.close();
    stop();
  });

  test('frames carry the leak reports the bus raises', async () => {
    const bus = new EventBus({ maxListeners: 1 });
    const stop = bus.expose('leaky');
    const watcher = viewer('leaky');
    watcher.send({ v: 1, type: 'hello', viewer: 'v-leaks' });
    await watcher.next('welcome');
    bus.subscribe('ui.click', () => {}, { name: 'first' });
    bus.subscribe('ui.click', () => {}, { name: 'second' });
    let frame;
    for (;;) {
      frame = await watcher.next('frame');
      if (Array.isArray(frame.state.leaks) && frame.state.leaks.length > 0) break;
    }
    const report = frame.state.leaks[0];
    assert.equal(report.reason, 'max_listeners');
    assert.equal(report.pattern, 'ui.click');
    assert.deepEqual(report.suspects.map((s) => s.name), ['first', 'second']);
    watcher.send({ v: 1, type: 'bye', viewer: 'v-leaks' });
    watcher.close();
    stop();
  });

  test('hello gets welcome, then frames with events and state; commands act on dead letters', async () => {
    const bus = new EventBus();
    const stop = bus.expose('shop');
    const watcher = viewer('shop');
    watcher.send({ v: 1, type: 'hello', viewer: 'v1' });
    const welcome = await watcher.next('welcome');
    assert.equal(welcome.name, 'shop');
    assert.equal(welcome.viewer, 'v1');
    assert.equal(typeof welcome.version, 'string');
    await watcher.next('frame');

    bus.subscribe('orders.*', () => {
      throw new Error('down');
    }, { name: 'billing' });
    bus.publish('orders.created', { total: 5 });
    let frame;
    for (;;) {
      frame = await watcher.next('frame');
      if (frame.state.deadLetters.length > 0) break;
    }
    assert.ok(frame.events.some((e) => e.kind === 'dead_lettered'), 'protocol uses the core TraceKind names');
    assert.ok(frame.events.every((e) => typeof e.cursor === 'number' && typeof e.at === 'number'));
    assert.equal(frame.state.subscriptions[0].name, 'billing');
    assert.equal(frame.state.deadLetters[0].payload.total, 5);
    assert.equal(typeof frame.state.metrics.totals.published, 'number');

    watcher.send({ v: 1, type: 'command', viewer: 'v1', command: { op: 'purge' } });
    for (;;) {
      frame = await watcher.next('frame');
      if (frame.state.deadLetters.length === 0) break;
    }
    assert.equal(bus.deadLetters().length, 0);

    watcher.send({ v: 1, type: 'bye', viewer: 'v1' });
    await new Promise((resolve) => setTimeout(resolve, 50));
    watcher.inbox.length = 0;
    bus.publish('orders.created', {});
    await new Promise((resolve) => setTimeout(resolve, 100));
    assert.deepEqual(watcher.inbox, [], 'no frames after the last viewer left');
    watcher.close();
    stop();
  });

  test('a message with another protocol version is answered with an error', async () => {
    const bus = new EventBus();
    const stop = bus.expose('versions');
    const watcher = viewer('versions');
    watcher.send({ v: 2, type: 'hello', viewer: 'v9' });
    const error = await watcher.next('error');
    assert.equal(error.code, 'E_VERSION');
    watcher.close();
    stop();
  });
});
