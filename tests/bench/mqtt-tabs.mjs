// A page's publish → a Node subscriber through connectMqtt, with the page's own socket and in a
// tab group (leader and follower), Chromium and mosquitto on loopback: latency of 200 paced
// publishes (one per 5 ms) and the rate of 5 000 at once. The numbers in ARCHITECTURE.md
// ("A tab group is one MQTT client") come from it.
//
//   cargo xtask pack && cd tests && SWITCHYARD_TARBALL=<the .tgz> node bench/mqtt-tabs.mjs
import { launchChromium, serveStatic } from '../node/helpers/browser.mjs';
import { importBridge } from '../node/helpers/bridge.mjs';
import { startBroker } from '../node/helpers/mosquitto.mjs';
import { installDir } from '../node/helpers/package.mjs';
import { until } from '../helpers/poll.mjs';
const { EventBus, connectMqtt } = await importBridge();
const PAGE = `<!doctype html><script type="importmap">{ "imports": { "switchyard": "/node_modules/switchyard/web/index.js", "mqtt": "/node_modules/mqtt/dist/mqtt.esm.js" } }</script>
<script type="module">
import { EventBus } from 'switchyard'; import { connectMqtt } from '/node_modules/switchyard/web/bridge.js';
window.start = async (options) => { const bus = new EventBus({ capacity: 100000 }); window.bus = bus; window.link = await connectMqtt(bus, options); };
window.ready = true;</script>`;
const broker = await startBroker();
const server = await serveStatic(installDir(), { '/': PAGE });
const browser = await launchChromium();
try {
  for (const tabsOn of [false, true]) {
    const prefix = `m${Date.now()}${tabsOn}`;
    const bus = new EventBus({ capacity: 1e6 });
    let got = 0; const lat = [];
    bus.subscribe('w.*', (p) => { got++; lat.push(Date.now() - p.t); });
    const node = await connectMqtt(bus, { url: broker.tcpUrl, prefix, subscribe: ['w.*'], outbox: { store: 'memory' } });
    await node.connected();
    const pages = [];
    for (let i = 0; i < (tabsOn ? 2 : 1); i++) {
      const page = await browser.context.newPage(); await page.goto(server.origin + '/'); await page.waitForFunction(() => window.ready);
      await page.evaluate((o) => window.start(o), { url: broker.wsUrl, prefix, publish: ['w.*'], ...(tabsOn ? { tabs: { channel: prefix } } : { outbox: { name: prefix } }) });
      pages.push(page);
    }
    await Promise.all(pages.map((p) => p.evaluate(() => window.link.connected())));
    const roles = tabsOn ? await Promise.all(pages.map((p) => p.evaluate(() => window.link.leader))) : [true];
    for (const [i, page] of pages.entries()) {
      const role = roles[i] ? 'leader' : 'follower';
      // latency: 200 messages one every 5 ms
      got = 0; lat.length = 0;
      await page.evaluate(async () => { for (let k = 0; k < 200; k++) { window.bus.publish('w.x', { t: Date.now() }); await new Promise((r) => setTimeout(r, 5)); } });
      await until(() => got >= 200, 20000, 'lat');
      const s = lat.slice().sort((a, b) => a - b);
      // throughput: 5000 at once
      got = 0;
      const t0 = Date.now();
      await page.evaluate(() => { for (let k = 0; k < 5000; k++) window.bus.publish('w.x', { t: Date.now() }); });
      await until(() => got >= 5000, 60000, 'tp');
      const ms = Date.now() - t0;
      console.log(`${tabsOn ? 'group' : 'own socket'} ${role}: latency p50 ${s[100]} ms p99 ${s[198]} ms; 5000 msgs in ${ms} ms = ${Math.round(5000 / ms * 1000)}/s`);
    }
    for (const p of pages) { await p.evaluate(() => window.link.close()); await p.close(); }
    await node.close();
  }
} finally { await browser.close(); server.close(); await broker.stop(); }
