// switchyard/bridge connectMqtt on the wire: what mqtt.js writes in one turn leaves as one
// WebSocket frame (crates/wasm/js/bridge/mqtt/frames.js), and the duplicate windows forget their
// oldest key in constant time (crates/wasm/js/bridge/recent.js). Unit checks on the sources, then
// through a real mosquitto (tests/node/helpers/mosquitto.mjs).

import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { createRequire } from 'node:module';
import { execFile } from 'node:child_process';
import { join } from 'node:path';
import { Duplex } from 'node:stream';
import mqtt from 'mqtt';
import mqttPacket from 'mqtt-packet';
import { importBridge, importBridgeSource } from './helpers/bridge.mjs';
import { installDir } from './helpers/package.mjs';
import { startBroker } from './helpers/mosquitto.mjs';
import { until } from '../helpers/poll.mjs';

const { EventBus, connectMqtt: connect } = await importBridge();
const { coalesceWrites, FRAME_HIGH_WATER } = await importBridgeSource('frames.js');
const { RecentSet, RecentMap } = await importBridgeSource('../recent.js');
// The `ws` mqtt.js uses in Node (one instance: tests/node_modules).
const WebSocket = createRequire(import.meta.url)('ws');

const tick = () => new Promise((r) => setImmediate(r));

/**
 * A Duplex like `ws`'s WebSocket stream: one `_write` is one frame, acknowledged on the next tick
 * (as a socket write is). Records the frames.
 */
function frameStream({ fail = null } = {}) {
  const frames = [];
  const stream = new Duplex({
    read() {},
    write(chunk, _encoding, callback) {
      frames.push(Buffer.from(chunk));
      process.nextTick(callback, fail);
    },
    final(callback) {
      frames.push('end');
      callback();
    },
  });
  return { stream, frames };
}

/** The MQTT packets in `bytes`, parsed as a broker would. */
function parsePackets(bytes) {
  const parser = mqttPacket.parser({ protocolVersion: 5 });
  const packets = [];
  parser.on('packet', (p) => packets.push(p));
  parser.on('error', (e) => packets.push({ error: e.message }));
  parser.parse(bytes);
  return packets;
}

const publishPacket = (n) => ({
  cmd: 'publish',
  topic: `p/x/${n}`,
  payload: JSON.stringify({ n }),
  qos: 1,
  messageId: n + 1,
  properties: { userProperties: { sy: `1 realm ${n} ${n}` } },
});

test('MQTT packets written in one turn leave as one frame holding them all, in order', async () => {
  const { stream, frames } = frameStream();
  coalesceWrites(stream);
  // mqtt-packet writes each packet as several chunks, corked until the next tick (as mqtt.js does).
  for (let n = 0; n < 200; n++) mqttPacket.writeToStream(publishPacket(n), stream, { protocolVersion: 5 });
  await tick();
  assert.equal(frames.length, 1, 'one frame for 200 packets');
  const packets = parsePackets(frames[0]);
  assert.equal(packets.length, 200);
  assert.deepEqual(
    packets.map((p) => [p.topic, JSON.parse(p.payload.toString()).n, p.messageId, p.properties.userProperties.sy]),
    Array.from({ length: 200 }, (_, n) => [`p/x/${n}`, n, n + 1, `1 realm ${n} ${n}`]),
  );
});

test('without coalescing, the same stream sends a frame per chunk (what the bridge avoids)', async () => {
  const { stream, frames } = frameStream();
  for (let n = 0; n < 10; n++) mqttPacket.writeToStream(publishPacket(n), stream, { protocolVersion: 5 });
  await until(() => parsePackets(Buffer.concat(frames)).length === 10, 2000, 'the 10 packets');
  assert.ok(frames.length >= 50, `a frame per chunk (${frames.length})`);
});

test('writes of separate turns leave as separate frames, each written after the one before it', async () => {
  const { stream, frames } = frameStream();
  coalesceWrites(stream);
  stream.write(Buffer.from('ab'));
  stream.write('cd'); // text is sent as its UTF-8 bytes
  await tick();
  stream.write(Buffer.from('ef'));
  await tick();
  assert.deepEqual(frames.map((f) => f.toString()), ['abcd', 'ef']);
});

test('writes of one turn past the high-water mark wait for the frame to be sent, and nothing is lost', async () => {
  const { stream, frames } = frameStream();
  coalesceWrites(stream);
  const big = Buffer.alloc(FRAME_HIGH_WATER, 1);
  let acknowledged = 0;
  stream.write(big, () => acknowledged++);
  const more = stream.write(Buffer.from([2, 3]), () => acknowledged++);
  assert.equal(more, false, 'the stream asks the writer to wait (backpressure)');
  assert.equal(acknowledged, 0);
  await new Promise((r) => stream.once('drain', r));
  await tick();
  assert.equal(acknowledged, 2);
  const all = Buffer.concat(frames);
  assert.equal(all.length, FRAME_HIGH_WATER + 2);
  assert.deepEqual([...all.subarray(FRAME_HIGH_WATER)], [2, 3]);
});

test('ending the stream sends the gathered frame before the end', async () => {
  const { stream, frames } = frameStream();
  coalesceWrites(stream);
  stream.write(Buffer.from('last'));
  stream.end();
  await new Promise((r) => stream.once('finish', r));
  assert.deepEqual(frames.map((f) => f.toString()), ['last', 'end']);
});

test('a frame that fails destroys the stream with its error', async () => {
  const { stream } = frameStream({ fail: new Error('socket gone') });
  coalesceWrites(stream);
  const errored = new Promise((r) => stream.once('error', r));
  stream.write(Buffer.from('x'));
  assert.equal((await errored).message, 'socket gone');
  assert.equal(stream.destroyed, true);
});

test("a stream that writes a frame again through `_write` (ws's, once the socket opens) sends it once", async () => {
  const frames = [];
  let open = false;
  const waiting = [];
  const stream = new Duplex({ read() {} });
  // As `ws`'s createWebSocketStream: while connecting, write again through `_write` on open.
  stream._write = function (chunk, encoding, callback) {
    if (!open) {
      waiting.push(() => stream._write(chunk, encoding, callback));
      return;
    }
    frames.push(Buffer.from(chunk).toString());
    process.nextTick(callback);
  };
  coalesceWrites(stream);
  stream.write('conn');
  stream.write('ect');
  await tick();
  assert.deepEqual(frames, []);
  open = true;
  for (const go of waiting) go();
  await tick();
  stream.write('next');
  await tick();
  assert.deepEqual(frames, ['connect', 'next']);
});

test('a duplicate window forgets its oldest key first, and stays bounded', () => {
  const set = new RecentSet(3);
  assert.equal(set.add('a'), true);
  assert.equal(set.add('a'), false);
  set.add('b');
  set.add('c');
  set.add('d');
  assert.equal(set.size, 3);
  assert.deepEqual(['a', 'b', 'c', 'd'].map((k) => set.has(k)), [false, true, true, true]);
  set.add('e');
  assert.deepEqual(['b', 'c', 'd', 'e'].map((k) => set.has(k)), [false, true, true, true]);
});

test('a bounded map forgets its oldest key first; a deleted key set again counts as new', () => {
  const map = new RecentMap(3);
  map.set('a', 1).set('b', 2).set('c', 3);
  map.set('a', 10); // present: keeps its place
  assert.equal(map.get('a'), 10);
  map.set('d', 4);
  assert.deepEqual(['a', 'b', 'c', 'd'].map((k) => map.get(k)), [undefined, 2, 3, 4]);
  assert.equal(map.delete('b'), true);
  assert.equal(map.delete('b'), false);
  map.set('b', 20); // new again: now the newest
  map.set('e', 5);
  assert.equal(map.size, 3);
  assert.deepEqual(['b', 'c', 'd', 'e'].map((k) => map.get(k)), [20, undefined, 4, 5]);
  // Many set-and-delete rounds (the tabs bridge's `injected`) keep it small and in order (the
  // first one, four keys for a moment, forgot the oldest, 'd').
  for (let i = 0; i < 10_000; i++) {
    map.set(`x${i}`, i);
    map.delete(`x${i}`);
  }
  assert.ok(map.order.length < 200, `order compacted (${map.order.length})`);
  map.set('f', 6);
  map.set('g', 7);
  assert.equal(map.size, 3);
  assert.deepEqual(['b', 'd', 'e', 'f', 'g'].map((k) => map.get(k)), [undefined, undefined, 5, 6, 7]);
});

test('a full duplicate window forgets its oldest key in constant time', () => {
  // Dropping the first key of a Set walks the holes of earlier deletes: 300 000 adds to a
  // 65 536-key window took seconds that way (4.2 s for 200 000 here, 2026-12-06).
  for (const [name, make, add] of [
    ['RecentSet', () => new RecentSet(65_536), (w, k) => w.add(k)],
    ['RecentMap', () => new RecentMap(65_536), (w, k) => w.set(k, 'mqtt')],
  ]) {
    const window = make();
    const started = performance.now();
    for (let i = 0; i < 300_000; i++) add(window, `realm:${i}`);
    const ms = performance.now() - started;
    assert.equal(window.size, 65_536);
    assert.ok(ms < 2500, `${name}: 300 000 adds in ${ms.toFixed(0)} ms`);
  }
});

// ---- through the broker ------------------------------------------------------------------------

const links = new Set();
async function connectMqtt(bus, options) {
  const link = await connect(bus, options);
  links.add(link);
  return link;
}
let broker;
before(async () => {
  broker = await startBroker({ persistence: false });
});
after(async () => {
  await Promise.all([...links].map((link) => link.close()));
  await broker?.stop();
});

/** Counts the WebSocket frames every `ws` client of this process sends while `run` runs. */
async function countFrames(run) {
  const send = WebSocket.prototype.send;
  let frames = 0;
  WebSocket.prototype.send = function (...args) {
    frames++;
    return send.apply(this, args);
  };
  try {
    await run();
  } finally {
    WebSocket.prototype.send = send;
  }
  return frames;
}

/** 5 000 publishes in one turn from a bridge over `transport` to a bridge and a plain client. */
async function oneTurnThroughBroker(transport) {
  const prefix = `fr${process.pid}${transport}`;
  const url = transport === 'WebSocket' ? broker.wsUrl : broker.tcpUrl;
  const N = 5000;
  const sendBus = new EventBus({ capacity: N + 10 });
  const recvBus = new EventBus({ capacity: N + 10 });
  const got = [];
  recvBus.subscribe('load.*', (payload, meta) => got.push([meta.topic, payload.n]));
  const common = { url, prefix, outbox: { store: 'memory', capacity: N + 10 } };
  const receiver = await connectMqtt(recvBus, { ...common, subscribe: ['load.*'] });
  const sender = await connectMqtt(sendBus, { ...common, publish: ['load.*'] });
  // Over TCP: every WebSocket frame counted below is a bridge's.
  const plain = mqtt.connect(broker.tcpUrl, { protocolVersion: 5, reconnectPeriod: 0 });
  const plainGot = [];
  plain.on('message', (topic, payload) => plainGot.push([topic, JSON.parse(payload.toString()).n]));
  await Promise.all([receiver.connected(), sender.connected(), new Promise((r) => plain.once('connect', r))]);
  await new Promise((r) => plain.subscribe(`${prefix}/load/+`, { qos: 1 }, r));
  await until(() => receiver.metrics().state === 'connected', 2000, 'receiver connected');
  await new Promise((r) => setTimeout(r, 100)); // the receiver's SUBACK
  const frames = await countFrames(async () => {
    for (let n = 0; n < N; n++) sendBus.publish(`load.${n % 3}`, { n });
    await until(() => got.length === N && plainGot.length === N, 20_000, 'every message at both receivers');
    await sender.drained();
  });
  const expected = Array.from({ length: N }, (_, n) => [`load.${n % 3}`, n]);
  assert.deepEqual(got, expected, 'the bridge received every message once, in order');
  assert.deepEqual(
    plainGot,
    expected.map(([t, n]) => [`${prefix}/${t.replace('.', '/')}`, n]),
    'a plain mqtt.js client reads the coalesced frames the broker forwarded',
  );
  assert.equal(receiver.metrics().duplicates, 0);
  assert.equal(sender.metrics().acked, N);
  // The sender's PUBLISHes and the receiver's PUBACKs go out a turn at a time (a frame per chunk
  // was 15 frames a message).
  if (transport === 'WebSocket') assert.ok(frames < N / 10, `the bridges sent ${frames} frames for ${N} messages`);
  plain.end(true);
}

test('5 000 publishes in one turn reach a bridge and a plain MQTT client through the broker complete and in order, in a few frames', () =>
  oneTurnThroughBroker('WebSocket'));

test('5 000 publishes in one turn through bridges on mqtt:// (TCP) arrive complete and in order too', () => oneTurnThroughBroker('TCP'));

test('by default a burst puts 4 096 messages in flight at once, under half the receivers’ default duplicate window', async () => {
  const bus = new EventBus({ capacity: 10_000 });
  const link = await connectMqtt(bus, { url: broker.wsUrl, prefix: `win${process.pid}`, publish: ['w.*'], outbox: { store: 'memory' } });
  await link.connected();
  for (let n = 0; n < 6000; n++) bus.publish('w.x', n);
  assert.equal(link.metrics().inFlight, 4096, 'the window, filled in the publishing turn');
  await link.drained();
  assert.equal(link.metrics().acked, 6000);
});

test("the link's mqtt.js client logs with DEBUG=mqttjs* as plain mqtt.js does, and stays silent without", async () => {
  // A Node process with a link that connects and closes; mqtt.js's `debug` writes to stderr.
  const script = `
    import { EventBus, connectMqtt } from ${JSON.stringify(join(installDir(), 'bridge-entry.mjs'))};
    const link = await connectMqtt(new EventBus(), { url: ${JSON.stringify(broker.wsUrl)}, prefix: 'dbg', publish: ['d.*'], outbox: { store: 'memory' } });
    await link.connected();
    await link.close();
  `;
  const run = (env) =>
    new Promise((resolve, reject) =>
      execFile(process.execPath, ['--input-type=module', '-e', script], { env: { ...process.env, ...env }, timeout: 20_000 }, (error, stdout, stderr) =>
        error ? reject(error) : resolve(stderr),
      ),
    );
  const withDebug = await run({ DEBUG: 'mqttjs:client' });
  assert.match(withDebug, /mqttjs:client .*_writePacket/, 'the client logs its packets');
  const without = await run({ DEBUG: '' });
  assert.doesNotMatch(without, /mqttjs:client/);
});
