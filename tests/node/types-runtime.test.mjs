// The shapes `index.d.ts` declares are the shapes the package returns: every key a real
// `metrics()`, `subscriptions()`, `deadLetters()`, `leaks()`, `publish()` or `trace()` object has
// is declared in its interface, and every declared key is there. The views are written in Rust
// (crates/wasm/src/views.rs) and the types by hand, so this is what keeps them from drifting.

import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, test } from 'node:test';

import ts from 'typescript';

import { importPackage, installDir } from './helpers/package.mjs';

const { EventBus } = await importPackage();

/** Interface name → its member names, read from the installed package's `index.d.ts`. */
function declaredInterfaces() {
  const file = join(installDir(), 'node_modules/switchyard/index.d.ts');
  const source = ts.createSourceFile(file, readFileSync(file, 'utf8'), ts.ScriptTarget.Latest, true);
  const interfaces = new Map();
  for (const statement of source.statements) {
    if (!ts.isInterfaceDeclaration(statement)) continue;
    const names = statement.members.filter((m) => m.name !== undefined).map((m) => m.name.getText(source));
    interfaces.set(statement.name.text, names.sort());
  }
  return interfaces;
}

const declared = declaredInterfaces();

function assertShape(value, interfaceName) {
  const members = declared.get(interfaceName);
  assert.ok(members, `index.d.ts declares interface ${interfaceName}`);
  assert.deepEqual(Object.keys(value).sort(), members, `${interfaceName}: runtime keys (left) vs declared members (right)`);
}

/** A bus that has something in every view: a topic, a subscription with a batch in flight, a dead letter, a leak. */
function busyBus() {
  const bus = new EventBus({ clock: 'manual', maxListeners: 1, traceCapacity: 64 });
  bus.subscribe('order.*', () => new Promise(() => {}), { name: 'pending', delivery: { batch: { size: 2 } } });
  bus.subscribe('order.*', () => {}, { name: 'second' });
  bus.subscribe('order.created', () => {
    throw new Error('boom');
  }, { name: 'failing' });
  const published = bus.publish('order.created', { id: 1 });
  bus.publish('order.paid', { id: 1 });
  bus.advance(10);
  return { bus, published };
}

describe('index.d.ts matches what the package returns', () => {
  test('metrics(), its counters and latency have exactly the declared keys', () => {
    const { bus } = busyBus();
    const metrics = bus.metrics();
    assertShape(metrics, 'Metrics');
    assertShape(metrics.totals, 'Counters');
    assert.ok(metrics.topics.length > 0);
    assertShape(metrics.topics[0].counters, 'Counters');
    assertShape(metrics.topics[0].latency, 'Latency');
  });

  test('subscriptions() and stats() have exactly the declared keys', () => {
    const { bus } = busyBus();
    const [info] = bus.subscriptions();
    assertShape(info, 'SubscriptionInfo');
    assertShape(info.counters, 'Counters');
    assertShape(info.latency, 'Latency');
    assertShape(bus.getSubscription(info.id).stats(), 'SubscriptionInfo');
  });

  test('publish(), deadLetters(), leaks() and trace() have exactly the declared keys', () => {
    const { bus, published } = busyBus();
    assertShape(published, 'PublishResult');
    const [letter] = bus.deadLetters();
    assert.ok(letter, 'a dead letter');
    assertShape(letter, 'DeadLetter');
    const [leak] = bus.leaks();
    assert.ok(leak, 'a leak report (two subscriptions on one pattern past maxListeners: 1)');
    assertShape(leak, 'LeakReport');
    assertShape(bus.trace(), 'TraceBatch');
  });
});
