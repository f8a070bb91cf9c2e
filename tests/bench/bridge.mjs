// Cross-tab latency and throughput of `switchyard/bridge` (shareTopics) against raw
// BroadcastChannel and the npm `broadcast-channel` package, measured in the same run, in two
// pages of one origin in headless Chromium:
//
//   SWITCHYARD_TARBALL=<tgz> node bench/bridge.mjs [--quick]
//
// Latency: one message at a time (5 ms apart), sender's `performance.timeOrigin + now()` in the
// payload, receiver's clock at delivery (pages of one browser share the clock): p50 / p99 over
// the samples. Throughput: a burst of N messages published in one task; from the first publish to
// the last delivery in the other tab. Prints a Markdown table and writes target/bench/bridge.json.
import { execFileSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import * as esbuild from 'esbuild';
import { launch, serve } from '../e2e/harness.mjs';

const here = dirname(fileURLToPath(import.meta.url));
const repo = resolve(here, '../..');
const quick = process.argv.includes('--quick');
const SAMPLES = quick ? 50 : 300;
const BURST = quick ? 2000 : 10_000;
const ROUNDS = quick ? 1 : 3;

const tarball = process.env.SWITCHYARD_TARBALL;
if (!tarball) throw new Error('set SWITCHYARD_TARBALL to the packed tarball');
const dir = mkdtempSync(join(tmpdir(), 'switchyard-bridge-bench-'));
execFileSync('tar', ['-xzf', tarball, '-C', dir]);
const pkg = join(dir, 'package');
const { exports } = JSON.parse(readFileSync(join(pkg, 'package.json'), 'utf8'));
const MAIN = exports['.'].browser.replace(/^\.\//, '');
const bridge = readFileSync(join(pkg, exports['./bridge'].browser), 'utf8');
writeFileSync(join(pkg, 'web', 'bridge.resolved.js'), bridge.replaceAll('from "switchyard"', `from "/pkg/${MAIN}"`));
await esbuild.build({
  stdin: { contents: "export { BroadcastChannel } from 'broadcast-channel';", resolveDir: resolve(here, '..'), loader: 'js' },
  bundle: true,
  format: 'esm',
  platform: 'browser',
  outfile: join(pkg, 'web', 'broadcast-channel.js'),
  logLevel: 'error',
});

const page = `<!DOCTYPE html><html><head><meta charset="utf-8"><link rel="icon" href="data:,"></head><body>
<script type="module">
import { EventBus } from '/pkg/${MAIN}';
import { shareTopics } from '/pkg/web/bridge.resolved.js';
import { BroadcastChannel as NpmChannel } from '/pkg/web/broadcast-channel.js';
const clock = () => performance.timeOrigin + performance.now();
let received = [];
let last = 0;
const record = (sentAt) => { const t = clock(); received.push(t - sentAt); last = t; };
const subjects = {
  raw: (name) => {
    const ch = new BroadcastChannel(name);
    ch.onmessage = (e) => record(e.data.at);
    return { send: (m) => ch.postMessage(m), close: () => ch.close() };
  },
  npm: (name) => {
    const ch = new NpmChannel(name);
    ch.onmessage = (m) => record(m.at);
    return { send: (m) => ch.postMessage(m), close: () => ch.close() };
  },
  switchyard: (name) => {
    const bus = new EventBus();
    bus.subscribe('bench.*', (m) => record(m.at));
    const link = shareTopics(bus, { channel: name, topics: ['bench.*'] });
    return { send: (m) => bus.publish('bench.msg', m), close: () => { link.close(); bus.close(); } };
  },
};
let subject;
window.open_ = (kind, name) => { subject = subjects[kind](name); received = []; return true; };
window.reset = () => { received = []; last = 0; };
window.sendOne = () => subject.send({ at: clock() });
window.burst = (n) => { const start = clock(); for (let i = 0; i < n; i++) subject.send({ at: clock(), i }); return start; };
window.stats = () => ({ count: received.length, last, samples: received.slice() });
window.close_ = () => subject.close();
window.ready = true;
</script></body></html>`;

const server = await serve(join(pkg, 'web', 'devtools-app'), { mounts: { '/pkg/': pkg }, pages: { '/bench.html': page } });
const context = await launch();
const [sender, receiver] = [await context.newPage(), await context.newPage()];
for (const p of [sender, receiver]) {
  await p.goto(`${server.url}/bench.html`);
  await p.waitForFunction(() => window.ready === true);
}
const pct = (sorted, q) => sorted[Math.min(sorted.length - 1, Math.floor(q * sorted.length))];
const wait = (ms) => new Promise((r) => setTimeout(r, ms));

const results = {};
let channel = 0;
for (const kind of ['raw', 'npm', 'switchyard']) {
  const latencies = [];
  const rates = [];
  for (let round = 0; round < ROUNDS; round++) {
    const name = `bench-${kind}-${channel++}`;
    await receiver.evaluate(([k, n]) => window.open_(k, n), [kind, name]);
    await sender.evaluate(([k, n]) => window.open_(k, n), [kind, name]);
    await wait(300);
    await receiver.evaluate(() => window.reset());
    for (let i = 0; i < SAMPLES; i++) {
      await sender.evaluate(() => window.sendOne());
      await wait(5);
    }
    await wait(200);
    const lat = await receiver.evaluate(() => window.stats());
    latencies.push(...lat.samples);
    await receiver.evaluate(() => window.reset());
    const start = await sender.evaluate((n) => window.burst(n), BURST);
    const deadline = Date.now() + 30_000;
    let got;
    for (;;) {
      got = await receiver.evaluate(() => ({ count: window.stats().count, last: window.stats().last }));
      if (got.count >= BURST || Date.now() > deadline) break;
      await wait(20);
    }
    rates.push(got.count >= BURST ? BURST / ((got.last - start) / 1000) : NaN);
    await sender.evaluate(() => window.close_());
    await receiver.evaluate(() => window.close_());
  }
  latencies.sort((a, b) => a - b);
  rates.sort((a, b) => a - b);
  results[kind] = {
    samples: latencies.length,
    p50Ms: pct(latencies, 0.5),
    p99Ms: pct(latencies, 0.99),
    burst: BURST,
    messagesPerSecond: rates[Math.floor(rates.length / 2)],
  };
  process.stderr.write(`${kind}: ${JSON.stringify(results[kind])}\n`);
}
await context.close();
await server.close();

const names = { raw: 'raw BroadcastChannel', npm: 'npm broadcast-channel 7.4.0', switchyard: 'switchyard/bridge shareTopics' };
const table = [
  '| subject | latency p50 | latency p99 | throughput (burst of ' + BURST.toLocaleString('en') + ') |',
  '|---|---|---|---|',
  ...Object.entries(results).map(
    ([k, r]) => `| ${names[k]} | ${r.p50Ms.toFixed(2)} ms | ${r.p99Ms.toFixed(2)} ms | ${Math.round(r.messagesPerSecond).toLocaleString('en')} msg/s |`,
  ),
].join('\n');
console.log(table);
const out = join(repo, 'target', 'bench');
mkdirSync(out, { recursive: true });
writeFileSync(join(out, 'bridge.json'), JSON.stringify({ date: new Date().toISOString(), chromium: true, results }, null, 2));
