// Bridge links in the visualiser (issues 16 and 17): a link registers itself with the bus it
// serves, and the attach protocol's `state.links` (docs/ATTACH_PROTOCOL.md) carries each open
// link with the documented fields, read when a viewer looks; a closed link leaves the list at
// once. Bridged messages carry their realm in the trace columns' `origins`, which the visualiser
// shows as publishers. MQTT links show their state, outbox, in flight, round-trip time,
// reconnects and duplicates, through a real mosquitto (tests/node/helpers/mosquitto.mjs).

import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { after, before, test } from 'node:test';

import { importBridge } from './helpers/bridge.mjs';
import { startBroker } from './helpers/mosquitto.mjs';
import { until } from '../helpers/poll.mjs';

const { EventBus, shareTopics, linkPort, connectMqtt } = await importBridge();

const closers = [];
let broker;
before(async () => {
  broker = await startBroker();
});
after(async () => {
  for (const close of closers.reverse()) await close();
  await broker?.stop();
});

/** Every field of a `links[]` entry, as docs/ATTACH_PROTOCOL.md lists them. */
const LINK_FIELDS = [
  'deadLettered', 'dropped', 'duplicates', 'gaps', 'id', 'inFlight', 'kind', 'lastError', 'metrics', 'missed',
  'name', 'peers', 'queued', 'realm', 'received', 'reconnects', 'remotes', 'rttP50Ms', 'rttP99Ms', 'sent', 'state', 'topics',
].sort();

/**
 * A viewer attached to `bus` over a port: `frames` collects what the bus sends; `state()` waits
 * for the next frame carrying a state that `accept`s.
 */
function attach(bus) {
  const { port1, port2 } = new MessageChannel();
  const stop = bus.expose(port1);
  const frames = [];
  const waiting = new Set();
  port2.onmessage = ({ data }) => {
    if (data.type !== 'frame') return;
    frames.push(data);
    for (const w of waiting) w(data);
  };
  const viewer = `v-${randomUUID()}`;
  const hello = () => port2.postMessage({ v: 1, type: 'hello', viewer, accept: ['columns'] });
  hello();
  const ping = setInterval(() => port2.postMessage({ v: 1, type: 'ping', viewer, accept: ['columns'] }), 1000);
  const close = () => {
    clearInterval(ping);
    stop();
    port2.close();
  };
  closers.push(close);
  return {
    frames,
    close,
    state(accept = () => true, within = 5000) {
      return new Promise((resolve, reject) => {
        const timer = setTimeout(() => {
          waiting.delete(check);
          reject(new Error(`no frame whose state matched within ${within} ms; last: ${JSON.stringify(frames.at(-1)?.state?.links)}`));
        }, within);
        const check = (frame) => {
          if (frame.state !== undefined && accept(frame.state)) {
            clearTimeout(timer);
            waiting.delete(check);
            resolve(frame.state);
          }
        };
        waiting.add(check);
      });
    },
  };
}

test('a shareTopics link shows in the attach state with every documented field, and its peers as remotes', async () => {
  const channel = `devtools-${randomUUID()}`;
  const a = new EventBus();
  const b = new EventBus();
  const linkA = shareTopics(a, { channel, topics: ['cart.**'], heartbeatMs: 40, realm: 'realm-a' });
  const linkB = shareTopics(b, { channel, topics: ['cart.**'], heartbeatMs: 40, realm: 'realm-b' });
  closers.push(() => linkA.close(), () => linkB.close());
  const viewer = attach(a);
  await until(() => linkA.metrics().peers === 1 && linkB.metrics().peers === 1, 5000, 'the realms hear each other');
  b.publish('cart.add', { sku: 1 });
  const state = await viewer.state((s) => s.links.length === 1 && s.links[0].received === 1 && s.links[0].peers === 1);
  const [link] = state.links;
  assert.deepEqual(Object.keys(link).sort(), LINK_FIELDS);
  assert.equal(link.kind, 'tabs');
  assert.equal(link.name, `tabs:${channel}`);
  assert.equal(link.realm, 'realm-a');
  assert.ok(['leader', 'follower'].includes(link.state), link.state);
  assert.equal(link.state, linkA.state);
  assert.deepEqual(link.topics, ['cart.**']);
  assert.deepEqual(link.remotes, ['realm-b']);
  assert.equal(link.sent, 0);
  assert.equal(link.queued, 0);
  assert.equal(link.dropped, 0);
  assert.equal(link.gaps, 0);
  assert.equal(link.missed, 0);
  // What only an MQTT link has is null here.
  for (const key of ['inFlight', 'rttP50Ms', 'rttP99Ms', 'reconnects', 'deadLettered', 'lastError']) assert.equal(link[key], null, key);
  assert.deepEqual(Object.keys(link.metrics).sort(), Object.keys(linkA.metrics()).sort());
  // The bridged message's realm rides in the trace columns, for the topology's publishers.
  const origins = viewer.frames.flatMap((f) => f.columns?.origins ?? []);
  assert.ok(origins.some((o) => o.realm === 'realm-b'), `origins: ${JSON.stringify(origins)}`);
});

test('one realm leads and the other follows, as each bus shows its link', async () => {
  const channel = `devtools-${randomUUID()}`;
  const a = new EventBus();
  const b = new EventBus();
  const linkA = shareTopics(a, { channel, topics: ['x.*'], heartbeatMs: 40 });
  const linkB = shareTopics(b, { channel, topics: ['x.*'], heartbeatMs: 40 });
  closers.push(() => linkA.close(), () => linkB.close());
  const va = attach(a);
  const vb = attach(b);
  const [sa, sb] = await Promise.all([
    va.state((s) => s.links[0]?.state === 'leader' || (s.links[0]?.state === 'follower' && s.links[0].peers === 1)),
    vb.state((s) => s.links[0]?.state === 'leader' || (s.links[0]?.state === 'follower' && s.links[0].peers === 1)),
  ]);
  await until(() => new Set([linkA.state, linkB.state]).size === 2, 5000, 'one leader, one follower');
  const [fa, fb] = await Promise.all([va.state((s) => s.links[0]?.state === linkA.state), vb.state((s) => s.links[0]?.state === linkB.state)]);
  assert.deepEqual([fa.links[0].state, fb.links[0].state].sort(), ['follower', 'leader']);
  assert.ok(sa && sb);
});

test('a closed link leaves the attach state at once, without a publish', async () => {
  const a = new EventBus();
  const { port1, port2 } = new MessageChannel();
  const b = new EventBus();
  const linkA = linkPort(a, port1, { topics: ['job.*'], realm: 'page' });
  const linkB = linkPort(b, port2, { topics: ['job.*'], realm: 'worker' });
  closers.push(() => linkB.close(), () => port1.close(), () => port2.close());
  const viewer = attach(a);
  b.publish('job.done', 1);
  const open = await viewer.state((s) => s.links.length === 1 && s.links[0].received === 1);
  assert.equal(open.links[0].kind, 'port');
  assert.equal(open.links[0].name, 'port');
  assert.equal(open.links[0].state, 'follower');
  assert.deepEqual(open.links[0].remotes, ['worker']);
  const before = viewer.frames.length;
  linkA.close();
  const closed = await viewer.state((s) => s.links.length === 0, 2000);
  assert.deepEqual(closed.links, []);
  assert.ok(viewer.frames.length > before);
});

test('two links on one bus show as two entries with distinct ids; a bus without links sends links: []', async () => {
  const bus = new EventBus();
  const viewer = attach(bus);
  const empty = await viewer.state();
  assert.deepEqual(empty.links, []);
  const one = shareTopics(bus, { channel: `devtools-${randomUUID()}`, topics: ['a.*'], heartbeatMs: 40 });
  const two = shareTopics(bus, { channel: `devtools-${randomUUID()}`, topics: ['b.*'], heartbeatMs: 40 });
  closers.push(() => one.close(), () => two.close());
  const state = await viewer.state((s) => s.links.length === 2);
  assert.notEqual(state.links[0].id, state.links[1].id);
  assert.deepEqual(state.links.map((l) => l.topics[0]).sort(), ['a.*', 'b.*']);
});

test('an MQTT link shows its state, outbox, in flight, round-trip time, reconnects and duplicates, never its credentials', async () => {
  const bus = new EventBus();
  const url = new URL(broker.wsUrl);
  url.username = 'alice';
  url.password = 's3cret';
  url.search = '?token=t0ken';
  const prefix = `dt${process.pid}x${randomUUID().slice(0, 8)}`;
  const link = await connectMqtt(bus, {
    url: url.href,
    prefix,
    publish: ['order.**'],
    subscribe: ['price.*'],
    outbox: { store: 'memory' },
    backoff: { initialMs: 20, maxMs: 200 },
  });
  closers.push(() => link.close());
  await link.connected();
  const viewer = attach(bus);
  for (let i = 0; i < 5; i++) bus.publish('order.created', { i });
  await link.drained();
  const state = await viewer.state((s) => s.links[0]?.sent === 5 && s.links[0]?.rttP50Ms !== null);
  const [view] = state.links;
  assert.deepEqual(Object.keys(view).sort(), LINK_FIELDS);
  assert.equal(view.kind, 'mqtt');
  assert.equal(view.state, 'connected');
  assert.equal(view.name, `mqtt:${url.protocol}//${url.host}${url.pathname === '/' ? '' : url.pathname}`);
  assert.doesNotMatch(JSON.stringify(view.name), /alice|s3cret|t0ken/);
  assert.deepEqual(view.topics, ['out order.**', 'in price.*']);
  assert.equal(view.queued, 0);
  assert.equal(view.inFlight, 0);
  assert.equal(typeof view.rttP50Ms, 'number');
  assert.equal(typeof view.rttP99Ms, 'number');
  assert.equal(view.reconnects, 0);
  assert.equal(view.duplicates, 0);
  assert.equal(view.deadLettered, 0);
  assert.equal(view.gaps, null);
  assert.equal(view.peers, null);
  assert.equal(view.metrics.clientId, link.clientId);
  // (Waited for from before the close: the close itself awaits the broker.)
  const gone = viewer.state((s) => s.links.length === 0, 5000);
  await link.close();
  assert.deepEqual((await gone).links, []);
});

test('while a viewer watches, an MQTT link whose outbox drains without a publish shows the drained outbox', async () => {
  const bus = new EventBus();
  const prefix = `dt${process.pid}y${randomUUID().slice(0, 8)}`;
  // The broker is stopped while messages wait: the outbox fills with no one to send them to.
  const link = await connectMqtt(bus, { url: broker.wsUrl, prefix, publish: ['order.**'], outbox: { store: 'memory' }, backoff: { initialMs: 20, maxMs: 100 } });
  closers.push(() => link.close());
  await link.connected();
  const viewer = attach(bus);
  await broker.stop();
  await until(() => link.state !== 'connected', 5000, 'the link notices the broker is gone');
  for (let i = 0; i < 3; i++) bus.publish('order.created', { i });
  const waiting = await viewer.state((s) => s.links[0]?.queued === 3 && s.links[0].state !== 'connected');
  assert.ok(['waiting', 'connecting'].includes(waiting.links[0].state), waiting.links[0].state);
  await broker.start();
  // No publish happens from here on: the refresh alone brings the new state.
  const drained = await viewer.state((s) => s.links[0]?.queued === 0 && s.links[0].state === 'connected' && s.links[0].reconnects >= 1, 15_000);
  assert.equal(drained.links[0].sent >= 3, true);
});

test('a link whose view throws is left out of the state, and the other links still show', async () => {
  // The registry's source (it imports nothing), on a bus of the package: one registry per bus.
  const { registerLink } = await import('../../crates/wasm/js/bridge/registry.js');
  const bus = new EventBus();
  const viewer = attach(bus);
  const broken = registerLink(bus, () => {
    throw new Error('a broken view');
  });
  const fine = registerLink(bus, () => ({ id: 0, kind: 'port', name: 'fine' }));
  const state = await viewer.state((s) => s.links.length === 1);
  assert.equal(state.links[0].name, 'fine');
  broken.remove();
  fine.remove();
  fine.remove(); // twice: nothing more
  assert.deepEqual((await viewer.state((s) => s.links.length === 0)).links, []);
});

test('closing or refreshing a link of a freed bus throws nothing', async () => {
  const bus = new EventBus();
  const link = shareTopics(bus, { channel: `devtools-${randomUUID()}`, topics: ['a.*'], heartbeatMs: 20 });
  bus.free();
  await new Promise((r) => setTimeout(r, 600)); // past a refresh of the registry
  link.close();
  assert.equal(link.state, 'disconnected');
});

/**
 * Publishes 50 messages on a hot topic every 10 ms for `ms`, with or without an open linkPort
 * and no viewer; counts the fast path's route refills and the registry's calls into the bus.
 */
async function hotTopicWithLink(withLink, ms) {
  const { MessageChannel } = await import('node:worker_threads');
  const bus = new EventBus();
  const other = new EventBus();
  const channel = new MessageChannel();
  const links = withLink ? [linkPort(bus, channel.port1, { topics: ['shared.*'] }), linkPort(other, channel.port2, { topics: ['shared.*'] })] : [];
  bus.subscribe('hot', () => {});
  const proto = Object.getPrototypeOf(bus);
  const { __inlineRoute: route, __links: tellLinks } = proto;
  let refills = 0;
  let linksCalls = 0;
  proto.__inlineRoute = function (...args) {
    if (this === bus) refills++;
    return route.apply(this, args);
  };
  proto.__links = function (...args) {
    if (this === bus) linksCalls++;
    return tellLinks.apply(this, args);
  };
  try {
    const timer = setInterval(() => {
      for (let i = 0; i < 50; i++) bus.publish('hot', i);
    }, 10);
    await new Promise((resolve) => setTimeout(resolve, ms));
    clearInterval(timer);
  } finally {
    proto.__inlineRoute = route;
    proto.__links = tellLinks;
    for (const link of links) link.close();
    channel.port1.close();
    bus.close();
    other.close();
  }
  return { refills, linksCalls };
}

test('an open link with no viewer neither touches its bus on a timer nor invalidates its cached routes', async () => {
  const without = await hotTopicWithLink(false, 2000);
  const withLink = await hotTopicWithLink(true, 2000);
  assert.ok(withLink.refills <= without.refills + 1, `route refills: ${withLink.refills} with a link, ${without.refills} without`);
  assert.equal(withLink.linksCalls, 0, 'no refresh while nobody watches');
});
