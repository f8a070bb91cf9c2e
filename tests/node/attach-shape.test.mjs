// One schema for the attach protocol: the `state` a real bus sends the visualiser has exactly the
// keys (and JSON types) of web/tests/fixtures/attach-state.json, which web/tests/model.rs parses
// with the visualiser's strict parser (no field defaults). A field renamed or dropped on either
// side fails one of the two tests. `SWITCHYARD_UPDATE_FIXTURES=1` rewrites the fixture from the
// real bus (then run the web test to see the visualiser still reads it).

import assert from 'node:assert/strict';
import { readFileSync, writeFileSync } from 'node:fs';
import { test } from 'node:test';

import { importBridge } from './helpers/bridge.mjs';

const { EventBus, linkPort } = await importBridge();
const fixture = new URL('../../web/tests/fixtures/attach-state.json', import.meta.url);

/** A bus with one of everything the state can hold, and its first frame's state over a port. */
async function realState() {
  const bus = new EventBus({ clock: 'manual', maxListeners: 1, retry: { attempts: 1 } });
  bus.subscribe('orders.*', () => {}, { name: 'billing', priority: 2 });
  bus.subscribe('orders.created', () => {
    throw new Error('card declined');
  }, { name: 'flaky', group: 'payments' });
  bus.subscribe('orders.created', () => {}, { name: 'audit' });
  bus.subscribe('orders.**', () => {}, { delivery: { batch: { size: 4, maxWaitMs: 10 } }, capacity: 8, overflow: 'drop-oldest' });
  bus.publish('orders.created', { total: 5, items: ['a'] });
  bus.advance(20);
  await bus.idle();
  assert.equal(bus.deadLetters().length, 1, 'the bus made a dead letter');
  assert.ok(bus.leaks().length > 0, 'the bus reports a leak (2 subscriptions on orders.created, limit 1)');
  // A bridge link that received a message from the realm at its other end (`links`).
  const worker = new EventBus();
  const wire = new MessageChannel();
  const link = linkPort(bus, wire.port1, { topics: ['jobs.*'], realm: 'page' });
  const other = linkPort(worker, wire.port2, { topics: ['jobs.*'], realm: 'worker' });
  worker.publish('jobs.done', { id: 1 });
  for (let i = 0; i < 100 && link.metrics().received === 0; i++) await new Promise((r) => setTimeout(r, 10));
  assert.equal(link.metrics().received, 1, 'the link received the worker\'s message');
  const { port1, port2 } = new MessageChannel();
  const stop = bus.expose(port1);
  const state = await new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error('no frame within 2 s')), 2000);
    port2.onmessage = ({ data }) => {
      if (data.type === 'frame') {
        clearTimeout(timer);
        resolve(data.state);
      }
    };
    port2.postMessage({ v: 1, type: 'hello', viewer: 'shape' });
  });
  stop();
  port2.close();
  link.close();
  other.close();
  wire.port1.close();
  wire.port2.close();
  return state;
}

/** `value`'s shape: keys and JSON types, arrays by their first element (`null` types are open). */
function shape(value) {
  if (value === null) return null;
  if (Array.isArray(value)) return value.length === 0 ? [] : [shape(value[0])];
  if (typeof value === 'object') {
    return Object.fromEntries(Object.keys(value).sort().map((k) => [k, shape(value[k])]));
  }
  return typeof value;
}

/** Where `actual`'s shape differs from `expected`'s: paths of missing, extra and retyped fields. */
function differences(expected, actual, path = 'state') {
  if (expected === null || actual === null) return [];
  if (Array.isArray(expected) || Array.isArray(actual)) {
    if (!Array.isArray(expected) || !Array.isArray(actual)) return [`${path}: array vs ${JSON.stringify(actual)}`];
    if (expected.length === 0 || actual.length === 0) return expected.length === actual.length ? [] : [`${path}: empty on one side`];
    return differences(expected[0], actual[0], `${path}[0]`);
  }
  if (typeof expected === 'object' && typeof actual === 'object') {
    const keys = new Set([...Object.keys(expected), ...Object.keys(actual)]);
    return [...keys].flatMap((k) => {
      if (!(k in actual)) return [`${path}.${k}: missing from the bus's state`];
      if (!(k in expected)) return [`${path}.${k}: not in the fixture`];
      return differences(expected[k], actual[k], `${path}.${k}`);
    });
  }
  return expected === actual ? [] : [`${path}: ${expected} in the fixture, ${actual} from the bus`];
}

test('the state a real bus sends a viewer has the keys and types of the fixture the visualiser parses', async () => {
  const state = await realState();
  if (process.env.SWITCHYARD_UPDATE_FIXTURES === '1') {
    // Stacks hold local paths: keep the field, not the text.
    for (const leak of state.leaks) for (const suspect of leak.suspects) suspect.stack = suspect.stack === null ? null : 'at subscribe (app.js:1:1)';
    writeFileSync(fixture, `${JSON.stringify(state, null, 2)}\n`);
  }
  const expected = JSON.parse(readFileSync(fixture, 'utf8'));
  assert.deepEqual(differences(shape(expected), shape(state)), []);
});

test('the shape check names a renamed field', () => {
  const expected = shape({ subscriptions: [{ depth: 1, name: null }] });
  const renamed = shape({ subscriptions: [{ queueDepth: 1, name: 'x' }] });
  assert.deepEqual(differences(expected, renamed), [
    'state.subscriptions[0].depth: missing from the bus\'s state',
    'state.subscriptions[0].queueDepth: not in the fixture',
  ]);
});
