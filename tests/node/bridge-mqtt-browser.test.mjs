// switchyard/bridge connectMqtt, Node ↔ a Chromium page through a real mosquitto over WebSocket:
// patterns both ways, the IndexedDB outbox across a broker outage and a page reload, no loops
// between the page's bridge and Node's, forged and oversized messages dropped and counted, and
// the IndexedDB store's retry when the connection is closing (Safari's InvalidStateError).

import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { copyFileSync, mkdirSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import mqtt from 'mqtt';
import { collectErrors, launchChromium, serveStatic } from './helpers/browser.mjs';
import { importBridge } from './helpers/bridge.mjs';
import { startBroker } from './helpers/mosquitto.mjs';
import { installDir } from './helpers/package.mjs';
import { until } from '../helpers/poll.mjs';

const { EventBus, connectMqtt: connect } = await importBridge(); // also links mqtt and idb into the install folder

// Node-side links are closed after the file, also when an assertion failed.
const links = new Set();
async function connectMqtt(bus, options) {
  const link = await connect(bus, options);
  links.add(link);
  return link;
}
const sources = resolve(dirname(fileURLToPath(import.meta.url)), '../../crates/wasm/js');
// The IndexedDB store's source and idb, served from the page's origin for the unit test below.
mkdirSync(join(installDir(), 'bridge-src'), { recursive: true });
copyFileSync(join(sources, 'bridge/mqtt/stores.js'), join(installDir(), 'bridge-src/stores.js'));
copyFileSync(resolve(sources, '../../../tests/node_modules/idb/build/index.js'), join(installDir(), 'bridge-src/idb.js'));

const PAGE = `<!doctype html>
<link rel="icon" href="data:,">
<script type="importmap">
{ "imports": {
  "switchyard": "/node_modules/switchyard/web/index.js",
  "mqtt": "/node_modules/mqtt/dist/mqtt.esm.js"
} }
</script>
<script type="module">
  import { EventBus } from 'switchyard';
  import { connectMqtt } from '/node_modules/switchyard/web/bridge.js';
  window.got = [];
  // A bus with a bridge; every message from elsewhere on 'collect' patterns lands in window.got.
  window.start = async (options, collect = []) => {
    const bus = new EventBus({ capacity: 100000 });
    for (const pattern of collect) bus.subscribe(pattern, (payload, meta) => meta.origin && window.got.push({ topic: meta.topic, payload, origin: meta.origin }));
    window.bus = bus;
    window.link = await connectMqtt(bus, { backoff: { initialMs: 20, maxMs: 200 }, ...options });
    return window.link.metrics().outbox;
  };
  window.ready = true;
</script>`;

let broker;
let server;
let browser;
before(async () => {
  broker = await startBroker();
  server = await serveStatic(installDir(), { '/': PAGE });
  browser = await launchChromium();
});
after(async () => {
  await Promise.all([...links].map((link) => link.close()));
  await browser?.close();
  server?.close();
  await broker?.stop();
});

const sleep = (ms) => new Promise((r) => setTimeout(r, ms));
let n = 0;
const uniquePrefix = () => `b${process.pid}x${++n}`;

async function openPage() {
  const page = await browser.context.newPage();
  const errors = collectErrors(page);
  await page.goto(`${server.origin}/`);
  await page.waitForFunction(() => window.ready === true);
  return { page, errors };
}

async function nodeSide(options, collect = []) {
  const bus = new EventBus({ capacity: 100_000 });
  const got = [];
  for (const pattern of collect) bus.subscribe(pattern, (payload, meta) => meta.origin && got.push({ topic: meta.topic, payload, origin: meta.origin }));
  const link = await connectMqtt(bus, { url: broker.wsUrl, backoff: { initialMs: 20, maxMs: 200 }, outbox: { store: 'memory' }, ...options });
  await link.connected();
  return { bus, link, got };
}

test('a page and a Node process exchange bus messages through the broker, patterns both ways', async () => {
  const prefix = uniquePrefix();
  const { page, errors } = await openPage();
  const node = await nodeSide({ prefix, publish: ['cmd.*'], subscribe: ['ui.**.clicked'] }, ['**']);
  await page.evaluate(({ url, prefix }) => window.start({ url, prefix, publish: ['ui.**'], subscribe: ['cmd.*'] }, ['cmd.**']), { url: broker.wsUrl, prefix });
  await page.evaluate(() => window.link.connected());
  assert.equal(await page.evaluate(() => window.link.metrics().store), 'indexeddb');
  await sleep(150);
  await page.evaluate(() => {
    window.bus.publish('ui.button.clicked', { id: 'buy' });
    window.bus.publish('ui.button.hovered', { id: 'buy' }); // filtered on the Node side
  });
  node.bus.publish('cmd.reload', { hard: true });
  node.bus.publish('cmd.x.y', 1); // not in Node's publish patterns
  await until(async () => node.got.length >= 1 && (await page.evaluate(() => window.got.length)) >= 1, 5000, 'both directions');
  await sleep(200);
  assert.deepEqual(node.got.map((m) => [m.topic, m.payload]), [['ui.button.clicked', { id: 'buy' }]]);
  assert.equal(node.got[0].origin.hops, 1);
  assert.deepEqual(await page.evaluate(() => window.got.map((m) => [m.topic, m.payload])), [['cmd.reload', { hard: true }]]);
  assert.equal(node.link.metrics().dropped.filtered, 1);
  await page.evaluate(() => window.link.close());
  await node.link.close();
  await page.close();
  assert.deepEqual(errors, []);
});

test('2 000 publishes in one turn cross between the page and Node both ways complete and in order, in a few WebSocket frames', async () => {
  const prefix = uniquePrefix();
  const N = 2000;
  const node = await nodeSide({ prefix, publish: ['back.*'], subscribe: ['fwd.*'] }, ['fwd.*']);
  const { page, errors } = await openPage();
  await page.evaluate(() => {
    // Every frame the page's sockets send (mqtt.js's browser stream: one `send` is one frame).
    window.frames = 0;
    const send = WebSocket.prototype.send;
    WebSocket.prototype.send = function (...args) {
      window.frames++;
      return send.apply(this, args);
    };
  });
  await page.evaluate(({ url, prefix }) => window.start({ url, prefix, publish: ['fwd.*'], subscribe: ['back.*'] }, ['back.*']), { url: broker.wsUrl, prefix });
  await page.evaluate(() => window.link.connected());
  await sleep(150); // SUBACKs
  const framesBefore = await page.evaluate(() => window.frames);
  await page.evaluate((N) => {
    for (let i = 0; i < N; i++) window.bus.publish('fwd.x', { i });
  }, N);
  for (let i = 0; i < N; i++) node.bus.publish('back.y', { i });
  await until(async () => node.got.length >= N && (await page.evaluate(() => window.got.length)) >= N, 30_000, 'every message both ways');
  await page.evaluate(() => window.link.drained());
  await node.link.drained();
  await sleep(200);
  const range = Array.from({ length: N }, (_, i) => i);
  assert.deepEqual(node.got.map((m) => m.payload.i), range, 'page → Node: each once, in order');
  assert.deepEqual(await page.evaluate(() => window.got.map((m) => m.payload.i)), range, 'Node → page: each once, in order');
  // The page wrote 2 000 PUBLISHes and 2 000 PUBACKs: a turn's packets share a frame (6 to 12
  // frames here; mqtt.js's own stream sent 8 to 975, a frame per packet handled in its own tick).
  const frames = (await page.evaluate(() => window.frames)) - framesBefore;
  assert.ok(frames < (2 * N) / 10, `the page sent ${frames} frames for ${2 * N} packets`);
  await page.evaluate(() => window.link.close());
  await node.link.close();
  await page.close();
  assert.deepEqual(errors, []);
});

test('1 000 messages in the page outbox while the broker is down all reach Node after it restarts, none twice', async () => {
  const prefix = uniquePrefix();
  const node = await nodeSide({ prefix, subscribe: ['load.*'], clientId: `n-${prefix}` }, ['load.*']);
  await sleep(150);
  const { page, errors } = await openPage();
  await page.evaluate(({ url, prefix }) => window.start({ url, prefix, publish: ['load.*'], outbox: { name: prefix } }), { url: broker.wsUrl, prefix });
  await page.evaluate(() => window.link.connected());
  await broker.stop();
  await until(() => page.evaluate(() => window.link.state !== 'connected'), 5000, 'the page to notice');
  await page.evaluate(async () => {
    for (let i = 0; i < 1000; i++) window.bus.publish('load.item', i);
    await window.link.persisted(); // every message stored in IndexedDB
  });
  assert.equal(await page.evaluate(() => window.link.metrics().outbox), 1000);
  await broker.start();
  await until(() => node.got.length >= 1000, 30_000, '1000 messages');
  await page.evaluate(() => window.link.drained());
  await sleep(300);
  const values = node.got.map((m) => m.payload);
  assert.equal(values.length, 1000, 'none twice');
  assert.deepEqual(values, Array.from({ length: 1000 }, (_, i) => i));
  await page.evaluate(() => window.link.close());
  await node.link.close();
  await page.close();
  assert.deepEqual(errors.filter((e) => !/WebSocket/.test(e)), []);
});

test('messages in the outbox when the page reloads are sent after the reload', async () => {
  const prefix = uniquePrefix();
  const node = await nodeSide({ prefix, subscribe: ['saved'], clientId: `n-${prefix}` }, ['saved']);
  await sleep(150);
  await broker.stop();
  const { page } = await openPage();
  const options = { url: broker.wsUrl, prefix, publish: ['saved'], outbox: { name: prefix } };
  await page.evaluate((options) => window.start(options), options);
  await page.evaluate(async () => {
    for (let i = 0; i < 50; i++) window.bus.publish('saved', { n: i });
    await window.link.persisted();
  });
  const clientId = await page.evaluate(() => window.link.clientId);
  await page.reload();
  await page.waitForFunction(() => window.ready === true);
  await broker.start();
  const restored = await page.evaluate((options) => window.start(options), options);
  assert.equal(restored, 50, 'the new page found 50 records in IndexedDB');
  assert.equal(await page.evaluate(() => window.link.clientId), clientId, 'the page kept its client id (and so its session)');
  await page.evaluate(() => window.link.drained());
  await until(() => node.got.length >= 50, 10_000, '50 messages');
  await sleep(300);
  assert.deepEqual(node.got.map((m) => m.payload.n), Array.from({ length: 50 }, (_, i) => i));
  await page.evaluate(() => window.link.close());
  await node.link.close();
  await page.close();
});

test("the page's bridge and Node's bridge on one broker do not loop", async () => {
  const prefix = uniquePrefix();
  const node = await nodeSide({ prefix, publish: ['**'], subscribe: ['**'] }, ['**']);
  const { page } = await openPage();
  await page.evaluate(({ url, prefix }) => window.start({ url, prefix, publish: ['**'], subscribe: ['**'] }, ['**']), { url: broker.wsUrl, prefix });
  await page.evaluate(() => window.link.connected());
  await sleep(150);
  await page.evaluate(() => window.bus.publish('ping', 1));
  node.bus.publish('pong', 2);
  await sleep(800);
  assert.deepEqual(node.got.map((m) => m.topic), ['ping']);
  assert.deepEqual(await page.evaluate(() => window.got.map((m) => m.topic)), ['pong']);
  const pageMetrics = await page.evaluate(() => window.link.metrics());
  assert.equal(pageMetrics.sent, 1, 'the page sent its own message only');
  assert.equal(node.link.metrics().sent, 1, 'Node sent its own message only');
  await page.evaluate(() => window.link.close());
  await node.link.close();
  await page.close();
});

test('forged and oversized messages reaching the page are dropped and counted, and the page bus goes on', async () => {
  const prefix = uniquePrefix();
  const { page, errors } = await openPage();
  await page.evaluate(({ url, prefix }) => window.start({ url, prefix, subscribe: ['**'], maxMessageBytes: 500 }, ['**']), { url: broker.wsUrl, prefix });
  await page.evaluate(() => window.link.connected());
  await sleep(150);
  const raw = mqtt.connect(broker.tcpUrl, { protocolVersion: 5, reconnectPeriod: 0 });
  await new Promise((r) => raw.on('connect', r));
  const good = { qos: 1, properties: { userProperties: { sy: '1 zz 9 1' } } };
  await new Promise((r) => raw.publish(`${prefix}/x`, '1', { qos: 1, properties: { userProperties: { sy: 'not an origin' } } }, r));
  await new Promise((r) => raw.publish(`${prefix}/x`, JSON.stringify('y'.repeat(1000)), good, r));
  await new Promise((r) => raw.publish(`${prefix}/x`, '"ok"', { ...good, properties: { userProperties: { sy: '1 zz 10 1' } } }, r));
  await until(() => page.evaluate(() => window.got.length === 1), 5000, 'the good message');
  const m = await page.evaluate(() => window.link.metrics());
  assert.equal(m.dropped.forged, 1);
  assert.equal(m.dropped.oversized, 1);
  assert.equal(m.state, 'connected');
  raw.end(true);
  await page.evaluate(() => window.link.close());
  await page.close();
  assert.deepEqual(errors, []);
});

test('the IndexedDB store reopens and retries when the browser is closing its connection', async () => {
  const { page } = await openPage();
  const result = await page.evaluate(async () => {
    const { IdbStore } = await import('/bridge-src/stores.js');
    const idb = await import('/bridge-src/idb.js');
    const store = new IdbStore(idb, `closing-${Math.random()}`);
    await store.open();
    const db = await store.db;
    db.close(); // what Safari does to idle connections: the next transaction() throws InvalidStateError
    let direct = null;
    try {
      db.transaction('outbox', 'readwrite');
    } catch (error) {
      direct = `${error.name}: ${error.message}`;
    }
    const record = { key: 1, realm: 'r', id: 1, seq: 1, hops: 1, topic: 't', busTopic: 't', body: '1', headers: null, correlationId: null, createdAt: 0, attempts: 0 };
    store.db = Promise.resolve(db); // keep the closed connection, as a store that missed the close event would
    await store.write([record]);
    const { records } = await store.open();
    return { direct, reopened: store.reopened, keys: records.map((r) => r.key) };
  });
  assert.match(result.direct, /InvalidStateError: .*closing/);
  assert.equal(result.reopened, 1);
  assert.deepEqual(result.keys, [1]);
  await page.close();
});
