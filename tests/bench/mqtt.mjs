// Throughput and latency through switchyard/bridge's connectMqtt next to mqtt.js alone, on the
// same mosquitto (its own instance on loopback ports, tests/node/helpers/mosquitto.mjs), QoS 1,
// over WebSocket, in Node.
//
//   node bench/mqtt.mjs --install <dir>   (a folder where the packed tarball is installed;
//                                          `cargo xtask bench --only mqtt` passes its own)
//   [--messages 20000] [--rounds 5] [--window N (the bridge's maxInFlight)] [--out target/bench]
//   [--no-framed (leave out the informational third row)]
//
// Each round sends `messages` small JSON payloads (`{ n, at }`) from one client to another:
// - mqtt.js alone: one client publishes every message at QoS 1 (mqtt.js queues and sends them),
//   another subscribed client receives them; plain mqtt.js, as a user would use it (the goal's
//   baseline);
// - mqtt.js, one frame per turn: the same, with the bridge's framing (frames.js: what is written
//   in one turn leaves as one WebSocket frame) given to both clients. Not a baseline: it shows how
//   much of the bridge's rate is its framing and what the bridge's own work costs;
// - the bridge: `bus.publish` on a bus with `connectMqtt({ publish })` (outbox in memory, QoS 1,
//   its default 4096 in flight, the origin user property), a second bus with `connectMqtt({ subscribe })` delivers them
//   to a handler (duplicate check, origin, bus publish).
// msgs/s is messages ÷ (last received − first sent); acknowledged/s is messages ÷ (last PUBACK at the
// sender, or the bridge's outbox empty − first sent): QoS 1 done; latency is per message, sent →
// received (one process, one clock). The two take turns each round; the report is the median round. Writes
// `<out>/mqtt.json` and prints a Markdown table.

import { mkdirSync, writeFileSync, existsSync, symlinkSync } from 'node:fs';
import { loadavg } from 'node:os';
import { join, resolve, dirname } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { parseArgs } from 'node:util';
import { createRequire } from 'node:module';
import { startBroker } from '../node/helpers/mosquitto.mjs';

const here = dirname(fileURLToPath(import.meta.url));
const repoRoot = resolve(here, '..', '..');
const { values } = parseArgs({
  options: {
    install: { type: 'string' },
    messages: { type: 'string', default: '20000' },
    rounds: { type: 'string', default: '5' },
    window: { type: 'string' },
    'no-framed': { type: 'boolean', default: false },
    out: { type: 'string', default: join(repoRoot, 'target', 'bench') },
  },
});
if (!values.install || !existsSync(join(values.install, 'node_modules/switchyard/package.json'))) {
  console.error('--install <dir> with node_modules/switchyard (the packed tarball installed) is required');
  process.exit(2);
}
const install = resolve(values.install);
const MESSAGES = Number(values.messages);
const ROUNDS = Number(values.rounds);
const TOPIC = 'bench.x';

// mqtt.js from tests/node_modules; switchyard/bridge from the install folder, with mqtt.js linked
// there as a user's `npm install mqtt` would provide it.
const require = createRequire(import.meta.url);
const mqtt = require('mqtt');
const linked = join(install, 'node_modules', 'mqtt');
if (!existsSync(linked)) symlinkSync(join(repoRoot, 'tests', 'node_modules', 'mqtt'), linked, 'dir');
const entry = join(install, 'switchyard-mqtt-bench.mjs');
writeFileSync(entry, "export { EventBus } from 'switchyard';\nexport { connectMqtt } from 'switchyard/bridge';\n");
const { EventBus, connectMqtt } = await import(pathToFileURL(entry).href);
// The bridge's framing, from its source (it imports nothing).
const { coalesceWrites } = await import(pathToFileURL(join(repoRoot, 'crates/wasm/js/bridge/mqtt/frames.js')).href);

/** An mqtt.js client; `framed`: with the bridge's framing, installed as the bridge does it. */
function mqttClient(url, options, framed) {
  if (!framed) return mqtt.connect(url, options);
  const client = mqtt.connect(url, { ...options, manualConnect: true });
  const build = client.streamBuilder;
  client.streamBuilder = (c) => coalesceWrites(build(c));
  client.connect();
  return client;
}

const sleep = (ms) => new Promise((r) => setTimeout(r, ms));
const percentile = (sorted, q) => sorted[Math.min(sorted.length - 1, Math.floor(q * sorted.length))];

function summary(sentAt, latencies, lastAt) {
  const sorted = Float64Array.from(latencies).sort();
  return {
    msgsPerSec: Math.round(latencies.length / ((lastAt - sentAt) / 1000)),
    p50Ms: +percentile(sorted, 0.5).toFixed(2),
    p99Ms: +percentile(sorted, 0.99).toFixed(2),
    maxMs: +sorted[sorted.length - 1].toFixed(2),
  };
}

async function connected(client) {
  if (client.connected) return;
  await new Promise((r, j) => {
    client.once('connect', r);
    client.once('error', j);
  });
}

async function mqttAlone(broker, round, framed = false) {
  const topic = `mq${framed ? 'f' : ''}${round}/bench/x`;
  /** @type {() => void} */
  let onAck = () => {};
  const options = { protocolVersion: 5, reconnectPeriod: 0 };
  const receiver = mqttClient(broker.wsUrl, options, framed);
  const sender = mqttClient(broker.wsUrl, options, framed);
  await Promise.all([connected(receiver), connected(sender)]);
  await new Promise((r) => receiver.subscribe(topic, { qos: 1 }, r));
  const latencies = [];
  let lastAt = 0;
  const done = new Promise((r) => {
    receiver.on('message', (_t, payload) => {
      const now = performance.now();
      latencies.push(now - JSON.parse(payload.toString()).at);
      lastAt = now;
      if (latencies.length === MESSAGES) r();
    });
  });
  let acked = 0;
  let ackedAt = 0;
  const allAcked = new Promise((r) => {
    onAck = () => {
      if (++acked === MESSAGES) {
        ackedAt = performance.now();
        r();
      }
    };
  });
  const start = performance.now();
  for (let n = 0; n < MESSAGES; n++) sender.publish(topic, JSON.stringify({ n, at: performance.now() }), { qos: 1 }, onAck);
  await done;
  const result = summary(start, latencies, lastAt);
  await allAcked;
  result.ackedPerSec = Math.round(MESSAGES / ((ackedAt - start) / 1000));
  await Promise.all([new Promise((r) => sender.end(false, {}, r)), new Promise((r) => receiver.end(false, {}, r))]);
  return result;
}

async function bridge(broker, round) {
  const prefix = `br${round}`;
  const sendBus = new EventBus({ capacity: MESSAGES + 10 });
  const recvBus = new EventBus({ capacity: MESSAGES + 10 });
  const common = { url: broker.wsUrl, prefix, outbox: { store: 'memory', capacity: MESSAGES + 10 }, ...(values.window ? { maxInFlight: Number(values.window) } : {}) };
  const receiver = await connectMqtt(recvBus, { ...common, subscribe: [TOPIC] });
  const sender = await connectMqtt(sendBus, { ...common, publish: [TOPIC] });
  await Promise.all([receiver.connected(), sender.connected()]);
  await sleep(100); // SUBACK
  const latencies = [];
  let lastAt = 0;
  const done = new Promise((r) => {
    recvBus.subscribe(TOPIC, (payload) => {
      const now = performance.now();
      latencies.push(now - payload.at);
      lastAt = now;
      if (latencies.length === MESSAGES) r();
    });
  });
  const start = performance.now();
  for (let n = 0; n < MESSAGES; n++) sendBus.publish(TOPIC, { n, at: performance.now() });
  await done;
  const result = summary(start, latencies, lastAt);
  // Every record acknowledged by the broker (the outbox empty), as mqtt.js alone's last PUBACK.
  await sender.drained();
  result.ackedPerSec = Math.round(MESSAGES / ((performance.now() - start) / 1000));
  result.bridgeRttP99Ms = +(sender.metrics().rttMs.p99 ?? Number.NaN).toFixed(2);
  await Promise.all([sender.close(), receiver.close()]);
  sendBus.close();
  recvBus.close();
  return result;
}

const median = (rows, key) => rows.map((r) => r[key]).sort((a, b) => a - b)[Math.floor(rows.length / 2)];

const FRAMED = 'mqtt.js, one frame per turn (informational)';
const impls = {
  'mqtt.js alone': (/** @type {any} */ broker, /** @type {number | string} */ round) => mqttAlone(broker, round),
  'switchyard/bridge': bridge,
  ...(values['no-framed'] ? {} : { [FRAMED]: (/** @type {any} */ broker, /** @type {number | string} */ round) => mqttAlone(broker, round, true) }),
};
const names = Object.keys(impls);
const loadAverageStart = Math.round(loadavg()[0] * 10) / 10;
const broker = await startBroker({ persistence: false });
/** @type {Record<string, any[]>} */
const rows = Object.fromEntries(names.map((name) => [name, []]));
try {
  // Warm-up (JIT, broker, sockets), not reported.
  for (const name of names) await impls[name](broker, 'w');
  for (let round = 0; round < ROUNDS; round++) {
    // Each takes its turn first, and the two the goal compares swap places every round.
    const order = names.map((_, i) => names[(i + round) % names.length]);
    if (round % 2 === 1 && order.indexOf('mqtt.js alone') < order.indexOf('switchyard/bridge')) order.reverse();
    for (const impl of order) {
      const result = await impls[impl](broker, round);
      rows[impl].push(result);
      process.stderr.write(`round ${round + 1} ${impl}: ${JSON.stringify(result)}\n`);
    }
  }
} finally {
  await broker.stop();
}

const report = Object.entries(rows).map(([impl, rs]) => ({
  impl,
  msgsPerSec: median(rs, 'msgsPerSec'),
  ackedPerSec: median(rs, 'ackedPerSec'),
  p50Ms: median(rs, 'p50Ms'),
  p99Ms: median(rs, 'p99Ms'),
  rounds: rs,
}));
const ratio = report[1].msgsPerSec / report[0].msgsPerSec;
// The bridge against mqtt.js alone within each round (the two ran back to back, under the same load).
const roundRatios = rows['switchyard/bridge'].map((r, i) => +(r.msgsPerSec / rows['mqtt.js alone'][i].msgsPerSec).toFixed(3)).sort((a, b) => a - b);
const framed = report.find((r) => r.impl === FRAMED);
const result = {
  date: new Date().toISOString(),
  messages: MESSAGES,
  rounds: ROUNDS,
  node: process.version,
  broker: 'mosquitto 2.0.11 (WebSocket, loopback)',
  report,
  maxInFlight: values.window ? Number(values.window) : 4096,
  loadAverage: Math.round(loadavg()[0] * 10) / 10,
  loadAverageStart,
  ratio: +ratio.toFixed(3),
  roundRatios,
  ...(framed ? { framedRatio: +(report[1].msgsPerSec / framed.msgsPerSec).toFixed(3) } : {}),
  ackedRatio: +(report[1].ackedPerSec / report[0].ackedPerSec).toFixed(3),
  goal: 0.8,
};
mkdirSync(values.out, { recursive: true });
writeFileSync(join(values.out, 'mqtt.json'), JSON.stringify(result, null, 2));
console.log(`| ${MESSAGES} messages, QoS 1, WebSocket, Node ${process.version} | msgs/s | p50 latency | p99 latency |`);
console.log('|---|---|---|---|');
for (const r of report) console.log(`| ${r.impl} | ${r.msgsPerSec.toLocaleString('en')} | ${r.p50Ms} ms | ${r.p99Ms} ms |`);
console.log(`\nbridge / mqtt.js alone: ${ratio.toFixed(2)}× (goal ≥ 0.8×), per round ${roundRatios.join(', ')}${framed ? `; bridge / mqtt.js one frame per turn ${result.framedRatio}×` : ''}; load average ${loadAverageStart} at the start, ${result.loadAverage} at the end`);
