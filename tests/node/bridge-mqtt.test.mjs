// switchyard/bridge connectMqtt, Node ↔ Node through a real mosquitto (tests/node/helpers/mosquitto.mjs):
// patterns both ways, the outbox across a broker outage, no loops, forged and oversized
// messages dropped and counted, refusals dead-lettered, the outbox bounded.

import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import mqtt from 'mqtt';
import { importBridge } from './helpers/bridge.mjs';
import { startBroker } from './helpers/mosquitto.mjs';
import { until } from '../helpers/poll.mjs';

const { EventBus, SwitchyardError, connectMqtt: connect } = await importBridge();

// Every link a test opens is closed after the file, also when an assertion failed (an open link
// keeps reconnecting, and so keeps the process alive).
const links = new Set();
async function connectMqtt(bus, options) {
  const link = await connect(bus, options);
  links.add(link);
  return link;
}

const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

let broker;
before(async () => {
  broker = await startBroker();
});
after(async () => {
  await Promise.all([...links].map((link) => link.close()));
  await broker?.stop();
});

const fast = { backoff: { initialMs: 20, maxMs: 200 }, outbox: { store: 'memory' } };
let n = 0;
const uniquePrefix = () => `t${process.pid}x${++n}`;

/** A bus and its link; collects what arrives on `collect` patterns. */
async function side(options, collect = []) {
  const bus = new EventBus({ capacity: 100_000 });
  const got = [];
  for (const pattern of collect) bus.subscribe(pattern, (payload, meta) => got.push({ topic: meta.topic, payload, headers: meta.headers, origin: meta.origin, correlationId: meta.correlationId }));
  const link = await connectMqtt(bus, { url: broker.wsUrl, ...fast, ...options });
  await link.connected();
  return { bus, link, got };
}

test('bus topics published on one side arrive on the other through the broker, patterns both ways', async () => {
  const prefix = uniquePrefix();
  const a = await side({ prefix, publish: ['order.**'], subscribe: ['price.*'] }, ['price.**']);
  const b = await side({ prefix, publish: ['price.*'], subscribe: ['order.*.created'] }, ['order.**']);
  await sleep(100); // SUBACKs
  a.bus.publish('order.7.created', { id: 7, items: ['x'] });
  a.bus.publish('order.7.paid', { id: 7 }); // B does not subscribe to it
  b.bus.publish('price.eur', 1.25);
  b.bus.publish('price.eur.old', 1); // not in B's publish patterns
  await until(() => b.got.length >= 1 && a.got.length >= 1, 5000, 'both directions');
  await sleep(200);
  assert.deepEqual(b.got.map((m) => [m.topic, m.payload]), [['order.7.created', { id: 7, items: ['x'] }]]);
  assert.deepEqual(a.got.map((m) => [m.topic, m.payload]), [['price.eur', 1.25]]);
  assert.equal(a.link.metrics().acked, 2);
  assert.equal(b.link.metrics().delivered, 1);
  await a.link.close();
  await b.link.close();
});

test('a received message carries its origin, headers and correlation id as meta on the receiving bus', async () => {
  const prefix = uniquePrefix();
  const a = await side({ prefix, publish: ['**'] });
  const b = await side({ prefix, subscribe: ['**'] }, ['**']);
  await sleep(100);
  a.bus.publish('noise', 0);
  const sent = a.bus.publish('user.created', { name: 'Ada' }, { headers: { tenant: 'acme' }, correlationId: 'req-1' });
  await until(() => b.got.length === 2, 5000, 'two messages');
  const got = b.got[1];
  assert.equal(got.topic, 'user.created');
  assert.deepEqual(got.headers, { tenant: 'acme' });
  assert.equal(got.correlationId, 'req-1');
  assert.equal(got.origin.id, sent.id);
  assert.equal(got.origin.seq, sent.seq);
  assert.equal(got.origin.hops, 1);
  assert.equal(got.origin.realm, b.got[0].origin.realm, 'one realm per sending bus');
  await a.link.close();
  await b.link.close();
});

test('a ** before the last segment is filtered locally on the receiving side', async () => {
  const prefix = uniquePrefix();
  const a = await side({ prefix, publish: ['**'] });
  const b = await side({ prefix, subscribe: ['job.**.failed'] }, ['**']);
  await sleep(100);
  for (const topic of ['job.failed', 'job.x.y.failed', 'job.x.done', 'other.failed']) a.bus.publish(topic, topic);
  await until(() => b.link.metrics().received >= 3, 5000, 'three job.** messages');
  await sleep(100);
  assert.deepEqual(b.got.map((m) => m.topic), ['job.failed', 'job.x.y.failed']);
  assert.equal(b.link.metrics().dropped.filtered, 1);
  await a.link.close();
  await b.link.close();
});

test('a bus pattern with a segment MQTT reads differently is refused before anything starts', async () => {
  const bus = new EventBus();
  for (const [options, code] of [
    [{ publish: ['a.b/c'] }, 'E_INVALID_PATTERN'],
    [{ subscribe: ['a.#'] }, 'E_INVALID_PATTERN'],
    [{ subscribe: ['$SYS.**'] }, 'E_INVALID_PATTERN'],
    [{ prefix: 'a/+' }, 'E_INVALID_OPTION'],
    [{ nope: 1 }, 'E_INVALID_OPTION'],
    [{ url: 'http://x' }, 'E_INVALID_OPTION'],
    [{ publish: ['ok.*', 'bad..pattern'] }, 'E_INVALID_PATTERN'], // the bus refuses the second: the first is undone
  ]) {
    await assert.rejects(connectMqtt(bus, { url: broker.wsUrl, ...options }), (error) => error instanceof SwitchyardError && error.code === code);
  }
  assert.equal(bus.subscriptions().length, 0, 'nothing subscribed');
});

test('a published topic or payload that cannot travel fails its bus delivery and becomes a bus dead letter', async () => {
  const prefix = uniquePrefix();
  const a = await side({ prefix, publish: ['**'] });
  a.bus.publish('a.b+c', 1);
  a.bus.publish('a.big', 10n);
  a.bus.publish('a.map', new Map([[1, 2]])); // JSON would send {}
  a.bus.publish('a.nan', { x: NaN }); // JSON would send null
  await a.bus.idle();
  const dead = a.bus.deadLetters();
  assert.deepEqual(dead.map((d) => d.topic).sort(), ['a.b+c', 'a.big', 'a.map', 'a.nan']);
  assert.match(dead.find((d) => d.topic === 'a.map').lastError, /is a Map, which JSON does not keep/);
  assert.match(dead.find((d) => d.topic === 'a.nan').lastError, /payload\.x is NaN/);
  assert.match(dead.find((d) => d.topic === 'a.b+c').lastError, /segment 'b\+c' holds '\+'/);
  assert.match(dead.find((d) => d.topic === 'a.big').lastError, /BigInt/);
  assert.equal(a.link.metrics().outbox, 0);
  await a.link.close();
});

test('1 000 messages in the outbox while the broker is down all arrive after it restarts, none twice', async () => {
  const prefix = uniquePrefix();
  const receiver = await side({ prefix, subscribe: ['load.*'], clientId: `recv-${prefix}` }, ['load.*']);
  const sender = await side({ prefix, publish: ['load.*'], clientId: `send-${prefix}` });
  await sleep(200); // the receiver's SUBACK, so its persistent session holds the subscription
  await broker.stop();
  await until(() => sender.link.state !== 'connected' && receiver.link.state !== 'connected', 5000, 'links to notice');
  for (let i = 0; i < 1000; i++) sender.bus.publish('load.item', i);
  assert.equal(sender.link.metrics().outbox, 1000);
  await broker.start();
  await until(() => receiver.got.length >= 1000, 30_000, '1000 messages');
  await sender.link.drained();
  await sleep(300);
  const values = receiver.got.map((m) => m.payload);
  assert.equal(values.length, 1000, 'none twice');
  assert.deepEqual([...values].sort((x, y) => x - y), Array.from({ length: 1000 }, (_, i) => i));
  assert.deepEqual(values, Array.from({ length: 1000 }, (_, i) => i), 'in publish order');
  assert.ok(sender.link.metrics().reconnects >= 1);
  await sender.link.close();
  await receiver.link.close();
});

test('in-flight messages of a lost socket are sent again and the receiver drops the second copy by id', async () => {
  const prefix = uniquePrefix();
  const receiver = await side({ prefix, subscribe: ['x'] }, ['x']);
  const sender = await side({ prefix, publish: ['x'] });
  await sleep(100);
  // Publish a burst and kill the broker while PUBACKs are outstanding; then restart.
  for (let i = 0; i < 300; i++) sender.bus.publish('x', i);
  await broker.stop();
  await broker.start();
  await sender.link.drained();
  await until(() => receiver.got.length >= 300, 5_000, '300 messages').catch((e) => { console.log(receiver.got.length, JSON.stringify(receiver.link.metrics()), JSON.stringify(sender.link.metrics())); throw e; });
  await sleep(300);
  assert.equal(receiver.got.length, 300);
  assert.equal(new Set(receiver.got.map((m) => m.payload)).size, 300);
  await sender.link.close();
  await receiver.link.close();
});

test('two bridges of one bus on one broker do not loop: each drops the other copy as its own bus message', async () => {
  const prefix = uniquePrefix();
  const bus = new EventBus();
  const seen = [];
  bus.subscribe('**', (payload, meta) => seen.push(meta.topic));
  const one = await connectMqtt(bus, { url: broker.wsUrl, prefix, publish: ['**'], subscribe: ['**'], ...fast });
  const two = await connectMqtt(bus, { url: broker.wsUrl, prefix, publish: ['**'], subscribe: ['**'], ...fast });
  const far = await side({ prefix, subscribe: ['**'], publish: ['**'] }, ['**']);
  await Promise.all([one.connected(), two.connected()]);
  await sleep(150);
  bus.publish('ping', 1);
  await sleep(600);
  assert.deepEqual(seen, ['ping'], 'the bus saw its own message once and nothing came back');
  assert.deepEqual(far.got.map((m) => m.topic), ['ping'], 'a third bus got one copy');
  assert.equal(far.link.metrics().duplicates, 1, 'the second bridge copy was a duplicate by id');
  assert.equal(one.metrics().dropped.echo + two.metrics().dropped.echo, 2, 'each bridge dropped the other one copy');
  assert.equal(one.metrics().sent + two.metrics().sent, 2, 'nothing was sent again');
  await Promise.all([one.close(), two.close(), far.link.close()]);
});

test('a message crossing bridges stops at the hop limit', async () => {
  const p1 = uniquePrefix();
  const p2 = uniquePrefix();
  // bus A → p1 → bus B → p2 → bus C; B's bridge to p2 allows one hop.
  const a = await side({ prefix: p1, publish: ['**'] });
  const bus = new EventBus();
  const b1 = await connectMqtt(bus, { url: broker.wsUrl, prefix: p1, subscribe: ['**'], ...fast });
  const b2 = await connectMqtt(bus, { url: broker.wsUrl, prefix: p2, publish: ['**'], hopLimit: 2, ...fast });
  const c = await side({ prefix: p2, subscribe: ['**'] }, ['**']);
  await Promise.all([b1.connected(), b2.connected()]);
  await sleep(150);
  a.bus.publish('hop', 1);
  await until(() => c.got.length === 1, 5000, 'one hop');
  assert.equal(c.got[0].origin.hops, 2, 'C sees it two links from its origin');
  await b2.close();
  const b2strict = await connectMqtt(bus, { url: broker.wsUrl, prefix: p2, publish: ['**'], hopLimit: 1, ...fast });
  await b2strict.connected();
  a.bus.publish('hop', 2);
  await until(() => b2strict.metrics().dropped.hopLimit === 1, 5000, 'the hop limit');
  await sleep(200);
  assert.equal(c.got.length, 1);
  await Promise.all([a.link.close(), b1.close(), b2strict.close(), c.link.close()]);
});

test('forged, oversized and malformed messages from the broker are dropped and counted, never thrown into the bus', async () => {
  const prefix = uniquePrefix();
  const b = await side({ prefix, subscribe: ['**'], maxMessageBytes: 1000 }, ['**']);
  await sleep(100);
  const raw = mqtt.connect(broker.tcpUrl, { protocolVersion: 5, reconnectPeriod: 0 });
  await new Promise((r) => raw.on('connect', r));
  const props = (sy) => ({ properties: { userProperties: { sy } }, qos: 1 });
  const pub = (topic, body, opts) => new Promise((r) => raw.publish(topic, body, opts, r));
  await pub(`${prefix}/a`, '1', props('')); // an sy property that says nothing
  await pub(`${prefix}/a`, '1', props('x rz 1 1')); // hops not a number
  await pub(`${prefix}/a`, '1', props('1 bad!realm 1 1'));
  await pub(`${prefix}/a`, 'x'.repeat(2000), props('1 rz 2 1'));
  await pub(`${prefix}/a`, '{nope', props('1 rz 3 1'));
  await pub(`${prefix}/a.b`, '1', props('1 rz 4 1'));
  await pub(`${prefix}/${Array.from({ length: 40 }, () => 'a').join('/')}`, '1', props('1 rz 6 1')); // > 32 levels
  await pub(`${prefix}/ok`, '"fine"', props('1 rz 5 1'));
  await until(() => b.got.length === 1, 5000, 'the good one');
  const m = b.link.metrics();
  assert.deepEqual({ forged: m.dropped.forged, oversized: m.dropped.oversized, malformed: m.dropped.malformed }, { forged: 3, oversized: 1, malformed: 3 });
  assert.deepEqual(b.got.map((x) => [x.topic, x.payload]), [['ok', 'fine']]);
  assert.equal(b.link.state, 'connected');
  raw.end(true);
  await b.link.close();
});

test('a message the broker refuses is retried, then becomes a dead letter with the reason', async () => {
  const strict = await startBroker({ acl: 'topic readwrite sy/ok/#\ntopic read sy/#\n' });
  try {
    const bus = new EventBus();
    const letters = [];
    const link = await connectMqtt(bus, {
      url: strict.wsUrl,
      prefix: 'sy',
      publish: ['**'],
      retry: { attempts: 3 },
      ...fast,
      onDeadLetter: (l) => letters.push(l),
    });
    await link.connected();
    bus.publish('ok.fine', 1);
    bus.publish('denied.topic', { x: 1 });
    await link.drained();
    const m = link.metrics();
    assert.equal(m.acked, 1);
    assert.equal(m.refused, 3);
    assert.equal(m.deadLettered, 1);
    const [letter] = link.deadLetters();
    assert.equal(letter.topic, 'denied.topic');
    assert.deepEqual(letter.payload, { x: 1 });
    assert.equal(letter.reason, 'refused');
    assert.equal(letter.attempts, 3);
    assert.match(letter.lastError, /Not authorized.*reason code 135/);
    assert.deepEqual(letters, [letter]);
    await link.close();
  } finally {
    await strict.stop();
  }
});

test('a record the broker refuses once is retried before the later records of its topic, which wait for it', async () => {
  const prefix = uniquePrefix();
  const receiver = await side({ prefix, subscribe: ['q.*'] }, ['q.*']);
  // mqtt.js, except that the first PUBLISH of payload 0 is answered as a broker's "Quota exceeded".
  let refusedOnce = false;
  const refusingOnce = {
    connect(url, options) {
      const client = mqtt.connect(url, options);
      const publish = client.publish.bind(client);
      client.publish = (topic, body, opts, callback) => {
        if (!refusedOnce && body === '0') {
          refusedOnce = true;
          setTimeout(() => callback(Object.assign(new Error('Quota exceeded'), { code: 0x97 })), 5);
          return client;
        }
        return publish(topic, body, opts, callback);
      };
      return client;
    },
  };
  const sender = await side({ prefix, publish: ['q.*'], mqtt: refusingOnce, backoff: { initialMs: 400, maxMs: 400, jitter: 0 } });
  await sleep(100); // SUBACK
  sender.bus.publish('q.a', 0);
  await until(() => sender.link.metrics().refused === 1, 2000, 'the refusal');
  for (let i = 1; i < 5; i++) sender.bus.publish('q.a', i);
  sender.bus.publish('q.b', 'other'); // another topic does not wait
  await until(() => receiver.got.length >= 6, 5000, 'six messages');
  assert.deepEqual(receiver.got.filter((m) => m.topic === 'q.a').map((m) => m.payload), [0, 1, 2, 3, 4], 'publish order kept on the topic');
  assert.equal(receiver.got[0].topic, 'q.b', 'the other topic went first');
  assert.equal(sender.link.metrics().retried, 1);
  await sender.link.close();
  await receiver.link.close();
});

test('records that cannot be sent while the broker is unreachable become expired dead letters after retry.maxAgeMs', async () => {
  const prefix = uniquePrefix();
  const bus = new EventBus();
  const letters = [];
  const link = await connectMqtt(bus, {
    url: 'ws://127.0.0.1:1',
    prefix,
    publish: ['q'],
    retry: { maxAgeMs: 150 },
    ...fast,
    onDeadLetter: (letter) => letters.push(letter),
  });
  bus.publish('q', 1);
  bus.publish('q', 2);
  assert.equal(link.metrics().outbox, 2);
  await until(() => letters.length === 2, 3000, 'two dead letters');
  assert.notEqual(link.state, 'connected');
  assert.deepEqual(letters.map((l) => [l.payload, l.reason]), [[1, 'expired'], [2, 'expired']]);
  assert.match(letters[0].lastError, /retry\.maxAgeMs \(150 ms\) while the broker was unreachable/);
  assert.equal(link.metrics().outbox, 0);
  assert.equal(link.metrics().deadLettered, 2);
  await link.drained();
  await link.close();
});

test('the outbox is bounded: when full, the bridge subscription queues, then applies its overflow policy', async () => {
  const prefix = uniquePrefix();
  const bus = new EventBus();
  const link = await connectMqtt(bus, { url: 'ws://127.0.0.1:1', prefix, publish: ['q'], outbox: { capacity: 10, store: 'memory' }, capacity: 5, overflow: 'reject', backoff: { initialMs: 60_000 } });
  for (let i = 0; i < 15; i++) bus.publish('q', i);
  assert.equal(link.metrics().outbox, 10);
  assert.throws(() => bus.publish('q', 15), (error) => error.code === 'E_BACKPRESSURE');
  assert.equal(link.metrics().waitingForRoom, 5);
  await link.close();
});

test('reconnect delays grow exponentially with jitter and reset after a connect', async () => {
  const prefix = uniquePrefix();
  const bus = new EventBus();
  const down = await startBroker();
  await down.stop();
  const link = await connectMqtt(bus, { url: down.wsUrl, prefix, publish: ['q'], outbox: { store: 'memory' }, backoff: { initialMs: 40, maxMs: 320, factor: 2, jitter: 0.5 }, connectTimeoutMs: 500 });
  const started = Date.now();
  await until(() => link.metrics().reconnects >= 5, 10_000, 'five failed attempts');
  const elapsed = Date.now() - started;
  // Delays drawn from [d/2, d] for d = 40, 80, 160, 320: between 300 and 600 ms of waiting, plus the attempts.
  assert.ok(elapsed >= 280, `elapsed ${elapsed} ms`);
  await down.start();
  await link.connected();
  assert.equal(link.state, 'connected');
  await link.close();
  await down.stop();
});

test('an outbox store that is slow or fails does not hold publishers back or lose messages', async () => {
  const prefix = uniquePrefix();
  const receiver = await side({ prefix, subscribe: ['log.*'] }, ['log.*']);
  let writes = 0;
  const store = {
    kind: 'slow-failing',
    open: async () => ({ records: [], clientId: null }),
    write: () => new Promise((resolve, reject) => setTimeout(() => (++writes === 1 ? reject(new Error('quota')) : resolve()), 5)),
    remove: () => {},
    saveClientId: () => {},
    close: () => {},
  };
  const bus = new EventBus({ retry: { attempts: 3 } }); // default capacity 1024
  const link = await connectMqtt(bus, { url: broker.wsUrl, prefix, publish: ['log.*'], outbox: { store }, backoff: { initialMs: 20, maxMs: 200 } });
  await link.connected();
  await sleep(100);
  for (let i = 0; i < 2000; i++) bus.publish('log.line', i); // one task, more than the bus capacity
  await link.persisted();
  assert.equal(link.metrics().storeErrors, 1);
  await until(() => receiver.got.length >= 2000, 15_000, '2000 lines');
  assert.deepEqual(receiver.got.map((m) => m.payload), Array.from({ length: 2000 }, (_, i) => i));
  assert.deepEqual(bus.deadLetters(), []);
});

test('a record larger than the broker\'s Maximum Packet Size is dead-lettered instead of blocking the outbox', async () => {
  const small = await startBroker({ extra: ['max_packet_size 2000'] });
  try {
    const prefix = uniquePrefix();
    const bus = new EventBus();
    const link = await connectMqtt(bus, { url: small.wsUrl, prefix, publish: ['p'], ...fast });
    await link.connected();
    bus.publish('p', 'x'.repeat(3000));
    bus.publish('p', 'small');
    await link.drained();
    assert.equal(link.metrics().acked, 1);
    const [letter] = link.deadLetters();
    assert.equal(letter.reason, 'refused');
    assert.match(letter.lastError, /Maximum Packet Size \(2000 bytes\)/);
    assert.equal(link.metrics().connects, 1, 'no reconnect storm');
  } finally {
    await small.stop();
  }
});

test('a link whose bus was closed stops at the next message instead of consuming the session', async () => {
  const prefix = uniquePrefix();
  const b = await side({ prefix, subscribe: ['**'] }, ['**']);
  const a = await side({ prefix, publish: ['**'] });
  await sleep(100);
  b.bus.close();
  a.bus.publish('after', 1);
  await until(() => b.link.state === 'closed', 5000, 'the link to close');
  assert.equal(b.link.metrics().dropped.rejected, 0);
});

test('close() waits for the PUBACKs of what is in flight and removes those records from the store', async () => {
  const prefix = uniquePrefix();
  const receiver = await side({ prefix, subscribe: ['c'] }, ['c']);
  const stored = new Map();
  const store = {
    kind: 'map',
    open: async () => ({ records: [], clientId: null }),
    write: async (records) => records.forEach((r) => stored.set(r.key, r)),
    remove: async (keys) => keys.forEach((k) => stored.delete(k)),
    saveClientId: () => {},
    close: () => {},
  };
  const bus = new EventBus();
  const link = await connectMqtt(bus, { url: broker.wsUrl, prefix, publish: ['c'], outbox: { store }, backoff: { initialMs: 20, maxMs: 200 } });
  await link.connected();
  await sleep(100);
  for (let i = 0; i < 500; i++) bus.publish('c', i);
  await link.persisted();
  await link.close();
  await sleep(500);
  const received = new Set(receiver.got.map((m) => m.payload));
  const leftover = [...stored.values()].map((r) => JSON.parse(r.body)).filter((n) => received.has(n));
  assert.deepEqual(leftover, [], 'no record the broker acknowledged stays in the store (it would be sent again after a restart)');
  assert.equal(stored.size + link.metrics().acked, 500);
});

test('messages from MQTT clients that are not bridges are delivered with an origin of their own, and never sent to a broker again', async () => {
  const prefix = uniquePrefix();
  const b = await side({ prefix, subscribe: ['sensor.**'], publish: ['sensor.**'] }, ['sensor.**']);
  const c = await side({ prefix, subscribe: ['sensor.**'] }, ['sensor.**']);
  await sleep(100);
  const raw = mqtt.connect(broker.tcpUrl, { protocolVersion: 5, reconnectPeriod: 0 });
  await new Promise((r) => raw.on('connect', r));
  const heard = [];
  raw.on('message', (topic, body) => heard.push([topic, body.toString()]));
  await new Promise((r) => raw.subscribe(`${prefix}/#`, { qos: 1 }, r));
  const pub = (topic, body) => new Promise((r) => raw.publish(topic, body, { qos: 1 }, r));
  await pub(`${prefix}/sensor/temp`, '21.5'); // JSON
  await pub(`${prefix}/sensor/door`, 'open'); // not JSON: the bytes
  await until(() => b.got.length === 2 && c.got.length === 2, 5000, 'both foreign messages at both bridges');
  await sleep(300); // time for a wrongly forwarded copy to come round
  assert.deepEqual(b.got[0].payload, 21.5);
  assert.ok(b.got[1].payload instanceof Uint8Array, 'a payload that is not JSON arrives as its bytes');
  assert.equal(new TextDecoder().decode(b.got[1].payload), 'open');
  const realm = b.got[0].origin.realm;
  assert.match(realm, /^mqtt:/);
  assert.deepEqual(b.got.map((m) => [m.topic, m.origin.id, m.origin.hops]), [['sensor.temp', 1, 1], ['sensor.door', 2, 1]]);
  assert.equal(b.link.metrics().foreign, 2);
  // B publishes sensor.** to the broker, but not what came from it: the plain client and C heard
  // each message once.
  assert.equal(heard.length, 2, `the plain client heard ${JSON.stringify(heard)}`);
  assert.equal(c.got.length, 2);
  assert.equal(b.link.metrics().written, 0);
  raw.end(true);
  await Promise.all([b.link.close(), c.link.close()]);
});

test("foreign: 'drop' drops messages from MQTT clients that are not bridges, and counts them", async () => {
  const prefix = uniquePrefix();
  const b = await side({ prefix, subscribe: ['**'], foreign: 'drop' }, ['**']);
  await sleep(100);
  const raw = mqtt.connect(broker.tcpUrl, { protocolVersion: 5, reconnectPeriod: 0 });
  await new Promise((r) => raw.on('connect', r));
  await new Promise((r) => raw.publish(`${prefix}/a`, '1', { qos: 1 }, r));
  await new Promise((r) => raw.publish(`${prefix}/b`, '"ok"', { qos: 1, properties: { userProperties: { sy: '1 rz 5 1' } } }, r));
  await until(() => b.got.length === 1, 5000, 'the bridged one');
  assert.equal(b.link.metrics().dropped.foreign, 1);
  assert.deepEqual(b.got.map((m) => m.topic), ['b']);
  raw.end(true);
  await b.link.close();
});
