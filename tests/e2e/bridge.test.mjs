// End-to-end tests of `switchyard/bridge` (tabs) from the packed tarball ($SWITCHYARD_TARBALL) in
// headless Chromium: three pages of one origin and a dedicated worker share `cart.**` over a
// BroadcastChannel; a page-created worker is linked over its port. Delivery once per realm in
// each realm's order, no echo, 10 000 messages from two tabs at once, the leader's hand-over when
// its page closes, a frozen page catching up (or reporting the gap past the log's bound), and a
// forged message changing nothing.
import { test, before, after, describe } from 'node:test';
import assert from 'node:assert/strict';
import { readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { serve, launch, unpackTarball } from './harness.mjs';
import { eventually as poll } from '../helpers/poll.mjs';

/** `eventually`, polling every 25 ms: the hand-over test times what it waits for. */
const eventually = (probe, message, ms = 15_000) => poll(probe, message, ms, 25);

const tarball = process.env.SWITCHYARD_TARBALL;
let server;
let context;
let MAIN = 'web/index.js';
let BRIDGE = 'web/bridge.js';

// A realm's script, shared by pages and workers: a bus recording what it sees, and a link.
const realmScript = () => `
import { EventBus } from '/pkg/${MAIN}';
import { shareTopics, linkPort } from '/pkg/${BRIDGE}';
const scope = globalThis;
const bus = new EventBus();
const seen = [];
const diagnostics = [];
bus.subscribe('**', (payload, meta) => {
  if (meta.topic.startsWith('$bridge.')) diagnostics.push([meta.topic, payload]);
  else seen.push([meta.topic, payload, meta.origin && meta.origin.realm]);
});
scope.bus = bus;
scope.seen = seen;
scope.diagnostics = diagnostics;
scope.share = (options) => { scope.link = shareTopics(bus, { topics: ['cart.**'], heartbeatMs: 100, ...options }); return scope.link.realm; };
scope.linkTo = (port, options) => { scope.link = linkPort(bus, port, { topics: ['cart.**'], ...options }); return scope.link.realm; };
scope.publish = (topic, count, start = 0) => { for (let i = 0; i < count; i++) bus.publish(topic, start + i); return count; };
scope.spin = (ms) => { const end = Date.now() + ms; while (Date.now() < end); return ms; };
scope.closeLink = () => { scope.link.close(); return scope.link.state; };
scope.probe = () => ({ state: scope.link ? scope.link.state : null, realm: scope.link ? scope.link.realm : null, metrics: scope.link ? scope.link.metrics() : null, count: seen.length });
`;

// A worker answering `{ id, op, args }` with `{ id, value }`.
const workerScript = () => `${realmScript()}
self.addEventListener('message', (event) => {
  const m = event.data;
  if (!m || m.op === undefined) return;
  try {
    const member = scope[m.op];
    const value = m.op === 'linkParent' ? scope.linkTo(self, ...(m.args ?? [])) : typeof member === 'function' ? member(...(m.args ?? [])) : member;
    self.postMessage({ id: m.id, value: JSON.parse(JSON.stringify(value ?? null)) });
  } catch (error) {
    self.postMessage({ id: m.id, value: { error: String(error) } });
  }
});
// Loaded (the bus's wasm too): calls may come.
self.postMessage({ ready: true });
`;

const page = () => `<!DOCTYPE html><html><head><meta charset="utf-8"><link rel="icon" href="data:,"><title>tab</title></head><body>
<script type="module">
${realmScript()}
let nextCall = 1;
window.spawn = () => {
  const worker = new Worker('/pkg/bridge-worker.js', { type: 'module' });
  const waiting = new Map();
  let loaded;
  const ready = new Promise((resolve) => { loaded = resolve; });
  worker.addEventListener('message', (event) => {
    const m = event.data;
    if (m && m.ready === true) loaded();
    if (m && m.id !== undefined && waiting.has(m.id)) { waiting.get(m.id)(m.value); waiting.delete(m.id); }
  });
  const call = async (op, ...args) => {
    await ready;
    return new Promise((resolve) => { const id = nextCall++; waiting.set(id, resolve); worker.postMessage({ id, op, args }); });
  };
  return { worker, call };
};
window.ready = true;
</script></body></html>`;

before(async () => {
  if (!tarball) return;
  const { pkg, entry } = await unpackTarball(tarball);
  MAIN = entry('.');
  // The bridge bundle loads no engine: its one import is the package's shared errors module, by
  // a relative path, so pages and module workers (which take no import map) load it as it is.
  BRIDGE = entry('./bridge');
  const bridge = await readFile(join(pkg, BRIDGE), 'utf8');
  assert.doesNotMatch(bridge, /from "switchyard"|switchyard_bg\.wasm/);
  // Served as a file: a module worker's script must have a JavaScript MIME type.
  await writeFile(join(pkg, 'bridge-worker.js'), workerScript());
  server = await serve(join(pkg, 'web', 'devtools-app'), {
    mounts: { '/pkg/': pkg },
    pages: { '/tab.html': page() },
  });
  context = await launch();
});

after(async () => {
  await context?.close();
  await server?.close();
});


let channelCount = 0;
/** Opens `n` pages of the origin, each sharing `cart.**` on a fresh channel. */
async function tabs(n, options = {}) {
  const channel = `e2e-${Date.now()}-${channelCount++}`;
  const pages = [];
  for (let i = 0; i < n; i++) {
    const p = await context.newPage();
    const errors = [];
    p.on('pageerror', (e) => errors.push(String(e)));
    p.on('console', (m) => m.type() === 'error' && errors.push(m.text()));
    await p.goto(`${server.url}/tab.html`);
    await p.waitForFunction(() => window.ready === true);
    const realm = await p.evaluate((o) => window.share(o), { channel, ...options });
    pages.push({ page: p, realm, errors });
    // Open in order, so the first page leads.
    if (i === 0) await eventually(() => p.evaluate(() => window.probe().state === 'leader'), 'the first page leads');
  }
  return { channel, pages };
}

const seenOf = (p) => p.evaluate(() => window.seen);
const probeOf = (p) => p.evaluate(() => window.probe());
/** A test that fails after a minute instead of hanging (a frozen page never answers). */
const it = (name, fn) => test(name, { timeout: 60_000 }, fn);
const range = (n, start = 0) => Array.from({ length: n }, (_, i) => start + i);

describe('switchyard/bridge across tabs', { skip: tarball ? false : 'SWITCHYARD_TARBALL is not set' }, () => {
  it('three tabs and a worker: each gets the others\' messages once, in each realm\'s order, with the origin, never its own back', async () => {
    const { channel, pages } = await tabs(3);
    const [a, b, c] = pages;
    await a.page.evaluate(() => {
      window.w = window.spawn();
    });
    const workerRealm = await a.page.evaluate((ch) => window.w.call('share', { channel: ch }), channel);
    await new Promise((r) => setTimeout(r, 300));
    await a.page.evaluate(() => window.publish('cart.add', 50));
    await b.page.evaluate(() => window.publish('cart.remove', 50, 1000));
    await a.page.evaluate(() => window.w.call('publish', 'cart.worker', 50, 2000));
    await b.page.evaluate(() => window.publish('other.local', 5));
    const expectFrom = (seen, realm) => seen.filter((s) => s[2] === realm).map((s) => s[1]);
    for (const p of pages) await eventually(async () => (await seenOf(p.page)).length >= (p === c ? 150 : 100), 'delivery');
    const workerSeen = await eventually(async () => {
      const seen = await a.page.evaluate(() => window.w.call('seen'));
      return seen.length >= 100 && seen;
    }, 'delivery to the worker');
    await new Promise((r) => setTimeout(r, 300));
    const [sa, sb, sc] = await Promise.all(pages.map((p) => seenOf(p.page)));
    // a: its own 50 (no origin), b's 50, the worker's 50; b: its 55 (50 shared + 5 local), a's, the worker's.
    assert.equal(sa.length, 150);
    assert.equal(sb.length, 155);
    assert.equal(sc.length, 150);
    assert.equal(workerSeen.length, 150);
    for (const seen of [sb, sc, workerSeen]) assert.deepEqual(expectFrom(seen, a.realm), range(50));
    for (const seen of [sa, sc, workerSeen]) assert.deepEqual(expectFrom(seen, b.realm), range(50, 1000));
    for (const seen of [sa, sb, sc]) assert.deepEqual(expectFrom(seen, workerRealm), range(50, 2000));
    assert.deepEqual(expectFrom(sa, null), range(50), 'a saw its own messages once, locally');
    assert.equal(expectFrom(sa, a.realm).length, 0, 'no echo');
    assert.equal(sc.filter((s) => s[0] === 'other.local').length, 0, 'unshared topics stay home');
    for (const p of pages) {
      assert.deepEqual(p.errors, []);
      await p.page.close();
    }
  });

  it('10 000 messages from two tabs at once arrive exactly once everywhere', async () => {
    const { pages } = await tabs(3);
    const [a, b, c] = pages;
    await new Promise((r) => setTimeout(r, 300));
    await Promise.all([a.page.evaluate(() => window.publish('cart.a', 5000)), b.page.evaluate(() => window.publish('cart.b', 5000))]);
    for (const p of pages) await eventually(async () => (await probeOf(p.page)).count >= 10_000, `10 000 in ${p.realm}`, 30_000);
    await new Promise((r) => setTimeout(r, 500));
    for (const p of pages) {
      const seen = await seenOf(p.page);
      assert.equal(seen.length, 10_000);
      assert.deepEqual(seen.filter((s) => s[0] === 'cart.a').map((s) => s[1]), range(5000));
      assert.deepEqual(seen.filter((s) => s[0] === 'cart.b').map((s) => s[1]), range(5000));
      const m = (await probeOf(p.page)).metrics;
      assert.equal(m.dropped, 0);
      assert.equal(m.gaps, 0);
    }
    assert.equal((await probeOf(c.page)).metrics.received, 10_000);
    for (const p of pages) await p.page.close();
  });

  it('closing the leader\'s page hands leadership over within a second; nothing after is lost or doubled', async () => {
    const { pages } = await tabs(3);
    const [a, b, c] = pages;
    await new Promise((r) => setTimeout(r, 300));
    assert.equal((await probeOf(a.page)).state, 'leader');
    assert.equal((await probeOf(b.page)).state, 'follower');
    const closedAt = Date.now();
    await a.page.close();
    const leader = await eventually(async () => {
      const states = await Promise.all([b, c].map(async (p) => (await probeOf(p.page)).state));
      return states.filter((s) => s === 'leader').length === 1 && states;
    }, 'a new leader', 2000);
    const took = Date.now() - closedAt;
    assert.ok(took < 1000, `hand-over took ${took} ms`);
    assert.equal(leader.filter((s) => s === 'follower').length, 1);
    await b.page.evaluate(() => window.publish('cart.after', 200));
    await c.page.evaluate(() => window.publish('cart.after', 200, 1000));
    await eventually(async () => (await probeOf(c.page)).count >= 400, 'delivery after the hand-over');
    await new Promise((r) => setTimeout(r, 300));
    for (const p of [b, c]) {
      const seen = await seenOf(p.page);
      assert.equal(seen.length, 400);
      assert.deepEqual(seen.filter((s) => s[1] < 1000).map((s) => s[1]), range(200));
      assert.deepEqual(seen.filter((s) => s[1] >= 1000).map((s) => s[1]), range(200, 1000));
    }
    for (const p of [b, c]) await p.page.close();
  });

  for (const [logCapacity, caught, missed] of [
    [1024, 100, 0],
    [40, 40, 60],
  ]) {
    it(`a frozen tab catches up on waking: log of ${logCapacity} → ${caught} caught up in order, ${missed} reported missing`, async () => {
      const { pages } = await tabs(3, { logCapacity });
      const [a, b, c] = pages;
      await new Promise((r) => setTimeout(r, 300));
      const cdp = await context.newCDPSession(c.page);
      // Chromium fires `freeze` before it freezes a background page and `resume` after; the
      // DevTools protocol's lifecycle command freezes and thaws the page without firing them,
      // so the test fires each as the browser would, around the protocol's transition.
      await c.page.evaluate(() => document.dispatchEvent(new Event('freeze')));
      await cdp.send('Page.setWebLifecycleState', { state: 'frozen' });
      await new Promise((r) => setTimeout(r, 600));
      await b.page.evaluate(() => window.publish('cart.during', 100));
      await eventually(async () => (await probeOf(a.page)).count >= 100, 'a receives them');
      await cdp.send('Page.setWebLifecycleState', { state: 'active' });
      await c.page.evaluate(() => document.dispatchEvent(new Event('resume')));
      const seen = await eventually(async () => {
        const s = await seenOf(c.page);
        return s.length >= caught && s;
      }, 'the frozen page catches up');
      await new Promise((r) => setTimeout(r, 500));
      const after = await seenOf(c.page);
      assert.deepEqual(after.map((s) => s[1]), range(caught, 100 - caught));
      const m = (await probeOf(c.page)).metrics;
      assert.equal(m.missed, missed);
      assert.equal(m.gaps, missed > 0 ? 1 : 0);
      assert.equal(m.caughtUp, caught);
      if (missed > 0) {
        const gaps = await c.page.evaluate(() => window.diagnostics.filter(([t]) => t === '$bridge.gap'));
        assert.equal(gaps.length, 1);
        assert.equal(gaps[0][1].missed, missed);
      }
      // It takes part again as before.
      await b.page.evaluate(() => window.publish('cart.later', 1, 500));
      await eventually(async () => (await seenOf(c.page)).some((s) => s[1] === 500), 'live delivery after waking');
      void seen;
      await cdp.detach();
      for (const p of pages) await p.page.close();
    });
  }

  it('a forged message on the channel changes nothing', async () => {
    const { channel, pages } = await tabs(2);
    const [a, b] = pages;
    await new Promise((r) => setTimeout(r, 300));
    const before = await probeOf(b.page);
    await a.page.evaluate((name) => {
      const raw = new BroadcastChannel(`switchyard.bridge/${name}`);
      const entry = { s: 'evil:1', n: 1, topic: 'cart.pay', payload: 'stolen', headers: null, correlationId: null, origin: { realm: 'evil', id: 1, seq: 1, hops: 0 }, at: 0 };
      raw.postMessage({ sw: 'switchyard.bridge', v: 1, kind: 'msgs', from: 'evil', link: 1, msgs: [entry] });
      raw.postMessage({ sw: 'switchyard.bridge', v: 99, kind: 'msgs', from: 'evil', link: 1, msgs: [{ ...entry, origin: { ...entry.origin, hops: 1 } }] });
      raw.postMessage({ sw: 'switchyard.bridge', v: 1, kind: 'msgs', from: 'evil', link: 1, msgs: [{ ...entry, s: 'someone-else:1', origin: { ...entry.origin, hops: 1 } }] });
      raw.postMessage({ kind: 'msgs', msgs: [entry] });
      raw.postMessage('garbage');
      raw.close();
    }, channel);
    await new Promise((r) => setTimeout(r, 300));
    for (const p of [a, b]) {
      const probe = await probeOf(p.page);
      assert.equal(probe.count, 0, 'nothing delivered');
      assert.ok(probe.metrics.ignored + probe.metrics.refused >= 4, JSON.stringify(probe.metrics));
      assert.deepEqual(p.errors, []);
    }
    assert.equal((await probeOf(b.page)).state, before.state);
    await a.page.evaluate(() => window.publish('cart.ok', 1));
    await eventually(async () => (await probeOf(b.page)).count === 1, 'the link still works');
    for (const p of pages) await p.page.close();
  });

  /**
   * A page linked over its port with a worker it spawned (`realms`: the names each end chooses,
   * `{ page, worker }`), after `n` messages crossed each way
   * (`cart.to-worker` 0..n-1, `cart.to-page` 10..): `{ page, workerRealm }`. Once a message
   * has crossed each way, both ends also hold their lock and have told the other (`alive`).
   */
  async function linkedWorker(n, realms = {}) {
    const p = await context.newPage();
    await p.goto(`${server.url}/tab.html`);
    await p.waitForFunction(() => window.ready === true);
    const workerRealm = await p.evaluate(async ({ page, worker }) => {
      window.w = window.spawn();
      window.linkTo(window.w.worker, page === undefined ? {} : { realm: page });
      return window.w.call('linkParent', worker === undefined ? {} : { realm: worker });
    }, realms);
    await p.evaluate((count) => window.publish('cart.to-worker', count), n);
    await eventually(async () => (await p.evaluate(() => window.w.call('seen'))).length === n, 'page → worker');
    await p.evaluate((count) => window.w.call('publish', 'cart.to-page', count, 10), n);
    await eventually(async () => (await seenOf(p)).length === 2 * n, 'worker → page');
    return { page: p, workerRealm };
  }

  it('a worker the page created is linked over its port', async () => {
    const { page: p, workerRealm } = await linkedWorker(3);
    const seen = await seenOf(p);
    assert.deepEqual(seen.filter((s) => s[2] === workerRealm).map((s) => s[1]), [10, 11, 12]);
    const inWorker = await p.evaluate(() => window.w.call('seen'));
    assert.deepEqual(inWorker.filter((s) => s[0] === 'cart.to-worker').map((s) => s[1]), [0, 1, 2]);
    assert.equal(inWorker.length, 6, 'the worker saw its own 3 and the page\'s 3: no echo');
    await p.close();
  });

  const disconnects = (p) => p.evaluate(() => window.diagnostics.filter((d) => d[0] === '$bridge.disconnected').length);

  it('a worker the page terminates closes the port link within a second, with a disconnected diagnostic', async () => {
    const { page: p } = await linkedWorker(1);
    const started = Date.now();
    await p.evaluate(() => window.w.worker.terminate());
    await eventually(async () => (await probeOf(p)).state === 'disconnected', 'the page notices the worker is gone');
    assert.ok(Date.now() - started < 1000, `noticed after ${Date.now() - started} ms`);
    assert.equal(await disconnects(p), 1);
    await p.close();
  });

  it('two tabs whose page-worker links choose the same realm names each notice their own worker terminated', async () => {
    const realms = { page: 'main', worker: 'worker' };
    const first = await linkedWorker(1, realms);
    const second = await linkedWorker(1, realms);
    await second.page.evaluate(() => window.w.worker.terminate());
    await eventually(async () => (await probeOf(second.page)).state === 'disconnected', 'the second tab notices its worker is gone');
    assert.equal((await probeOf(first.page)).state, 'follower', 'the first tab\'s link is untouched');
    await first.page.evaluate(() => window.w.worker.terminate());
    await eventually(async () => (await probeOf(first.page)).state === 'disconnected', 'the first tab notices too');
    await first.page.close();
    await second.page.close();
  });

  it('a page entering the back/forward cache lets go of its lock, and after it is shown again both ends still watch each other', async () => {
    const { page: p } = await linkedWorker(1);
    const pageRealm = (await probeOf(p)).realm;
    // Away for 300 ms (longer than the grace a released lock gets) while the worker keeps running.
    const heldWhileHidden = await p.evaluate(async () => {
      window.dispatchEvent(new PageTransitionEvent('pagehide', { persisted: true }));
      await new Promise((resolve) => setTimeout(resolve, 300));
      const { held } = await navigator.locks.query();
      window.dispatchEvent(new PageTransitionEvent('pageshow', { persisted: true }));
      return held.map((lock) => lock.name);
    });
    assert.deepEqual(heldWhileHidden.filter((name) => name.startsWith(`switchyard.port.${pageRealm}.`)), [], 'no lock while in the cache');
    await new Promise((resolve) => setTimeout(resolve, 400));
    assert.equal((await probeOf(p)).state, 'follower');
    assert.equal((await p.evaluate(() => window.w.call('probe'))).state, 'follower', 'the worker did not take the release for a death');
    assert.equal(await disconnects(p), 0);
    await p.evaluate(() => window.w.worker.terminate());
    await eventually(async () => (await probeOf(p)).state === 'disconnected', 'the page still notices its worker is gone');
    await p.close();
  });

  it('a busy worker is not taken for a dead one, and a graceful close is no death', async () => {
    const { page: p } = await linkedWorker(1);
    // Two seconds without answering anything: a ping would call it dead, the lock does not.
    await p.evaluate(() => window.w.call('spin', 2000));
    assert.equal((await probeOf(p)).state, 'follower');
    await p.evaluate(() => window.publish('cart.after-spin', 1));
    await eventually(async () => (await p.evaluate(() => window.w.call('seen'))).length === 3, 'still linked after the spin');
    assert.equal(await p.evaluate(() => window.w.call('closeLink')), 'disconnected');
    await eventually(async () => (await probeOf(p)).state === 'disconnected', 'the bye closes the page side');
    await new Promise((r) => setTimeout(r, 300));
    assert.equal(await disconnects(p), 0, 'a close is not reported as the other end being gone');
    await p.close();
  });
});
