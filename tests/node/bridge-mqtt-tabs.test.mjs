// connectMqtt's tab groups (`tabs: { channel }`), in Chromium pages of one origin talking to a real
// mosquitto over WebSocket: one socket per group, a follower's publishes reach the broker through
// the leader's shared IndexedDB outbox, what the broker sends reaches every tab once, the next tab
// takes over when the leader closes, and the tabs bridge (shareTopics) on the same topics
// doubles nothing. Node (no IndexedDB) refuses `tabs` with a clear error.

import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { collectErrors, launchChromium, serveStatic } from './helpers/browser.mjs';
import { importBridge } from './helpers/bridge.mjs';
import { startBroker } from './helpers/mosquitto.mjs';
import { installDir } from './helpers/package.mjs';
import { until } from '../helpers/poll.mjs';

const { EventBus, SwitchyardError, connectMqtt } = await importBridge();

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
  import { connectMqtt, shareTopics } from '/node_modules/switchyard/web/bridge.js';
  window.got = [];
  // A bus with a bridge (and shareTopics when 'share' is given); every message from elsewhere on
  // 'collect' patterns lands in window.got.
  window.start = async (options, collect = [], share = null) => {
    const bus = new EventBus({ capacity: 100000 });
    for (const pattern of collect) bus.subscribe(pattern, (payload, meta) => meta.origin && window.got.push({ topic: meta.topic, payload, origin: meta.origin }));
    window.bus = bus;
    if (share) window.share = shareTopics(bus, share);
    window.letters = [];
    window.link = await connectMqtt(bus, { backoff: { initialMs: 20, maxMs: 200 }, onDeadLetter: (letter) => window.letters.push(letter), ...options });
  };
  window.ready = true;
</script>`;

let broker;
let server;
let browser;
const nodeLinks = new Set();
before(async () => {
  broker = await startBroker();
  server = await serveStatic(installDir(), { '/': PAGE });
  browser = await launchChromium();
});
after(async () => {
  await Promise.all([...nodeLinks].map((link) => link.close()));
  await browser?.close();
  server?.close();
  await broker?.stop();
});

const sleep = (ms) => new Promise((r) => setTimeout(r, ms));
let n = 0;
const uniquePrefix = () => `t${process.pid}x${++n}`;

/** Established WebSocket connections to the broker (its WebSocket port: only pages use it). */
function webSocketClients() {
  const out = execFileSync('ss', ['-Htn', 'state', 'established', `( sport = :${broker.wsPort} )`], { encoding: 'utf8' });
  return out.split('\n').filter((line) => line.trim() !== '').length;
}

/** Opens `count` pages of the test origin, each started with `options` (one tab group). */
async function openTabs(count, options, collect, share = null) {
  const tabs = [];
  for (let i = 0; i < count; i++) {
    const page = await browser.context.newPage();
    const errors = collectErrors(page);
    await page.goto(`${server.origin}/`);
    await page.waitForFunction(() => window.ready === true);
    await page.evaluate(({ options, collect, share }) => window.start(options, collect, share), { options, collect, share });
    tabs.push({ page, errors });
  }
  await Promise.all(tabs.map((t) => t.page.evaluate(() => window.link.connected())));
  return tabs;
}

/** The one tab that leads (asserts there is exactly one). */
async function leaderOf(tabs) {
  const leaders = [];
  for (const tab of tabs) if (await tab.page.evaluate(() => window.link.leader)) leaders.push(tab);
  assert.equal(leaders.length, 1, 'exactly one tab leads');
  return leaders[0];
}

/** A Node-side bus bridged to the broker over TCP (so the WebSocket port counts pages only). */
async function nodeSide(options, collect = []) {
  const bus = new EventBus({ capacity: 100_000 });
  const got = [];
  for (const pattern of collect) bus.subscribe(pattern, (payload, meta) => meta.origin && got.push({ topic: meta.topic, payload, origin: meta.origin }));
  const link = await connectMqtt(bus, { url: broker.tcpUrl, backoff: { initialMs: 20, maxMs: 200 }, outbox: { store: 'memory' }, ...options });
  nodeLinks.add(link);
  await link.connected();
  return { bus, link, got };
}

const pageGot = (tab) => tab.page.evaluate(() => window.got.map((m) => [m.topic, m.payload]));

async function closeAll(tabs) {
  for (const tab of tabs) {
    if (tab.page.isClosed()) continue;
    await tab.page.evaluate(() => window.link.close());
    await tab.page.close();
  }
}

test('three tabs of a group hold one socket; a follower publish reaches Node once and a broker message reaches every tab once', async () => {
  const prefix = uniquePrefix();
  const node = await nodeSide({ prefix, subscribe: ['chat.**'], publish: ['news.*'] }, ['chat.**']);
  const options = { url: broker.wsUrl, prefix, publish: ['chat.**'], subscribe: ['news.*'], tabs: { channel: prefix } };
  const tabs = await openTabs(3, options, ['news.*', 'chat.**']);
  const leader = await leaderOf(tabs);
  const followers = tabs.filter((t) => t !== leader);
  await sleep(300);
  assert.equal(webSocketClients(), 1, 'one WebSocket connection for three tabs');
  for (const f of followers) {
    assert.equal(await f.page.evaluate(() => window.link.state), 'follower');
    const m = await f.page.evaluate(() => window.link.metrics().tabs);
    assert.equal(m.role, 'follower');
    assert.equal(m.leaderState, 'connected');
    assert.equal(m.peers, 2);
  }
  assert.equal(await leader.page.evaluate(() => window.link.state), 'connected');
  const clientIds = await Promise.all(tabs.map((t) => t.page.evaluate(() => window.link.clientId)));
  assert.equal(new Set(clientIds).size, 1, 'one client id (one session) for the group');

  for (const [i, tab] of tabs.entries()) await tab.page.evaluate((i) => window.bus.publish('chat.room.msg', { from: i }), i);
  await until(() => node.got.length >= 3, 5000, 'three chat messages at Node');
  for (const f of followers) await f.page.evaluate(() => window.link.drained());
  await sleep(300);
  assert.deepEqual(node.got.map((m) => m.payload.from).sort(), [0, 1, 2], 'each once');
  assert.equal(node.link.metrics().duplicates, 0, 'nothing sent twice');
  for (const f of followers) assert.equal(await f.page.evaluate(() => window.link.metrics().outbox), 0);

  for (let i = 0; i < 5; i++) node.bus.publish('news.flash', i);
  for (const tab of tabs) await until(async () => (await pageGot(tab)).length >= 5, 5000, 'five news in every tab');
  await sleep(300);
  for (const tab of tabs) {
    // No tab sees another tab's chat (one MQTT client: No Local), and each news item once, in order.
    assert.deepEqual(await pageGot(tab), [0, 1, 2, 3, 4].map((i) => ['news.flash', i]));
    const origin = await tab.page.evaluate(() => window.got[0].origin);
    assert.equal(origin.hops, 1);
  }
  await closeAll(tabs);
  for (const tab of tabs) assert.deepEqual(tab.errors, []);
});

test('closing the leader tab hands the socket to another within 2 s; publishes before, during and after arrive once', async (t) => {
  const prefix = uniquePrefix();
  const node = await nodeSide({ prefix, subscribe: ['work.*'], publish: ['news.*'] }, ['work.*']);
  const options = { url: broker.wsUrl, prefix, publish: ['work.*'], subscribe: ['news.*'], tabs: { channel: prefix } };
  const tabs = await openTabs(3, options, ['news.*']);
  const leader = await leaderOf(tabs);
  const followers = tabs.filter((t) => t !== leader);
  await sleep(200);
  // A follower publishes steadily across the hand-over.
  await followers[0].page.evaluate(() => {
    let i = 0;
    window.pump = setInterval(() => {
      if (i < 300) window.bus.publish('work.item', i++);
      else clearInterval(window.pump);
    }, 2);
  });
  await sleep(100);
  const closedAt = Date.now();
  await leader.page.close(); // the tab goes: its lock and its socket with it
  await until(
    async () => {
      for (const f of followers) if ((await f.page.evaluate(() => window.link.state)) === 'connected') return true;
      return false;
    },
    5000,
    'a new leader connected',
  );
  const handOverMs = Date.now() - closedAt;
  t.diagnostic(`hand-over after close: ${handOverMs} ms`);
  assert.ok(handOverMs < 2000, `hand-over took ${handOverMs} ms`);
  const next = await leaderOf(followers);
  await until(() => node.got.length >= 300, 10_000, '300 work items at Node');
  await followers[0].page.evaluate(() => window.link.drained());
  await sleep(300);
  const values = node.got.map((m) => m.payload);
  assert.deepEqual([...values].sort((a, b) => a - b), Array.from({ length: 300 }, (_, i) => i), 'every item once');
  assert.equal(webSocketClients(), 1, 'still one WebSocket connection');

  // Broker messages after the hand-over reach both remaining tabs once.
  for (let i = 0; i < 3; i++) node.bus.publish('news.after', i);
  for (const f of followers) await until(async () => (await pageGot(f)).length >= 3, 5000, 'news after the hand-over');
  await sleep(300);
  for (const f of followers) assert.deepEqual(await pageGot(f), [0, 1, 2].map((i) => ['news.after', i]));
  assert.equal(await next.page.evaluate(() => window.link.metrics().tabs.leaderships), 1);
  await closeAll(followers);
  for (const tab of tabs) assert.deepEqual(tab.errors, []);
});

test("a follower's records accepted while the broker is down survive the follower closing and are sent once the broker is back", async () => {
  const prefix = uniquePrefix();
  const node = await nodeSide({ prefix, subscribe: ['work.*'], clientId: `n-${prefix}` }, ['work.*']);
  const options = { url: broker.wsUrl, prefix, publish: ['work.*'], tabs: { channel: prefix } };
  const tabs = await openTabs(2, options, []);
  const leader = await leaderOf(tabs);
  const follower = tabs.find((t) => t !== leader);
  await broker.stop();
  await until(() => leader.page.evaluate(() => window.link.state !== 'connected'), 5000, 'the leader to notice');
  await until(() => follower.page.evaluate(() => window.link.metrics().tabs.leaderState !== 'connected'), 5000, 'the follower to hear it');
  await follower.page.evaluate(async () => {
    for (let i = 0; i < 200; i++) window.bus.publish('work.item', i);
    await window.link.persisted();
  });
  assert.equal(await follower.page.evaluate(() => window.link.metrics().outbox), 200);
  await follower.page.evaluate(() => window.link.close());
  await follower.page.close();
  await broker.start();
  await until(() => node.got.length >= 200, 15_000, '200 items at Node');
  await sleep(300);
  assert.deepEqual(node.got.map((m) => m.payload), Array.from({ length: 200 }, (_, i) => i), 'in order, each once');
  await until(() => leader.page.evaluate(() => window.link.metrics().tabs.sharedOutbox === 0), 5000, 'the shared outbox empty');
  await closeAll([leader]);
  // The browser logs each refused WebSocket attempt of the outage; nothing else.
  for (const tab of tabs) assert.deepEqual(tab.errors.filter((e) => !/ERR_CONNECTION_REFUSED/.test(e)), []);
});

test("the leader dead-letters a follower's record the broker refuses, and the follower's onDeadLetter gets it", async () => {
  const strict = await startBroker({ acl: 'topic readwrite sy/ok/#\ntopic read sy/#\n' });
  try {
    const prefix = uniquePrefix();
    const options = { url: strict.wsUrl, prefix: 'sy', publish: ['**'], retry: { attempts: 2 }, tabs: { channel: prefix } };
    const tabs = await openTabs(2, options, []);
    const leader = await leaderOf(tabs);
    const follower = tabs.find((t) => t !== leader);
    await follower.page.evaluate(async () => {
      window.bus.publish('ok.fine', 1);
      window.bus.publish('denied.topic', { x: 1 });
      await window.link.drained();
    });
    const letters = await follower.page.evaluate(() => window.link.deadLetters());
    assert.equal(letters.length, 1);
    assert.equal(letters[0].topic, 'denied.topic');
    assert.equal(letters[0].reason, 'refused');
    assert.equal(letters[0].attempts, 2);
    const followerRealm = letters[0].writer;
    assert.equal(typeof followerRealm, 'string');
    const m = await follower.page.evaluate(() => window.link.metrics());
    assert.equal(m.deadLettered, 1);
    assert.equal(m.outbox, 0);
    assert.deepEqual(await follower.page.evaluate(() => window.letters), letters, "the follower's onDeadLetter");
    assert.deepEqual(await leader.page.evaluate(() => window.letters), [], "not the leader's");
    const atLeader = await leader.page.evaluate(() => window.link.deadLetters());
    assert.deepEqual(atLeader.map((l) => [l.topic, l.writer]), [['denied.topic', followerRealm]], 'the leader keeps the group\'s dead letters');
    await closeAll(tabs);
    for (const tab of tabs) assert.deepEqual(tab.errors, []);
  } finally {
    await strict.stop();
  }
});

test('a crashed leader tab is replaced, and every record it had stored is sent by the next leader, each delivered once', async (t) => {
  const prefix = uniquePrefix();
  const node = await nodeSide({ prefix, subscribe: ['work.*'] }, ['work.*']);
  const options = { url: broker.wsUrl, prefix, publish: ['work.*'], tabs: { channel: prefix } };
  const tabs = await openTabs(2, options, []);
  const leader = await leaderOf(tabs);
  const follower = tabs.find((t) => t !== leader);
  await leader.page.evaluate(async () => {
    for (let i = 0; i < 500; i++) window.bus.publish('work.item', i);
    await window.link.persisted(); // in the shared outbox: accepted
  });
  const cdp = await browser.context.newCDPSession(leader.page);
  const crashedAt = Date.now();
  cdp.send('Page.crash').catch(() => {}); // never answered: the page is gone
  await until(() => follower.page.evaluate(() => window.link.state === 'connected'), 5000, 'the follower to take over');
  const handOverMs = Date.now() - crashedAt;
  t.diagnostic(`hand-over after crash: ${handOverMs} ms`);
  assert.ok(handOverMs < 2000, `hand-over took ${handOverMs} ms`);
  await until(() => node.got.length >= 500, 10_000, '500 items at Node');
  await sleep(300);
  const values = node.got.map((m) => m.payload).sort((a, b) => a - b);
  assert.deepEqual(values, Array.from({ length: 500 }, (_, i) => i), 'every item once (copies sent again are dropped by id)');
  assert.equal(webSocketClients(), 1);
  await until(() => follower.page.evaluate(() => window.link.metrics().tabs.sharedOutbox === 0), 5000, 'the shared outbox empty');
  await closeAll([follower]);
  assert.deepEqual(follower.errors, []);
});

test('a leader tab that freezes gives the socket up to another, and follows when it resumes', async () => {
  const prefix = uniquePrefix();
  const node = await nodeSide({ prefix, subscribe: ['work.*'], publish: ['news.*'] }, ['work.*']);
  const options = { url: broker.wsUrl, prefix, publish: ['work.*'], subscribe: ['news.*'], tabs: { channel: prefix } };
  const tabs = await openTabs(2, options, ['news.*']);
  const leader = await leaderOf(tabs);
  const follower = tabs.find((t) => t !== leader);
  const cdp = await browser.context.newCDPSession(leader.page);
  const frozenAt = Date.now();
  // The browser fires `freeze` before it freezes a page and `resume` after; the DevTools
  // protocol's lifecycle command does neither, so the test fires them (as tests/e2e/bridge does).
  await leader.page.evaluate(() => document.dispatchEvent(new Event('freeze')));
  await cdp.send('Page.setWebLifecycleState', { state: 'frozen' });
  await until(() => follower.page.evaluate(() => window.link.state === 'connected'), 5000, 'the follower to take over');
  assert.ok(Date.now() - frozenAt < 2000, 'within 2 s');
  await follower.page.evaluate(() => window.bus.publish('work.item', 'while frozen'));
  node.bus.publish('news.flash', 1);
  await until(() => node.got.length >= 1, 5000, 'the item at Node');
  await until(async () => (await pageGot(follower)).length >= 1, 5000, 'the news at the new leader');
  await cdp.send('Page.setWebLifecycleState', { state: 'active' });
  await leader.page.evaluate(() => document.dispatchEvent(new Event('resume')));
  await until(() => leader.page.evaluate(() => window.link.state === 'follower' && window.link.metrics().tabs.leaderState === 'connected'), 5000, 'the old leader to follow');
  node.bus.publish('news.flash', 2);
  await until(async () => (await pageGot(leader)).length >= 1, 5000, 'news at the resumed tab');
  await sleep(300);
  assert.deepEqual(await pageGot(leader), [['news.flash', 2]], 'what passed while frozen is not replayed by the broker to a follower');
  assert.deepEqual(await pageGot(follower), [['news.flash', 1], ['news.flash', 2]]);
  assert.deepEqual(node.got.map((m) => m.payload), ['while frozen']);
  assert.equal(webSocketClients(), 1);
  await closeAll(tabs);
  for (const tab of tabs) assert.deepEqual(tab.errors, []);
});

test('a leader tab stuck in a long task is deposed after tabs.deposeAfterMs; the new leader takes the session over and the old one follows', async () => {
  const prefix = uniquePrefix();
  const node = await nodeSide({ prefix, subscribe: ['work.*'] }, ['work.*']);
  const options = { url: broker.wsUrl, prefix, publish: ['work.*'], tabs: { channel: prefix, deposeAfterMs: 1000 } };
  const tabs = await openTabs(2, options, []);
  const leader = await leaderOf(tabs);
  const follower = tabs.find((t) => t !== leader);
  const stuckAt = Date.now();
  const stuck = leader.page.evaluate(() => {
    const end = Date.now() + 3000;
    while (Date.now() < end);
  });
  await until(() => follower.page.evaluate(() => window.link.state === 'connected'), 5000, 'the follower to take over');
  assert.ok(Date.now() - stuckAt < 2800, `took over after ${Date.now() - stuckAt} ms`);
  await follower.page.evaluate(() => window.bus.publish('work.item', 'after'));
  await stuck;
  await until(() => leader.page.evaluate(() => window.link.state === 'follower'), 5000, 'the old leader to follow');
  await leader.page.evaluate(() => window.bus.publish('work.item', 'from the old leader'));
  await until(() => node.got.length >= 2, 5000, 'both items at Node');
  await sleep(1000);
  assert.deepEqual(node.got.map((m) => m.payload).sort(), ['after', 'from the old leader']);
  assert.equal(webSocketClients(), 1);
  assert.equal(await follower.page.evaluate(() => window.link.state), 'connected', 'no takeover ping-pong');
  await closeAll(tabs);
  for (const tab of tabs) assert.deepEqual(tab.errors, []);
});

test('a group whose tabs also share the topics with shareTopics delivers each broker message once per tab and sends each publish once', async () => {
  const prefix = uniquePrefix();
  const node = await nodeSide({ prefix, subscribe: ['chat.**'], publish: ['news.*'] }, ['chat.**']);
  const options = { url: broker.wsUrl, prefix, publish: ['chat.**'], subscribe: ['news.*'], tabs: { channel: prefix } };
  const share = { channel: prefix, topics: ['chat.**', 'news.*'] };
  const tabs = await openTabs(3, options, ['news.*', 'chat.**'], share);
  const leader = await leaderOf(tabs);
  const follower = tabs.find((t) => t !== leader);
  await sleep(600); // the tabs bridge's realms meet (hello/welcome)

  for (let i = 0; i < 4; i++) node.bus.publish('news.flash', i);
  await follower.page.evaluate(() => window.bus.publish('chat.room.msg', 'hi'));
  await until(() => node.got.length >= 1, 5000, 'the chat message at Node');
  for (const tab of tabs) await until(async () => (await pageGot(tab)).filter(([t]) => t === 'news.flash').length >= 4, 5000, 'news in every tab');
  await follower.page.evaluate(() => window.link.drained());
  await sleep(500);
  assert.deepEqual(node.got.map((m) => m.payload), ['hi'], 'sent once');
  assert.equal(node.link.metrics().duplicates, 0, 'not sent twice and dropped by id');
  for (const tab of tabs) {
    const got = await pageGot(tab);
    assert.deepEqual(got.filter(([t]) => t === 'news.flash'), [0, 1, 2, 3].map((i) => ['news.flash', i]), 'each news item once per tab');
    // The chat message reached the other tabs through shareTopics, once.
    assert.equal(got.filter(([t]) => t === 'chat.room.msg').length, tab === follower ? 0 : 1);
  }
  await closeAll(tabs);
  for (const tab of tabs) assert.deepEqual(tab.errors, []);
});

test('two tabs with their own sockets and shareTopics on the same topics see each broker message once', async () => {
  const prefix = uniquePrefix();
  const node = await nodeSide({ prefix, publish: ['news.*'] });
  const share = { channel: prefix, topics: ['news.*'] };
  const tabs = [];
  for (let i = 0; i < 2; i++) {
    const more = await openTabs(1, { url: broker.wsUrl, prefix, subscribe: ['news.*'], clientId: `${prefix}-${i}`, outbox: { name: `${prefix}-${i}` } }, ['news.*'], share);
    tabs.push(...more);
  }
  await sleep(600);
  for (let i = 0; i < 5; i++) node.bus.publish('news.flash', i);
  for (const tab of tabs) await until(async () => (await pageGot(tab)).length >= 5, 5000, 'news in both tabs');
  await sleep(500);
  for (const tab of tabs) assert.deepEqual(await pageGot(tab), [0, 1, 2, 3, 4].map((i) => ['news.flash', i]));
  await closeAll(tabs);
  for (const tab of tabs) assert.deepEqual(tab.errors, []);
});

test("forged messages on the group's channel are ignored and counted, never thrown, and the group keeps working", async () => {
  const prefix = uniquePrefix();
  const node = await nodeSide({ prefix, subscribe: ['work.*'], publish: ['news.*'] }, ['work.*']);
  const options = { url: broker.wsUrl, prefix, publish: ['work.*'], subscribe: ['news.*'], tabs: { channel: prefix } };
  const tabs = await openTabs(2, options, ['news.*', 'work.*']);
  const leader = await leaderOf(tabs);
  const follower = tabs.find((t) => t !== leader);
  const forger = await browser.context.newPage();
  const forgerErrors = collectErrors(forger);
  await forger.goto(`${server.origin}/`);
  const name = await leader.page.evaluate(() => window.link.metrics().tabs.broadcastChannel);
  assert.match(name, new RegExp(`^switchyard\\.mqtt/${prefix}/[0-9a-z]+$`));
  await forger.evaluate((name) => {
    const bc = new BroadcastChannel(name);
    const m = (kind, fields) => ({ sy: 'mqtt-tabs', v: 1, kind, from: 'forger', ...fields });
    for (const message of [
      null,
      'text',
      { sy: 'mqtt-tabs', v: 99, kind: 'beat', from: 'x' },
      m('wrote', { records: [{ key: 1e9, topic: 7 }] }),
      m('wrote', { records: 'all' }),
      m('msgs', { msgs: [null, { topic: 5 }, { topic: 'work.x', origin: { realm: 'r', id: 'one' } }] }),
      m('done', { keys: 'nope' }),
      m('dead', { letters: [null] }),
    ]) bc.postMessage(message);
    bc.close();
  }, name);
  await sleep(300);
  for (const tab of tabs) {
    const m = await tab.page.evaluate(() => window.link.metrics());
    assert.ok(m.tabs.ignored >= 3, `ignored ${m.tabs.ignored}`);
    assert.equal(m.outbox, 0);
  }
  assert.equal((await follower.page.evaluate(() => window.link.metrics())).dropped.forged, 3, 'the three ill-formed broker messages');
  assert.deepEqual(await pageGot(follower), [], 'nothing forged reached a bus');
  assert.equal(await leader.page.evaluate(() => window.link.state), 'connected');
  await follower.page.evaluate(() => window.bus.publish('work.item', 'still works'));
  node.bus.publish('news.flash', 1);
  await until(() => node.got.length >= 1, 5000, 'the item at Node');
  for (const tab of tabs) await until(async () => (await pageGot(tab)).length >= 1, 5000, 'the news');
  assert.deepEqual(node.got.map((m) => m.payload), ['still works']);
  await forger.close();
  await closeAll(tabs);
  for (const tab of tabs) assert.deepEqual(tab.errors, []);
  assert.deepEqual(forgerErrors, []);
});

test('Node refuses a tab group (no IndexedDB) and bad tabs options with E_INVALID_OPTION, connecting nothing', async () => {
  const bus = new EventBus();
  const cases = [
    [{ tabs: { channel: 'app' } }, /IndexedDB and BroadcastChannel/],
    [{ tabs: { channel: '' } }, /tabs\.channel/],
    [{ tabs: 'app' }, /`tabs` must be an object/],
    [{ tabs: { channel: 'app', leader: true } }, /unknown option `tabs\.leader`/],
    [{ tabs: { channel: 'app', heartbeatMs: 5 } }, /tabs\.heartbeatMs/],
    [{ tabs: { channel: 'app' }, outbox: { store: 'memory' } }, /outbox\.store/],
  ];
  for (const [extra, message] of cases) {
    await assert.rejects(
      connectMqtt(bus, { url: broker.tcpUrl, publish: ['a.*'], ...extra }),
      (error) => error instanceof SwitchyardError && error.code === 'E_INVALID_OPTION' && message.test(error.message),
      JSON.stringify(extra),
    );
  }
});

// ---- found in review (session 8): R8-1, R8-6, R8-5, R8-7 ----

test('a leader that closes gracefully while records of a follower are in flight: the follower drains, nothing is sent twice', async () => {
  const prefix = uniquePrefix();
  const node = await nodeSide({ prefix, subscribe: ['work.*'] }, ['work.*']);
  const options = { url: broker.wsUrl, prefix, publish: ['work.*'], tabs: { channel: prefix } };
  const tabs = await openTabs(3, options, []);
  const leader = await leaderOf(tabs);
  const [writer, other] = tabs.filter((t) => t !== leader);
  await writer.page.evaluate(async () => {
    for (let i = 0; i < 3000; i++) window.bus.publish('work.item', i);
    await window.link.persisted();
  });
  await until(() => leader.page.evaluate(() => window.link.metrics().inFlight > 0), 5000, 'records in flight at the leader');
  await leader.page.evaluate(() => window.link.close());
  await until(() => node.got.length >= 3000, 15_000, '3000 items at Node');
  await sleep(1500);
  const outbox = await writer.page.evaluate(() => window.link.metrics().outbox);
  const drained = await writer.page.evaluate(() => Promise.race([window.link.drained().then(() => true), new Promise((r) => setTimeout(() => r(false), 3000))]));
  const dups = node.link.metrics().duplicates;
  if (process.env.DEBUG_TABS) console.log(`writer outbox ${outbox}, drained ${drained}, duplicates at the Node receiver ${dups}, new leader is ${await other.page.evaluate(() => window.link.leader) ? 'other' : 'writer'}`);
  await closeAll(tabs);
  assert.equal(outbox, 0, "the writer's outbox counts records that were acknowledged");
  assert.equal(drained, true, 'drained() resolves');
  assert.equal(dups, 0, 'records sent twice');
});

test('a follower that freezes and resumes while the leader acknowledges its records drains', async () => {
  const prefix = uniquePrefix();
  const node = await nodeSide({ prefix, subscribe: ['work.*'], clientId: `n-${prefix}` }, ['work.*']);
  const options = { url: broker.wsUrl, prefix, publish: ['work.*'], tabs: { channel: prefix } };
  const tabs = await openTabs(2, options, []);
  const leader = await leaderOf(tabs);
  const follower = tabs.find((t) => t !== leader);
  await broker.stop();
  await until(() => leader.page.evaluate(() => window.link.state !== 'connected'), 5000, 'the leader to notice');
  await follower.page.evaluate(async () => {
    for (let i = 0; i < 100; i++) window.bus.publish('work.item', i);
    await window.link.persisted();
  });
  // What a real freeze / bfcache pagehide runs first (group.js pause): the channel closes.
  await follower.page.evaluate(() => document.dispatchEvent(new Event('freeze')));
  await broker.start();
  await until(() => node.got.length >= 100, 15_000, '100 items at Node');
  await sleep(500);
  await follower.page.evaluate(() => document.dispatchEvent(new Event('resume')));
  await sleep(1500);
  const outbox = await follower.page.evaluate(() => window.link.metrics().outbox);
  const drained = await follower.page.evaluate(() => Promise.race([window.link.drained().then(() => true), new Promise((r) => setTimeout(() => r(false), 3000))]));
  if (process.env.DEBUG_TABS) console.log(`follower outbox after resume ${outbox}, drained ${drained}`);
  await closeAll(tabs);
  assert.equal(outbox, 0);
  assert.equal(drained, true);
});

test("after the origin's IndexedDB is cleared under running tabs, a follower's next publishes still reach the broker", async () => {
  const prefix = uniquePrefix();
  const node = await nodeSide({ prefix, subscribe: ['work.*'] }, ['work.*']);
  const options = { url: broker.wsUrl, prefix, publish: ['work.*'], tabs: { channel: prefix } };
  const tabs = await openTabs(2, options, []);
  const leader = await leaderOf(tabs);
  const follower = tabs.find((t) => t !== leader);
  await follower.page.evaluate(async () => {
    for (let i = 0; i < 50; i++) window.bus.publish('work.item', i);
    await window.link.drained();
  });
  await until(() => node.got.length >= 50, 10_000, '50 items');
  const cdp = await browser.context.newCDPSession(follower.page);
  await cdp.send('Storage.clearDataForOrigin', { origin: server.origin, storageTypes: 'indexeddb' });
  await sleep(300);
  await follower.page.evaluate(async () => {
    for (let i = 50; i < 60; i++) window.bus.publish('work.item', i);
    await window.link.persisted();
  });
  const drained = await follower.page.evaluate(() => Promise.race([window.link.drained().then(() => true), new Promise((r) => setTimeout(() => r(false), 5000))]));
  await sleep(2500);
  const got = node.got.map((m) => m.payload).filter((p) => p >= 50);
  const m = await follower.page.evaluate(() => window.link.metrics());
  if (process.env.DEBUG_TABS) console.log(`after clearing: follower drained ${drained}, outbox ${m.outbox}, storeErrors ${m.storeErrors}, lastError ${m.lastError}; Node got ${JSON.stringify(got)}`);
  await closeAll(tabs);
  assert.deepEqual(got, Array.from({ length: 10 }, (_, i) => 50 + i));
});

test('two pages of one group with different `subscribe` each get what they subscribed to, and only that', async () => {
  const prefix = uniquePrefix();
  const node = await nodeSide({ prefix, publish: ['news.*', 'orders.*'] });
  const base = { url: broker.wsUrl, prefix, tabs: { channel: prefix } };
  const [a] = await openTabs(1, { ...base, subscribe: ['news.*'] }, ['news.*', 'orders.*']);
  const [b] = await openTabs(1, { ...base, subscribe: ['orders.*'] }, ['news.*', 'orders.*']);
  assert.equal(await a.page.evaluate(() => window.link.leader), true, 'the first page leads');
  await sleep(300);
  node.bus.publish('news.flash', 1);
  node.bus.publish('orders.new', 2);
  await sleep(1500);
  const gotA = await pageGot(a);
  const gotB = await pageGot(b);
  if (process.env.DEBUG_TABS) console.log('page A (news.*) got', JSON.stringify(gotA), '; page B (orders.*) got', JSON.stringify(gotB));
  await closeAll([a, b]);
  assert.deepEqual(gotA, [['news.flash', 1]]);
  assert.deepEqual(gotB, [['orders.new', 2]]);
});
