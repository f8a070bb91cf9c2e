// switchyard/bridge in Node: shareTopics over the global BroadcastChannel between buses of this
// thread and of worker_threads, linkPort over a worker's port. Delivery once per realm in each
// realm's publish order, meta.origin, no echo, the hop limit, the leader (Node has no Web Locks:
// the live realm with the smallest id, see election.js), retained messages, gaps, backpressure,
// uncloneable payloads, and forged messages on the channel.

import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { after, describe, test } from 'node:test';

import { importBridge, realm, until } from './helpers/bridge.mjs';
import { expectCode } from './helpers/package.mjs';

const { EventBus, SwitchyardError, shareTopics, linkPort, DEFAULT_HOP_LIMIT } = await importBridge();

/** A fresh channel name per test, so tests never hear each other. */
const channel = () => `test-${randomUUID()}`;
const tick = (ms = 0) => new Promise((r) => setTimeout(r, ms));
const range = (n, start = 0) => Array.from({ length: n }, (_, i) => start + i);
const links = [];
const workers = [];
after(async () => {
  for (const l of links) l.close();
  await Promise.all(workers.map((w) => w.terminate()));
});

/** A bus in this thread sharing `topics` on `name`, recording what its handlers see. */
function tab(name, options = {}) {
  const bus = new EventBus();
  const seen = [];
  const diagnostics = [];
  bus.subscribe('**', (payload, meta) => {
    if (meta.topic.startsWith('$bridge.')) diagnostics.push([meta.topic, payload]);
    else seen.push({ topic: meta.topic, payload, origin: meta.origin });
  });
  const link = shareTopics(bus, { channel: name, topics: ['cart.**', 'auth.*'], heartbeatMs: 50, ...options });
  links.push(link);
  return { bus, seen, diagnostics, link };
}

function worker(data) {
  const w = realm(data);
  workers.push(w);
  return w;
}

describe('options', () => {
  test('bad options are refused naming the option, and nothing is linked', () => {
    const bus = new EventBus();
    const cases = [
      [undefined, 'E_INVALID_OPTION', /options/],
      [{ topics: ['a'] }, 'E_INVALID_OPTION', /channel/],
      [{ channel: '', topics: ['a'] }, 'E_INVALID_OPTION', /channel/],
      [{ channel: 'x'.repeat(257), topics: ['a'] }, 'E_INVALID_OPTION', /channel/],
      [{ channel: '\ud800', topics: ['a'] }, 'E_INVALID_OPTION', /channel/],
      [{ channel: 'c', topics: [] }, 'E_INVALID_OPTION', /topics/],
      [{ channel: 'c', topics: 'a.*' }, 'E_INVALID_OPTION', /topics/],
      [{ channel: 'c', topics: ['ok.*', 'a*'] }, 'E_INVALID_PATTERN', /a\*/],
      [{ channel: 'c', topics: [7] }, 'E_INVALID_PATTERN', /topics\[0\]/],
      [{ channel: 'c', topics: ['a'], capacity: 0 }, 'E_INVALID_OPTION', /capacity/],
      [{ channel: 'c', topics: ['a'], overflow: 'reject' }, 'E_INVALID_OPTION', /overflow/],
      [{ channel: 'c', topics: ['a'], hopLimit: 256 }, 'E_INVALID_OPTION', /hopLimit/],
      [{ channel: 'c', topics: ['a'], heartbeatMs: 1 }, 'E_INVALID_OPTION', /heartbeatMs/],
      [{ channel: 'c', topics: ['a'], logCapacity: -1 }, 'E_INVALID_OPTION', /logCapacity/],
      [{ channel: 'c', topics: ['a'], realm: '' }, 'E_INVALID_OPTION', /realm/],
      [{ channel: 'c', topics: ['a'], other: 1 }, 'E_INVALID_OPTION', /other/],
    ];
    for (const [options, code, message] of cases) {
      const error = expectCode(assert, () => shareTopics(bus, options), code, SwitchyardError);
      assert.match(error.message, message);
      assert.deepEqual(bus.subscriptions(), [], `${JSON.stringify(options)} left a subscription`);
    }
    expectCode(assert, () => linkPort(bus, {}, { topics: ['a'] }), 'E_INVALID_OPTION', SwitchyardError);
    assert.equal(DEFAULT_HOP_LIMIT, 8);
  });
});

describe('shareTopics in one thread', () => {
  test('a shared message reaches the other realms once, in order, with its origin, and never comes back', async () => {
    const name = channel();
    const a = tab(name);
    const b = tab(name);
    const c = tab(name);
    for (let i = 0; i < 5; i++) a.bus.publish('cart.add', i);
    a.bus.publish('other.topic', 'local only');
    const published = a.bus.publish('auth.login', { user: 'ada' }, { headers: { trace: 't1' }, correlationId: 'c1' });
    await until(() => b.seen.length === 6 && c.seen.length === 6, 2000, 'delivery');
    await tick(50);
    for (const t of [b, c]) {
      assert.deepEqual(
        t.seen.map((s) => s.payload),
        [0, 1, 2, 3, 4, { user: 'ada' }],
      );
      const last = t.seen.at(-1);
      assert.deepEqual(last.origin, { realm: a.link.realm, id: published.id, seq: published.seq, hops: 1 });
      assert.ok(Object.isFrozen(last.origin));
    }
    // No echo: a's handlers saw its own 7 publishes once each, with no origin.
    assert.equal(a.seen.length, 7);
    assert.ok(a.seen.every((s) => s.origin === null));
    assert.equal(a.link.metrics().sent, 6);
    assert.equal(b.link.metrics().received, 6);
    assert.equal(b.link.metrics().sent, 0, 'b forwards nothing it received back to the channel');
  });

  test('headers and the correlation id cross with the message', async () => {
    const name = channel();
    const a = tab(name);
    const b = tab(name);
    const seen = [];
    b.bus.subscribe('auth.*', (_, meta) => seen.push([meta.headers, meta.correlationId]));
    a.bus.publish('auth.login', 1, { headers: { trace: 't1' }, correlationId: 'c1' });
    await until(() => seen.length === 1, 2000, 'delivery');
    assert.deepEqual(seen, [[{ trace: 't1' }, 'c1']]);
  });

  test('one leader: it hands over within a second when it closes, and nothing is lost or doubled', async () => {
    const name = channel();
    const realms = [tab(name), tab(name), tab(name)];
    await until(() => realms.filter((r) => r.link.state === 'leader').length === 1, 2000, 'a leader');
    await tick(200);
    assert.equal(realms.filter((r) => r.link.state === 'leader').length, 1);
    const leader = realms.find((r) => r.link.state === 'leader');
    const rest = realms.filter((r) => r !== leader);
    leader.link.close();
    assert.equal(leader.link.state, 'disconnected');
    const closedAt = Date.now();
    await until(() => rest.filter((r) => r.link.state === 'leader').length === 1, 1000, 'a new leader');
    assert.ok(Date.now() - closedAt < 1000);
    for (let i = 0; i < 100; i++) rest[0].bus.publish('cart.item', i);
    await until(() => rest[1].seen.length === 100, 2000, 'delivery after the hand-over');
    await tick(100);
    assert.deepEqual(
      rest[1].seen.map((s) => s.payload),
      Array.from({ length: 100 }, (_, i) => i),
    );
    assert.equal(leader.seen.length, 0, 'a closed link receives nothing');
  });

  test('a realm that joins receives the retained messages of each shared topic', async () => {
    const name = channel();
    const a = tab(name);
    a.bus.publish('cart.count', 1);
    a.bus.publish('cart.count', 2);
    a.bus.publish('auth.user', 'ada');
    await until(() => a.link.state === 'leader', 2000, 'a leads');
    const b = tab(name);
    await until(() => b.seen.length === 2, 2000, 'retained messages');
    assert.deepEqual(
      b.seen.map((s) => [s.topic, s.payload]),
      [
        ['cart.count', 2],
        ['auth.user', 'ada'],
      ],
    );
    assert.equal(b.link.metrics().retained, 2);
  });

  test('a message jumping ahead of its sender is delivered and the gap is reported, counted and traced', async () => {
    const name = channel();
    const a = tab(name);
    await until(() => a.link.state === 'leader', 2000, 'a leads');
    const raw = new BroadcastChannel(`switchyard.bridge/${name}`);
    const entry = (n) => ({
      s: 'fake:1',
      n,
      topic: 'cart.add',
      payload: n,
      headers: null,
      correlationId: null,
      origin: { realm: 'fake', id: n, seq: n, hops: 1 },
      at: Date.now(),
    });
    const msgs = (...ns) => ({ sw: 'switchyard.bridge', v: 1, kind: 'msgs', from: 'fake', link: 1, msgs: ns.map(entry) });
    raw.postMessage(msgs(1));
    raw.postMessage(msgs(5, 6));
    await until(() => a.seen.length === 3, 2000, 'delivery');
    raw.close();
    assert.deepEqual(
      a.seen.map((s) => s.payload),
      [1, 5, 6],
    );
    const m = a.link.metrics();
    assert.equal(m.gaps, 1);
    assert.equal(m.missed, 3);
    await until(() => a.diagnostics.some(([t]) => t === '$bridge.gap'), 1000, 'the gap diagnostic');
    const [, gap] = a.diagnostics.find(([t]) => t === '$bridge.gap');
    assert.deepEqual({ sender: gap.sender, from: gap.from, missed: gap.missed }, { sender: 'fake', from: 2, missed: 3 });
  });

  test('forged and other-version messages on the channel are ignored and counted, and change nothing', async () => {
    const name = channel();
    const a = tab(name);
    const b = tab(name);
    const raw = new BroadcastChannel(`switchyard.bridge/${name}`);
    const forged = [
      'hello',
      null,
      42,
      { sw: 'switchyard.bridge', v: 2, kind: 'msgs', from: 'x', link: 1, msgs: [] },
      { sw: 'switchyard.bridge', v: 1, kind: 'msgs', from: 'x', link: 1, msgs: [{ s: 'y:1', n: 1 }] },
      { sw: 'switchyard.bridge', v: 1, kind: 'msgs', from: 'x', link: 1, msgs: [{ s: 'x:1', n: 1, topic: 'cart.a', payload: 1, headers: null, correlationId: null, origin: { realm: '', id: 1, seq: 1, hops: 1 }, at: 0 }] },
      { sw: 'switchyard.bridge', v: 1, kind: 'msgs', from: 'x', link: 1, msgs: [{ s: 'x:1', n: 2, topic: 'not a topic', payload: 1, headers: null, correlationId: null, origin: { realm: 'x', id: 1, seq: 1, hops: 1 }, at: 0 }] },
      { sw: 'switchyard.bridge', v: 1, kind: 'msgs', from: 'x', link: 1, msgs: [{ s: 'x:1', n: 3, topic: 'cart.a', payload: 1, headers: null, correlationId: null, origin: { realm: 'x', id: 1, seq: 1, hops: 0 }, at: 0 }] },
      { sw: 'switchyard.bridge', v: 1, kind: 'welcome', from: 'x', to: 5, req: 1, retained: [] },
      { sw: 'switchyard.bridge', v: 1, kind: 'nonsense', from: 'x' },
      { sw: 'switchyard.bridge', v: 1, kind: 'catchup', from: 'x', to: 'y', req: 1, entries: [], gaps: [['a', -1, 2]] },
    ];
    for (const m of forged) raw.postMessage(m);
    await tick(100);
    raw.close();
    for (const t of [a, b]) {
      assert.deepEqual(t.seen, []);
      const m = t.link.metrics();
      assert.ok(m.ignored + m.refused >= forged.length - 2, `ignored ${m.ignored}, refused ${m.refused}`);
      assert.equal(m.received, 0);
    }
    // The link still works.
    a.bus.publish('cart.add', 'after');
    await until(() => b.seen.length === 1, 2000, 'delivery');
    assert.equal(b.seen[0].payload, 'after');
  });

  test('a full outgoing queue drops the oldest, counted and traced', async () => {
    const name = channel();
    const a = tab(name, { capacity: 10 });
    const b = tab(name);
    for (let i = 0; i < 25; i++) a.bus.publish('cart.add', i);
    await until(() => b.seen.length === 10, 2000, 'delivery');
    await tick(50);
    assert.deepEqual(
      b.seen.map((s) => s.payload),
      Array.from({ length: 10 }, (_, i) => 15 + i),
    );
    assert.equal(a.link.metrics().dropped, 15);
    const dropped = a.diagnostics.filter(([t]) => t === '$bridge.dropped');
    assert.equal(dropped.reduce((sum, [, d]) => sum + d.count, 0), 15);
  });

  test('an uncloneable payload: link.publish refuses it with E_NOT_CLONEABLE; bus.publish delivers it here only, counted', async () => {
    const name = channel();
    const a = tab(name);
    const b = tab(name);
    const error = expectCode(assert, () => a.link.publish('cart.fn', () => 1), 'E_NOT_CLONEABLE', SwitchyardError);
    assert.match(error.message, /cart\.fn/);
    assert.equal(a.seen.length, 0, 'nothing was published, here either');
    a.bus.publish('cart.a', 1);
    a.bus.publish('cart.fn', () => 1);
    a.bus.publish('cart.b', 2);
    await until(() => b.seen.length === 2, 2000, 'delivery');
    assert.deepEqual(
      b.seen.map((s) => s.payload),
      [1, 2],
    );
    assert.equal(a.seen.length, 3, 'local delivery happened');
    assert.equal(a.link.metrics().uncloneable, 1);
    assert.ok(a.diagnostics.some(([t, d]) => t === '$bridge.uncloneable' && d.topic === 'cart.fn'));
    assert.equal(a.link.publish('cart.c', { ok: true }).matched >= 1, true);
  });

  test('the hop limit stops a message from being forwarded again', async () => {
    // a ─port─ b ─channel─ c: with hopLimit 1 on b's channel link, what b received from a stays in b.
    const name = channel();
    const { port1, port2 } = new MessageChannel();
    const a = new EventBus();
    const bBus = new EventBus();
    const seenB = [];
    bBus.subscribe('cart.*', (p) => seenB.push(p));
    links.push(linkPort(a, port1, { topics: ['cart.*'] }), linkPort(bBus, port2, { topics: ['cart.*'] }));
    const bShare = shareTopics(bBus, { channel: name, topics: ['cart.*'], hopLimit: 1, heartbeatMs: 50 });
    links.push(bShare);
    const c = tab(name);
    a.publish('cart.add', 'from a');
    bBus.publish('cart.add', 'from b');
    await until(() => seenB.length === 2 && c.seen.length === 1, 2000, 'delivery');
    await tick(50);
    assert.deepEqual(c.seen.map((s) => s.payload), ['from b']);
    assert.equal(bShare.metrics().hopLimited, 1);
    port1.close();
  });
});

/** A fake page document: an EventTarget with a visibility state, to drive freeze and resume. */
function fakeDocument() {
  const doc = new EventTarget();
  doc.visibilityState = 'visible';
  return doc;
}

/** `tab(...)` whose link sees `doc` as its page's document (only this link: it is read at start). */
function pageTab(name, doc, options = {}) {
  globalThis.document = doc;
  try {
    return tab(name, options);
  } finally {
    delete globalThis.document;
  }
}

/** A raw channel posting well-formed protocol messages as a fake sender `from`. */
function forger(name, from) {
  const raw = new BroadcastChannel(`switchyard.bridge/${name}`);
  const entry = (n, topic = 'cart.add') => ({
    s: `${from}:1`,
    n,
    topic,
    payload: `forged ${n}`,
    headers: null,
    correlationId: null,
    origin: { realm: from, id: n, seq: n, hops: 1 },
    at: Date.now(),
  });
  return {
    raw,
    entry,
    msgs: (...entries) => raw.postMessage({ sw: 'switchyard.bridge', v: 1, kind: 'msgs', from, link: 1, msgs: entries }),
  };
}

describe('review findings (each failed before its fix)', () => {
  for (const [logCapacity, caught, missed] of [
    [1024, 100, 0],
    [50, 50, 50],
  ]) {
    test(`a frozen realm catches up from the leader's log on resume (log ${logCapacity}: ${caught} caught up, ${missed} missed)`, async () => {
      const name = channel();
      const leader = tab(name, { realm: '0-leader', logCapacity });
      await until(() => leader.link.state === 'leader', 2000, 'the leader');
      const sender = tab(name, { realm: '1-sender', logCapacity });
      const doc = fakeDocument();
      const frozen = pageTab(name, doc, { realm: '2-frozen', logCapacity });
      await tick(200);
      doc.dispatchEvent(new Event('freeze'));
      assert.equal(frozen.link.state, 'disconnected');
      for (let i = 0; i < 100; i++) sender.bus.publish('cart.add', i);
      await until(() => leader.seen.length === 100, 2000, 'the leader logs them');
      doc.dispatchEvent(new Event('resume'));
      await until(() => frozen.seen.length === caught, 3000, 'the catch-up');
      await tick(100);
      assert.deepEqual(
        frozen.seen.map((s) => s.payload),
        range(caught, 100 - caught),
      );
      const m = frozen.link.metrics();
      assert.equal(m.caughtUp, caught);
      assert.equal(m.missed, missed);
      assert.equal(m.gaps, missed > 0 ? 1 : 0);
    });
  }

  test('what the app publishes while its page is freezing goes on resume, not into a closed channel', async () => {
    const name = channel();
    const other = tab(name, { realm: '0-other' });
    const doc = fakeDocument();
    const page = pageTab(name, doc, { realm: '1-page' });
    await tick(200);
    page.bus.publish('cart.add', 1);
    doc.dispatchEvent(new Event('freeze'));
    page.bus.publish('cart.add', 'draft');
    await tick(100);
    assert.deepEqual(other.seen.map((s) => s.payload), [1]);
    doc.dispatchEvent(new Event('resume'));
    await until(() => other.seen.length === 2, 2000, 'the draft');
    assert.deepEqual(other.seen.map((s) => s.payload), [1, 'draft']);
    assert.equal(other.link.metrics().gaps, 0);
  });

  test('the leader becoming visible again holds nothing back', async () => {
    const name = channel();
    const doc = fakeDocument();
    const leader = pageTab(name, doc, { realm: '0-leader' });
    await until(() => leader.link.state === 'leader', 2000, 'the leader');
    const other = tab(name, { realm: '1-other' });
    await tick(100);
    doc.visibilityState = 'hidden';
    doc.dispatchEvent(new Event('visibilitychange'));
    await tick(300);
    doc.visibilityState = 'visible';
    doc.dispatchEvent(new Event('visibilitychange'));
    const sentAt = Date.now();
    other.bus.publish('cart.add', 'now');
    await until(() => leader.seen.length === 1, 2000, 'delivery');
    assert.ok(Date.now() - sentAt < 300, `held for ${Date.now() - sentAt} ms`);
  });

  test('a well-formed forged entry far ahead of a real sender does not silence it; off-pattern and $ topics are not published', async () => {
    const name = channel();
    const a = tab(name, { realm: 'a-realm' });
    const b = tab(name, { topics: ['auth.*'] });
    a.bus.publish('auth.x', 1);
    await until(() => b.seen.length === 1, 2000, 'first delivery');
    const sender = [...b.link.metrics() && []];
    void sender;
    const spoof = forger(name, 'a-realm');
    // The real sender's stream key is `a-realm:<its link id>`: spoof the id seen in its beats.
    const key = [...(await new Promise((resolve) => {
      const raw = new BroadcastChannel(`switchyard.bridge/${name}`);
      raw.onmessage = (e) => {
        if (e.data?.kind === 'beat' && e.data.from === 'a-realm') {
          raw.close();
          resolve([`a-realm:${e.data.link}`]);
        }
      };
    }))][0];
    spoof.raw.postMessage({
      sw: 'switchyard.bridge',
      v: 1,
      kind: 'msgs',
      from: 'a-realm',
      link: Number(key.split(':')[1]),
      msgs: [{ ...spoof.entry(2 ** 53 - 1, 'auth.y'), s: key, origin: { realm: 'a-realm', id: 999, seq: 1, hops: 1 } }],
    });
    spoof.msgs(spoof.entry(1, 'cart.x'), spoof.entry(2, '$bridge.gap'));
    await tick(100);
    a.bus.publish('auth.y', 3);
    await until(() => b.seen.length === 2, 2000, 'the real sender still reaches b');
    spoof.raw.close();
    assert.deepEqual(b.seen.map((s) => [s.topic, s.payload]), [
      ['auth.x', 1],
      ['auth.y', 3],
    ]);
    assert.ok(b.link.metrics().ignored >= 3);
    assert.ok(!b.diagnostics.some(([, d]) => d.missed > 1000), 'no absurd gap');
  });

  test('a payload whose clone throws (a throwing getter) is left out; the rest of its batch goes and the link lives', async () => {
    const name = channel();
    const a = tab(name);
    const b = tab(name);
    a.bus.publish('cart.a', 1);
    a.bus.publish('cart.lazy', {
      get total() {
        throw new Error('not loaded');
      },
    });
    a.bus.publish('cart.b', 2);
    await until(() => b.seen.length === 2, 2000, 'delivery');
    assert.deepEqual(b.seen.map((s) => s.payload), [1, 2]);
    assert.equal(a.link.metrics().uncloneable, 1);
    assert.equal(a.link.state !== 'disconnected', true);
    a.bus.publish('cart.c', 3);
    await until(() => b.seen.length === 3, 2000, 'later delivery');
  });

  test('closing the bus closes its link: channel, leadership and peers follow', async () => {
    const name = channel();
    const a = tab(name, { realm: '0-a' });
    await until(() => a.link.state === 'leader', 2000, 'a leads');
    const b = tab(name, { realm: '1-b' });
    await until(() => b.link.metrics().peers === 1, 2000, 'b hears a');
    a.bus.close();
    await until(() => a.link.state === 'disconnected', 2000, 'a disconnects');
    await until(() => b.link.state === 'leader', 2000, 'b leads');
  });

  test('a retained message older than one that arrived live is not delivered after it', async () => {
    const name = channel();
    const n = tab(name, { realm: 'n-realm' });
    const x = forger(name, 'x');
    x.msgs(x.entry(7, 'cart.theme'));
    await until(() => n.seen.length === 1, 2000, 'the live message');
    // The leader's welcome (answering n's first hello, req 1) still carries x's older message.
    x.raw.postMessage({ sw: 'switchyard.bridge', v: 1, kind: 'welcome', from: 'leader', to: 'n-realm', req: 1, retained: [x.entry(6, 'cart.theme')] });
    await tick(100);
    x.raw.close();
    assert.deepEqual(n.seen.map((s) => s.payload), ['forged 7']);
  });
});

describe('across worker_threads', () => {
  test('10 000 messages from two realms at once arrive exactly once everywhere, in each realm\'s order', async () => {
    const name = channel();
    const options = { channel: name, topics: ['load.*'], heartbeatMs: 50 };
    const w1 = worker();
    const w2 = worker();
    const w3 = worker();
    const here = tab(name, { topics: ['load.*'] });
    const [r1, r2] = await Promise.all([w1.call('share', options), w2.call('share', options), w3.call('share', options)]);
    await tick(100);
    await Promise.all([
      w1.call('publish', { topic: 'load.one', count: 5000 }),
      w2.call('publish', { topic: 'load.two', count: 5000 }),
    ]);
    await until(async () => (await w3.call('count')) === 10_000 && here.seen.length === 10_000, 15_000, '10 000 deliveries');
    await tick(200);
    for (const seen of [await w3.call('seen'), here.seen]) {
      assert.equal(seen.length, 10_000);
      const one = seen.filter((s) => s.origin.realm === r1).map((s) => s.payload);
      const two = seen.filter((s) => s.origin.realm === r2).map((s) => s.payload);
      assert.deepEqual(one, Array.from({ length: 5000 }, (_, i) => i));
      assert.deepEqual(two, Array.from({ length: 5000 }, (_, i) => i));
    }
    const one = await w1.call('seen');
    assert.equal(one.length, 10_000, 'w1 has its own 5000 and w2\'s 5000, no echo');
    assert.equal(one.filter((s) => s.origin === null).length, 5000);
  });

  test('a worker that dies stops leading, and another realm leads within a second', async () => {
    const name = channel();
    const options = { channel: name, topics: ['x.*'], heartbeatMs: 100, realm: '0-first' };
    const w = worker();
    await w.call('share', options);
    // Alone on the channel it leads (by the lock where the runtime has Web Locks, as Node 24
    // does; by beats otherwise), before the second realm joins.
    await until(async () => (await w.call('state')) === 'leader', 2000, 'the worker leads');
    const here = tab(name, { heartbeatMs: 100, realm: '1-second', topics: ['x.*'] });
    await tick(300);
    assert.equal(here.link.state, 'follower');
    // Another worker keeps publishing while the leader dies: every message reaches `here` once,
    // in order, across the hand-over.
    const w2 = worker();
    await w2.call('share', { ...options, realm: '2-third' });
    await tick(300);
    const sends = [];
    let handover;
    for (let chunk = 0; chunk < 10; chunk++) {
      sends.push(w2.call('publish', { topic: 'x.y', count: 100, start: chunk * 100 }));
      if (chunk === 4) {
        await w.terminate();
        // Polled from now on: the new leader within a second of the death.
        handover = until(() => here.link.state === 'leader', 1000, 'the hand-over within a second');
      }
      await tick(20);
    }
    await Promise.all(sends);
    await handover;
    await until(() => here.seen.length === 1000, 3000, 'every message across the hand-over');
    await tick(100);
    assert.deepEqual(
      here.seen.map((m) => m.payload),
      range(1000),
    );
  });

  test('linkPort links a worker over its port; the app\'s own messages on it pass untouched', async () => {
    const w = worker({ pattern: 'job.**' });
    const bus = new EventBus();
    const seen = [];
    bus.subscribe('job.*', (payload, meta) => seen.push([payload, meta.origin?.realm ?? null]));
    const appMessages = [];
    w.worker.on('message', (m) => {
      if (m?.app) appMessages.push(m);
    });
    const link = linkPort(bus, w.worker, { topics: ['job.*'] });
    links.push(link);
    const workerRealm = await w.call('linkParent', { topics: ['job.*'] });
    bus.publish('job.start', 'from main');
    await until(async () => (await w.call('count')) === 1, 2000, 'main → worker');
    const [got] = await w.call('seen');
    assert.equal(got.payload, 'from main');
    assert.equal(got.origin.realm, link.realm);
    await w.call('publish', { topic: 'job.done', payload: 'from worker' });
    await until(() => seen.length === 2, 2000, 'worker → main');
    assert.deepEqual(seen, [
      ['from main', null],
      ['from worker', workerRealm],
    ]);
    w.worker.postMessage({ app: true });
    assert.equal(link.metrics().ignored, 0);
    assert.equal(link.state, 'follower');
    link.close();
    assert.equal(link.state, 'disconnected');
  });
});
