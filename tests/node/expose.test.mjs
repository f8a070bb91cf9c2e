// The bus side of the attach protocol (docs/ATTACH_PROTOCOL.md) over Node's BroadcastChannel
// and over a MessagePort (the in-page devtools' transport).

import assert from 'node:assert/strict';
import { describe, test } from 'node:test';

import { importPackage } from './helpers/package.mjs';

const { EventBus } = await importPackage();

/** A viewer on `switchyard:NAME`, or on `port` (the other end of the bus's MessagePort). */
function viewer(name, port) {
  const channel = port ?? new BroadcastChannel(`switchyard:${name}`);
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

  test('a port exposure speaks the same protocol and its first frame shows the history before it', async () => {
    const bus = new EventBus();
    bus.subscribe('orders.*', () => {
      throw new Error('down');
    }, { name: 'billing' });
    bus.publish('orders.created', { total: 7 });
    await bus.idle();
    const { port1, port2 } = new MessageChannel();
    const stop = bus.expose(port1);
    const watcher = viewer(null, port2);
    watcher.send({ v: 1, type: 'hello', viewer: 'panel' });
    const welcome = await watcher.next('welcome');
    assert.equal(welcome.name, 'in-page');
    assert.equal(welcome.viewer, 'panel');
    const frame = await watcher.next('frame');
    assert.deepEqual(frame.state.subscriptions.map((s) => s.name), ['billing']);
    assert.equal(frame.state.deadLetters.length, 1);
    assert.equal(frame.state.deadLetters[0].payload.total, 7);
    assert.equal(frame.state.metrics.totals.published, 1);

    watcher.send({ v: 1, type: 'command', viewer: 'panel', command: { op: 'purge' } });
    for (;;) {
      const next = await watcher.next('frame');
      if (next.state.deadLetters.length === 0) break;
    }
    assert.equal(bus.deadLetters().length, 0);
    stop();
    watcher.close();
  });

  test('stopping a port exposure turns the trace ring off again and sends nothing more', async () => {
    const bus = new EventBus();
    bus.subscribe('t', () => {});
    const { port1, port2 } = new MessageChannel();
    const stop = bus.expose(port1);
    const watcher = viewer(null, port2);
    watcher.send({ v: 1, type: 'hello', viewer: 'panel' });
    await watcher.next('welcome');
    bus.publish('t', 1);
    const traced = bus.trace();
    assert.ok(traced.events.length > 0, 'the ring records while the panel watches');
    stop();
    watcher.inbox.length = 0;
    bus.publish('t', 2);
    await new Promise((resolve) => setTimeout(resolve, 100));
    assert.deepEqual(watcher.inbox, [], 'nothing sent after stop');
    assert.deepEqual(bus.trace(traced.cursor).events, [], 'the ring records nothing after stop');
    watcher.close();
  });

  test('a named exposure and a port exposure are in force together; stopping one keeps the other', async () => {
    const bus = new EventBus();
    const stopNamed = bus.expose('both');
    const { port1, port2 } = new MessageChannel();
    const stopPort = bus.expose(port1);
    const tab = viewer('both');
    const panel = viewer(null, port2);
    tab.send({ v: 1, type: 'hello', viewer: 'tab' });
    panel.send({ v: 1, type: 'hello', viewer: 'panel' });
    assert.equal((await tab.next('welcome')).name, 'both');
    assert.equal((await panel.next('welcome')).name, 'in-page');
    stopPort();
    await tab.next('frame');
    tab.inbox.length = 0;
    bus.subscribe('t', () => {}, { name: 'late' });
    bus.publish('t', 1);
    for (;;) {
      const frame = await tab.next('frame');
      if (frame.state.subscriptions.some((s) => s.name === 'late')) break;
    }
    stopNamed();
    tab.close();
    panel.close();
  });

  test('a ping from a viewer the bus dropped (a sleeping tab) attaches it again', async () => {
    const bus = new EventBus();
    const stop = bus.expose('sleepy');
    const watcher = viewer('sleepy');
    // No hello: as after the bus dropped the viewer for 3 s of silence.
    watcher.send({ v: 1, type: 'ping', viewer: 'v-woke' });
    const welcome = await watcher.next('welcome');
    assert.equal(welcome.viewer, 'v-woke');
    await watcher.next('frame');
    watcher.close();
    stop();
  });
});
