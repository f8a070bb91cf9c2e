// End-to-end tests of bridge links in the devtools panel (issues 16 and 17), from the packed
// tarball ($SWITCHYARD_TARBALL) in headless Chromium: two pages of one origin share `cart.**`
// (`shareTopics`) and one opens `openDevtools` on its bus: the panel's Links tab shows its link as
// leader or follower with its peer, and the topology shows the other page's realm as a publisher
// ("tab 3f2a…"). A page bridged to a real mosquitto (`connectMqtt`) shows its MQTT link
// (connected, outbox, round-trip time) and the Node bus publishing through the broker as a
// publisher. Screenshots land in target/screenshots/.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { serve, launch, shot, repo, unpackTarball } from './harness.mjs';
import { eventually } from '../helpers/poll.mjs';
import { startBroker } from '../node/helpers/mosquitto.mjs';

const tarball = process.env.SWITCHYARD_TARBALL;
let server;
let context;
let broker;
let MAIN = 'web/index.js';
let BRIDGE = 'web/bridge.js';
let DEVTOOLS = 'web/devtools.js';
const nodeLinks = [];

// The bridge bundle imports the bus as \`switchyard\`, which a bundler resolves; here an import map
// names the main bundle's file.

// A tab of a shop: its bus shares `cart.**` on the channel `shop`; `window.open()` docks the
// devtools; `window.adding()` publishes a cart item every 100 ms.
const tab = () => `<!DOCTYPE html><html><head><meta charset="utf-8"><link rel="icon" href="data:,"><title>Shop tab</title>
<style>body { margin: 0; font: 15px system-ui, sans-serif; } header { padding: 16px 24px; background: #1f6f4a; color: white; }</style>
<script type="importmap">{ "imports": { "switchyard": "/pkg/${MAIN}" } }</script>
</head><body><header>Acme shop · cart shared across tabs</header><p id="count">0 items</p>
<script type="module">
import { EventBus } from '/pkg/${MAIN}';
import { shareTopics } from '/pkg/${BRIDGE}';
import { openDevtools } from '/pkg/${DEVTOOLS}';
const bus = new EventBus();
let items = 0;
bus.subscribe('cart.**', () => { document.querySelector('#count').textContent = ++items + ' items'; }, { name: 'cart-badge' });
bus.subscribe('cart.checkout', () => {}, { name: 'checkout' });
window.link = shareTopics(bus, { channel: 'shop', topics: ['cart.**'], heartbeatMs: 100 });
window.bus = bus;
window.open = () => { window.closeDevtools = openDevtools(bus, { position: 'bottom' }); };
window.adding = () => { let n = 0; return setInterval(() => bus.publish(n % 5 === 4 ? 'cart.checkout' : 'cart.add', { sku: n++ }), 100); };
window.ready = true;
</script></body></html>`;

// A page bridged to the broker: publishes orders, receives prices.
const mqttPage = () => `<!DOCTYPE html><html><head><meta charset="utf-8"><link rel="icon" href="data:,"><title>Orders</title>
<style>body { margin: 0; font: 15px system-ui, sans-serif; } header { padding: 16px 24px; background: #2e4a7a; color: white; }</style>
<script type="importmap">{ "imports": { "switchyard": "/pkg/${MAIN}" } }</script>
</head><body><header>Orders · bridged to MQTT</header>
<script type="module">
import { EventBus } from '/pkg/${MAIN}';
import { connectMqtt } from '/pkg/${BRIDGE}';
import { openDevtools } from '/pkg/${DEVTOOLS}';
import mqtt from '/mqtt/mqtt.esm.js';
const bus = new EventBus();
bus.subscribe('price.*', () => {}, { name: 'price-board' });
bus.subscribe('order.**', () => {}, { name: 'order-log' });
window.connect = async (url, prefix) => {
  window.link = await connectMqtt(bus, { url, prefix, mqtt, publish: ['order.**'], subscribe: ['price.*'], outbox: { store: 'memory' }, backoff: { initialMs: 50, maxMs: 500 } });
  await window.link.connected();
  return window.link.state;
};
window.bus = bus;
window.open = () => { window.closeDevtools = openDevtools(bus, { position: 'bottom' }); };
window.ordering = () => { let n = 0; return setInterval(() => bus.publish('order.created', { n: n++ }), 150); };
window.ready = true;
</script></body></html>`;

before(async () => {
  if (!tarball) return;
  const { pkg, entry } = await unpackTarball(tarball);
  MAIN = entry('.');
  BRIDGE = entry('./bridge');
  DEVTOOLS = entry('./devtools');
  server = await serve(join(pkg, 'web', 'devtools-app'), {
    mounts: { '/pkg/': pkg, '/mqtt/': join(repo, 'tests/node_modules/mqtt/dist') },
    pages: { '/tab.html': tab(), '/orders.html': mqttPage() },
  });
  context = await launch();
});

after(async () => {
  for (const link of nodeLinks) await link.close();
  await context?.close();
  await server?.close();
  await broker?.stop();
});

/** The devtools iframe's Playwright frame. */
const panel = (page) => eventually(async () => page.frames().find((f) => f.url().includes('devtools=1')), 'the devtools iframe loads');
/** Clicks a control of the panel from inside its frame. */
const press = (frame, testId) => frame.evaluate((id) => document.querySelector(`[data-testid=${id}]`).click(), testId);

async function openPage(path) {
  const page = await context.newPage();
  const problems = [];
  page.on('console', (m) => { if (m.type() === 'error') problems.push(`console: ${m.text()}`); });
  page.on('pageerror', (e) => problems.push(`pageerror: ${e.message}`));
  await page.goto(`${server.url}${path}`);
  await eventually(() => page.evaluate(() => window.ready === true), `${path} loads the package`);
  return { page, problems };
}

test('two tabs share topics: the panel shows the link as leader or follower and the other tab as a publisher', async (t) => {
  if (!tarball) return t.skip('SWITCHYARD_TARBALL is not set: `cargo xtask pack` and point it at the .tgz');
  const a = await openPage('/tab.html');
  const b = await openPage('/tab.html');
  try {
    await eventually(async () => {
      const states = [await a.page.evaluate(() => window.link.state), await b.page.evaluate(() => window.link.state)];
      return states.includes('leader') && states.includes('follower');
    }, 'one tab leads, the other follows');
    const realmB = await b.page.evaluate(() => window.link.realm);
    await a.page.evaluate(() => window.open());
    const frame = await panel(a.page);
    await eventually(async () => /attached to "in-page"/.test(await frame.getByTestId('source').textContent()), 'the panel attaches');
    const timer = await b.page.evaluate(() => window.adding());

    // The other tab's realm is a publisher of the topology, drawn apart from this tab's code.
    const label = `tab ${realmB.slice(0, 4)}…`;
    await eventually(async () => {
      const remote = await frame.locator('[data-testid=topology] .node.publisher.remote').allTextContents();
      return remote.some((text) => text.includes(label));
    }, `the topology shows the other tab as the publisher "${label}"`);
    const title = await frame.locator('[data-testid=topology] .node.publisher.remote title').first().textContent();
    assert.ok(title.includes(realmB) && title.includes('via tabs:shop'), title);
    await a.page.waitForTimeout(1200);
    await shot(a.page, 'bridge-devtools-topology');

    // The Links tab: this tab's link, its state as the link reports it, one peer, what it received.
    await press(frame, 'tab-links');
    const stateA = await a.page.evaluate(() => window.link.state);
    await eventually(async () => (await frame.locator('[data-testid=link-row]').count()) === 1, 'the Links tab lists the link');
    assert.equal((await frame.getByTestId('link-name').textContent()).trim(), 'tabs:shop');
    await eventually(async () => (await frame.getByTestId('link-state').textContent()).trim() === stateA, `the link shows as ${stateA}`);
    await eventually(async () => (await frame.getByTestId('link-peers').textContent()).trim() === '1', 'one peer');
    assert.match(await frame.getByTestId('tab-links').textContent(), /Links\s*1/);
    await a.page.waitForTimeout(600);
    await shot(a.page, 'bridge-devtools-links');

    // The other tab closes: this one leads, alone.
    await b.page.evaluate((id) => clearInterval(id), timer);
    await b.page.close();
    await eventually(async () => (await frame.getByTestId('link-state').textContent()).trim() === 'leader', 'the remaining tab shows as leader');
    await eventually(async () => (await frame.getByTestId('link-peers').textContent()).trim() === '0', 'no peer left');
    // Closing the link removes it from the panel.
    await a.page.evaluate(() => window.link.close());
    await eventually(async () => (await frame.locator('[data-testid=link-row]').count()) === 0, 'a closed link leaves the panel');
    assert.deepEqual([...a.problems, ...b.problems], []);
  } finally {
    await a.page.close();
    if (!b.page.isClosed()) await b.page.close();
  }
});

test('a page bridged to MQTT shows its link (connected, outbox, round-trip time) and the bus publishing through the broker', async (t) => {
  if (!tarball) return t.skip('SWITCHYARD_TARBALL is not set: `cargo xtask pack` and point it at the .tgz');
  broker = await startBroker();
  const { importBridge } = await import('../node/helpers/bridge.mjs');
  const { EventBus, connectMqtt } = await importBridge();
  const prefix = `e2e${process.pid}`;
  const nodeBus = new EventBus();
  const nodeLink = await connectMqtt(nodeBus, { url: broker.wsUrl, prefix, publish: ['price.*'], outbox: { store: 'memory' } });
  nodeLinks.push(nodeLink);
  await nodeLink.connected();

  const { page, problems } = await openPage('/orders.html');
  try {
    assert.equal(await page.evaluate(([url, p]) => window.connect(url, p), [broker.wsUrl, prefix]), 'connected');
    await page.evaluate(() => window.open());
    const frame = await panel(page);
    await eventually(async () => /attached to "in-page"/.test(await frame.getByTestId('source').textContent()), 'the panel attaches');
    const timer = await page.evaluate(() => window.ordering());
    const prices = setInterval(() => nodeBus.publish('price.eur', 1 + Math.random()), 150);
    try {
      await eventually(async () => {
        const remote = await frame.locator('[data-testid=topology] .node.publisher.remote').allTextContents();
        return remote.some((text) => /mqtt /.test(text));
      }, 'the Node bus publishing through the broker is a publisher of the topology');
      await page.waitForTimeout(1200);
      await shot(page, 'bridge-devtools-mqtt-topology');
      await press(frame, 'tab-links');
      await eventually(async () => (await frame.locator('[data-testid=link-row][data-kind=mqtt]').count()) === 1, 'the Links tab lists the MQTT link');
      assert.match((await frame.getByTestId('link-name').textContent()).trim(), /^mqtt:ws:\/\/127\.0\.0\.1:\d+/);
      await eventually(async () => (await frame.getByTestId('link-state').textContent()).trim() === 'connected', 'connected');
      await eventually(async () => /ms$/.test((await frame.getByTestId('link-rtt').textContent()).trim()), 'the round-trip time shows');
      assert.match((await frame.getByTestId('link-queued').textContent()).trim(), /^\d+$/);
      assert.match((await frame.getByTestId('link-in-flight').textContent()).trim(), /^\d+$/);
      assert.equal((await frame.getByTestId('link-reconnects').textContent()).trim(), '0');

      // The broker goes away: the panel shows the link waiting and the outbox filling; back: reconnected.
      await broker.stop();
      await eventually(async () => ['waiting', 'connecting'].includes((await frame.getByTestId('link-state').textContent()).trim()), 'the link shows it lost the broker');
      await eventually(async () => Number.parseInt((await frame.getByTestId('link-queued').textContent()).trim(), 10) > 0, 'the outbox fills while the broker is away');
      await page.waitForTimeout(400);
      await shot(page, 'bridge-devtools-mqtt-links-waiting');
      await broker.start();
      await eventually(async () => (await frame.getByTestId('link-state').textContent()).trim() === 'connected', 'connected again', 20_000);
      await eventually(async () => Number((await frame.getByTestId('link-reconnects').textContent()).trim()) >= 1, 'the reconnect is counted');
      await page.waitForTimeout(600);
      await shot(page, 'bridge-devtools-mqtt-links');
    } finally {
      clearInterval(prices);
      await page.evaluate((id) => clearInterval(id), timer);
    }
    await page.evaluate(() => window.link.close());
    await eventually(async () => (await frame.locator('[data-testid=link-row]').count()) === 0, 'a closed MQTT link leaves the panel');
    assert.deepEqual(problems.filter((p) => !/WebSocket/.test(p)), []);
  } finally {
    await page.close();
  }
});
