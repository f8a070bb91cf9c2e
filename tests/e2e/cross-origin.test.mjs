// Attach across origins (docs/ATTACH_PROTOCOL.md, "Another origin"): an app on one origin (its
// own loopback port, the package from the packed tarball $SWITCHYARD_TARBALL) exposes its bus with
// `exposeToOrigins(bus, name, { allowOrigins })` of `switchyard/devtools`; the visualiser as `cargo xtask demo` serves it (the Trunk
// build: $SWITCHYARD_DIST, else $CARGO_TARGET_DIR/devtools-app, else target/devtools-app) runs on
// another. The visualiser attaches only when the app listed its origin; otherwise the app sends it
// nothing, its console says why, and the visualiser says what the app must call.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { stat } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import { serve, launch, shot, repo, unpackTarball } from './harness.mjs';
import { eventually } from '../helpers/poll.mjs';

const tarball = process.env.SWITCHYARD_TARBALL;
const demoDir = resolve(process.env.SWITCHYARD_DIST ?? join(process.env.CARGO_TARGET_DIR ?? join(repo, 'target'), 'devtools-app'));
let appServer;
let demoServer;
let context;
let missing = null;

/** The app: a bus with named subscriptions and a dead letter, exposed as `shop` to `allow`. */
const app = (MAIN, DEVTOOLS) => `<!DOCTYPE html><html><head><meta charset="utf-8"><link rel="icon" href="data:,"><title>Shop</title></head>
<body><h1>Shop on its own origin</h1><script type="module">
import { EventBus } from '/pkg/${MAIN}';
import { exposeToOrigins } from '/pkg/${DEVTOOLS}';
const bus = new EventBus();
bus.subscribe('orders.*', () => {}, { name: 'billing' });
bus.subscribe('orders.created', () => { throw new Error('card declined'); }, { name: 'flaky' });
bus.publish('orders.created', { n: 1 });
await bus.idle();
const allow = new URLSearchParams(location.search).getAll('allow');
window.stop = exposeToOrigins(bus, 'shop', { allowOrigins: allow });
window.bus = bus;
window.publishing = setInterval(() => bus.publish('orders.paid', { n: 2 }), 100);
window.ready = true;
</script></body></html>`;

before(async () => {
  if (!tarball) return;
  try {
    await stat(join(demoDir, 'index.html'));
  } catch {
    missing = `no visualiser build at ${demoDir}: \`cargo xtask pack\` (or set SWITCHYARD_DIST)`;
    return;
  }
  const { pkg, entry } = await unpackTarball(tarball);
  const MAIN = entry('.');
  const DEVTOOLS = entry('./devtools');
  // Two loopback ports: two origins.
  appServer = await serve(join(pkg, 'web', 'devtools-app'), { mounts: { '/pkg/': pkg }, pages: { '/app.html': app(MAIN, DEVTOOLS) } });
  demoServer = await serve(demoDir);
  context = await launch();
});

after(async () => {
  await context?.close();
  await appServer?.close();
  await demoServer?.close();
});


/**
 * Opens the demo visualiser, records every message its window receives from the app's origin,
 * and attaches it to the app at `appUrl` with the sidebar's page field: the app opens in a new
 * window. Returns both pages and what each logged.
 */
async function attachFromDemo(appUrl) {
  const viz = await context.newPage();
  const problems = [];
  viz.on('pageerror', (e) => problems.push(`pageerror: ${e.message}`));
  await viz.addInitScript((appOrigin) => {
    window.__fromApp = [];
    addEventListener('message', (event) => {
      if (event.origin === appOrigin) window.__fromApp.push(event.data?.type ?? typeof event.data);
    });
  }, appServer.url);
  await viz.goto(`${demoServer.url}/?scenario=basic&autoplay=0`);
  await viz.getByTestId('attach-name').fill('shop');
  await viz.getByTestId('attach-page').fill(appUrl);
  const opened = viz.waitForEvent('popup');
  await viz.getByTestId('attach').click();
  const appPage = await opened;
  const appConsole = [];
  appPage.on('console', (m) => appConsole.push(`${m.type()}: ${m.text()}`));
  await eventually(() => appPage.evaluate(() => window.ready === true), 'the app loads in the window the visualiser opened');
  return { viz, appPage, problems, appConsole };
}

test('a visualiser on another origin attaches to a bus whose allowOrigins lists that origin', async (t) => {
  if (!tarball) return t.skip('SWITCHYARD_TARBALL is not set');
  if (missing) return t.skip(missing);
  const { viz, appPage, problems } = await attachFromDemo(`${appServer.url}/app.html?allow=${encodeURIComponent(demoServer.url)}`);
  try {
    assert.notEqual(new URL(appServer.url).origin, new URL(demoServer.url).origin);
    await eventually(async () => /attached to "shop"/.test(await viz.getByTestId('source').textContent()), 'the visualiser attaches to the app of the other origin');
    await eventually(async () => {
      const text = await viz.getByTestId('topology').textContent();
      return text.includes('billing') && text.includes('flaky');
    }, 'the topology names the app\'s subscriptions');
    await viz.getByTestId('tab-dead-letters').click();
    await eventually(async () => (await viz.locator('[data-testid=dead-letter-row]').count()) === 1, 'the app\'s dead letter shows');
    await shot(viz, 'cross-origin-attached');
    // Stopping the exposure stops the frames: the app's stop() also ends the port exposure.
    await appPage.evaluate(() => window.stop());
    assert.deepEqual(problems, []);
  } finally {
    await appPage.close();
    await viz.close();
  }
});

test('a visualiser on an origin the app did not list is sent nothing and says what the app must call', async (t) => {
  if (!tarball) return t.skip('SWITCHYARD_TARBALL is not set');
  if (missing) return t.skip(missing);
  const { viz, appPage, problems, appConsole } = await attachFromDemo(`${appServer.url}/app.html?allow=${encodeURIComponent('http://127.0.0.1:9')}`);
  try {
    const status = await eventually(async () => {
      const text = await viz.getByTestId('source').textContent();
      return /attach failed/.test(text) && text;
    }, 'the visualiser reports the refusal', 12_000);
    assert.match(status, /handed over no bus "shop"/);
    const reason = await viz.getByTestId('status').textContent();
    assert.ok(reason.includes(`exposeToOrigins(bus, "shop", { allowOrigins: ["${demoServer.url}"] })`), `the status line names the call to make: ${reason}`);
    await eventually(async () => appConsole.some((line) => line.startsWith('warning:') && line.includes(demoServer.url) && line.includes('allowOrigins')), 'the app\'s console says why it refused');
    assert.deepEqual(await viz.evaluate(() => window.__fromApp), [], 'the app posted nothing to the refused origin');
    assert.equal(await viz.locator('[data-testid=topology] .node.sub').count() > 0 && /billing/.test(await viz.getByTestId('topology').textContent()), false, 'no subscription of the app reached the visualiser');
    await shot(viz, 'cross-origin-refused');
    assert.deepEqual(problems, []);
  } finally {
    await appPage.close();
    await viz.close();
  }
});

test('a visualiser the app opened at ?attach=NAME attaches back to it when its origin is allowed', async (t) => {
  if (!tarball) return t.skip('SWITCHYARD_TARBALL is not set');
  if (missing) return t.skip(missing);
  const appPage = await context.newPage();
  const problems = [];
  appPage.on('pageerror', (e) => problems.push(`pageerror: ${e.message}`));
  await appPage.goto(`${appServer.url}/app.html?allow=${encodeURIComponent(demoServer.url)}`);
  await eventually(() => appPage.evaluate(() => window.ready === true), 'the app loads');
  const opened = appPage.waitForEvent('popup');
  await appPage.evaluate((demo) => { window.open(`${demo}/?attach=shop`); }, demoServer.url);
  const viz = await opened;
  try {
    viz.on('pageerror', (e) => problems.push(`viz pageerror: ${e.message}`));
    await eventually(async () => /attached to "shop"/.test(await viz.getByTestId('source').textContent()), 'the visualiser attaches to its opener of another origin');
    await eventually(async () => /billing/.test(await viz.getByTestId('topology').textContent()), 'it shows the opener\'s subscriptions');
    assert.deepEqual(problems, []);
  } finally {
    await viz.close();
    await appPage.close();
  }
});
