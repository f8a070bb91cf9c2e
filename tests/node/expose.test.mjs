// The bus side of the attach protocol (docs/ATTACH_PROTOCOL.md) over Node's BroadcastChannel
// and over a MessagePort (the in-page devtools' transport).

import assert from 'node:assert/strict';
import { describe, test } from 'node:test';

import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';

import { importPackage, installDir } from './helpers/package.mjs';

const { EventBus, SwitchyardError } = await importPackage();

/** `import('switchyard/devtools')` from a module inside the install folder. */
async function importDevtools() {
  const entry = join(installDir(), 'devtools-entry.mjs');
  writeFileSync(entry, "export * from 'switchyard/devtools';\n");
  return import(pathToFileURL(entry).href);
}

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
      if (Array.isArray(frame.state?.leaks) && frame.state.leaks.length > 0) break;
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
    const events = [];
    for (;;) {
      frame = await watcher.next('frame');
      events.push(...frame.events);
      if (frame.state?.deadLetters.length > 0 && events.some((e) => e.kind === 'dead_lettered')) break;
    }
    assert.ok(events.some((e) => e.kind === 'dead_lettered'), 'protocol uses the core TraceKind names');
    assert.ok(events.every((e) => typeof e.cursor === 'number' && typeof e.at === 'number'));
    assert.equal(frame.state.subscriptions[0].name, 'billing');
    assert.equal(frame.state.deadLetters[0].payload.total, 5);
    assert.equal(typeof frame.state.metrics.totals.published, 'number');

    watcher.send({ v: 1, type: 'command', viewer: 'v1', command: { op: 'purge' } });
    for (;;) {
      frame = await watcher.next('frame');
      if (frame.state?.deadLetters.length === 0) break;
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
      if (next.state?.deadLetters.length === 0) break;
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
      if (frame.state?.subscriptions.some((s) => s.name === 'late')) break;
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
  test('a viewer that accepts columns gets the same events as one Float64Array', async () => {
    const bus = new EventBus({ retry: { attempts: 1 } });
    bus.subscribe('orders.*', () => {}, { name: 'billing' });
    bus.subscribe('orders.created', () => {
      throw new Error('down');
    }, { name: 'flaky' });
    const plain = new MessageChannel();
    const packed = new MessageChannel();
    const stops = [bus.expose(plain.port1), bus.expose(packed.port1)];
    const objects = viewer(null, plain.port2);
    const columns = viewer(null, packed.port2);
    objects.send({ v: 1, type: 'hello', viewer: 'objects' });
    columns.send({ v: 1, type: 'hello', viewer: 'columns', accept: ['columns'] });
    await objects.next('welcome');
    await columns.next('welcome');
    bus.publish('orders.created', { n: 1 });
    // A bridged message carries its origin on its published event.
    bus.publish('orders.paid', { n: 2 }, { origin: { realm: 'tab-2', id: 7, seq: 1, hops: 1 } });
    await bus.idle();
    const collect = async (watcher, read) => {
      const events = [];
      while (!events.some((e) => e.kind === 'dead_lettered')) events.push(...read(await watcher.next('frame')));
      return events;
    };
    const fromObjects = await collect(objects, (frame) => {
      assert.equal(frame.columns, undefined, 'a viewer that did not ask gets objects');
      return frame.events;
    });
    const fromColumns = await collect(columns, (frame) => {
      assert.equal(frame.events, undefined, 'a viewer that asked gets no objects');
      const { stride, data, kinds, topics, origins } = frame.columns;
      assert.ok(data instanceof Float64Array);
      assert.equal(stride, 8);
      assert.equal(data.length % stride, 0);
      const events = [];
      for (let i = 0; i < data.length; i += stride) {
        const [cursor, at, kind, subscription, message, topic, detail, origin] = data.subarray(i, i + stride);
        const event = {
          cursor, at, kind: kinds[kind],
          subscription: Number.isNaN(subscription) ? null : subscription,
          message: Number.isNaN(message) ? null : message,
          topic: topic < 0 ? null : topics[topic],
          detail,
        };
        // As on() events: `origin` only on a bridged message's.
        if (origin >= 0) event.origin = origins[origin];
        events.push(event);
      }
      return events;
    });
    assert.ok(fromObjects.length >= 8, `events: ${fromObjects.length}`);
    assert.ok(fromObjects.some((e) => e.origin?.realm === 'tab-2'), 'the objects carry the origin');
    assert.deepEqual(fromColumns, fromObjects);
    for (const stop of stops) stop();
    objects.close();
    columns.close();
  });

  test('under a stream of events the state rides on at most one frame per 100 ms', async () => {
    const bus = new EventBus();
    bus.subscribe('tick', () => {}, { name: 'ticker' });
    const { port1, port2 } = new MessageChannel();
    const stop = bus.expose(port1);
    const watcher = viewer(null, port2);
    watcher.send({ v: 1, type: 'hello', viewer: 'panel', accept: ['columns'] });
    await watcher.next('welcome');
    const first = await watcher.next('frame');
    assert.ok(first.state, 'the first frame carries the whole state');
    watcher.inbox.length = 0;
    const started = Date.now();
    const timer = setInterval(() => {
      for (let i = 0; i < 50; i++) bus.publish('tick', i);
    }, 2);
    await new Promise((resolve) => setTimeout(resolve, 600));
    clearInterval(timer);
    const elapsed = Date.now() - started;
    await new Promise((resolve) => setTimeout(resolve, 150));
    const frames = watcher.inbox.filter((m) => m.type === 'frame');
    const withState = frames.filter((f) => f.state !== undefined);
    assert.ok(frames.length > withState.length, `some frames carry events only: ${frames.length} frames, ${withState.length} with state`);
    assert.ok(withState.length <= Math.ceil(elapsed / 100) + 2, `${withState.length} states in ${elapsed + 150} ms`);
    // The last change still arrives: the final state counts every publish.
    assert.equal(withState.at(-1).state.subscriptions[0].counters.delivered, bus.subscriptions()[0].counters.delivered);
    stop();
    watcher.close();
  });

  test('exposeToOrigins checks allowOrigins before anything is exposed, and needs a browser window', async () => {
    const { exposeToOrigins } = await importDevtools();
    const bus = new EventBus();
    const refused = (options) => {
      try {
        exposeToOrigins(bus, 'guarded', options);
        return 'exposed';
      } catch (error) {
        return `${error instanceof SwitchyardError} ${error.code}: ${error.message}`;
      }
    };
    assert.match(refused({ allowOrigins: ['http://localhost:5173/'] }), /^true E_INVALID_OPTION: .*not an origin/);
    assert.match(refused({ allowOrigins: ['*'] }), /^true E_INVALID_OPTION: .*not an origin/);
    assert.match(refused({ allowOrigins: [] }), /^true E_INVALID_OPTION: .*non-empty array/);
    assert.match(refused({ allowOrigins: 'http://localhost:5173' }), /^true E_INVALID_OPTION: .*non-empty array/);
    assert.match(refused({ allowOrigin: ['http://localhost:5173'] }), /^true E_INVALID_OPTION: .*unknown option `allowOrigin`/);
    assert.match(refused(null), /^true E_INVALID_OPTION: .*must be an object/);
    // Valid, but Node has no window to receive window.postMessage requests on.
    assert.match(refused({ allowOrigins: ['http://localhost:5173'] }), /^true E_INVALID_OPTION: .*needs a browser window/);
    // Nothing was exposed by any of them: a hello on the channel gets no answer.
    const watcher = viewer('guarded');
    watcher.send({ v: 1, type: 'hello', viewer: 'v' });
    await new Promise((resolve) => setTimeout(resolve, 100));
    assert.deepEqual(watcher.inbox, []);
    watcher.close();
  });
});
