// End-to-end tests of the visualiser (web/, built by `trunk build --release` into dist/ or
// $SWITCHYARD_DIST), driven with Playwright in headless Chromium at 1280×800.
// Screenshots land in target/screenshots/.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { readFile, writeFile, mkdir, readdir } from 'node:fs/promises';
import { join } from 'node:path';
import { serve, launch, open, shot, text, screenshots, scratchDir, unpackTarball } from './harness.mjs';
import { eventually } from '../helpers/poll.mjs';

const SCENARIOS = ['basic', 'retry', 'broadcast', 'batched', 'backpressure-dlq', 'slow-consumer', 'leaky-component', 'cascade', 'storm'];

let server;
let context;

before(async () => {
  server = await serve();
  context = await launch();
});

after(async () => {
  await context?.close();
  await server?.close();
});


const count = (page, selector) => page.locator(selector).count();
const tab = (page, name) => page.getByTestId(`tab-${name}`).click();
const number = (s) => Number(String(s).replace(/[^0-9.]/g, '')) * (/k\b|k\//.test(s) ? 1_000 : 1) * (/M/.test(s) ? 1_000_000 : 1);

async function metric(page, name) {
  const value = await page.locator(`[data-testid=metrics] [data-metric="${name}"] .tile-value`).textContent();
  return number(value);
}

for (const scenario of SCENARIOS) {
  test(`scenario ${scenario}: opens running and every view shows live data`, async () => {
    const { page, problems } = await open(context, `${server.url}/?scenario=${scenario}&autoplay=1`);
    try {
      assert.equal(await page.getByTestId('scenario').inputValue(), scenario);
      assert.match(await text(page, 'source'), new RegExp(`scenario · ${scenario}`));

      // topology: publishers, topics and subscriptions with edges
      await eventually(async () => (await count(page, '[data-testid=topology] .node.topic')) > 0, 'topology shows topics');
      assert.ok((await count(page, '[data-testid=topology] .node.sub')) > 0, 'topology shows subscriptions');
      assert.ok((await count(page, '[data-testid=topology] path.edge')) > 0, 'topology shows edges');

      // backpressure: one card per (busiest) subscription, with a chart
      assert.ok((await count(page, '[data-testid=backpressure] .card')) > 0, 'backpressure shows cards');
      await eventually(async () => (await page.locator('[data-testid=backpressure] polyline.depth').first().getAttribute('points'))?.trim().includes(' '), 'backpressure charts have history');

      // timeline: marbles appear on the lanes
      await eventually(async () => (await count(page, '[data-testid=timeline] .marble')) > 0, 'timeline shows marbles');

      // event log: events arrive and rows are rendered (virtualised)
      await tab(page, 'event-log');
      await eventually(async () => (await count(page, '[data-testid=event-log] .log-row')) > 0, 'event log shows rows');
      const seen1 = number((await text(page, 'log-count')).split('·')[2]);
      await eventually(async () => number((await text(page, 'log-count')).split('·')[2]) > seen1, 'event log keeps growing');

      // metrics: counters move
      await tab(page, 'metrics');
      const published = await eventually(async () => (await metric(page, 'published')) > 0 && metric(page, 'published'), 'metrics count publishes');
      await eventually(async () => (await metric(page, 'published')) > published, 'metrics keep counting');
      assert.ok((await count(page, '[data-testid=metrics] tbody tr')) > 0, 'metrics tables have rows');

      // dead letters and leaks render (their contents depend on the scenario)
      await tab(page, 'dead-letters');
      assert.match(await text(page, 'dead-letter-count'), /\d+ dead letters/);
      await tab(page, 'leaks');
      assert.ok((await count(page, '[data-testid=leaks] svg.pop polyline')) > 0, 'leaks chart has series');

      // scenario-specific behaviour
      if (scenario === 'backpressure-dlq') {
        await tab(page, 'dead-letters');
        await eventually(async () => (await count(page, '[data-testid=dead-letter-row]')) > 0, 'backpressure-dlq produces dead letters', 20_000);
        await tab(page, 'metrics');
        await eventually(async () => (await metric(page, 'dropped')) > 0, 'backpressure-dlq drops messages', 20_000);
      }
      if (scenario === 'retry') {
        await tab(page, 'metrics');
        await eventually(async () => (await metric(page, 'retried')) > 0, 'retry schedules retries', 15_000);
      }
      if (scenario === 'leaky-component') {
        await tab(page, 'leaks');
        await eventually(async () => (await count(page, '[data-testid=leak-report]')) > 0, 'leaky-component reports leaks', 20_000);
      }
      if (scenario === 'cascade') {
        await tab(page, 'metrics');
        await eventually(async () => (await metric(page, 'cascades')) > 0, 'cascade is refused by the limit', 15_000);
      }
      if (scenario === 'storm') {
        const pub = await eventually(async () => { const t = await page.locator('[data-testid=totals] .chip').first().textContent(); return number(t) >= 40_000 && t; }, 'storm publishes ≥ 40k msg/s');
        assert.ok(pub);
      }

      await tab(page, 'timeline');
      await page.waitForTimeout(400);
      await shot(page, `scenario-${scenario}`);
      assert.deepEqual(problems, [], 'no console errors');
    } finally {
      await page.close();
    }
  });
}

test('the default page opens with a scenario running', async () => {
  const { page, problems } = await open(context, `${server.url}/`);
  try {
    assert.ok(await page.getByTestId('play').evaluate((b) => b.classList.contains('active')), 'play is active');
    await eventually(async () => (await count(page, '[data-testid=timeline] .marble')) > 0, 'marbles appear');
    assert.deepEqual(problems, []);
  } finally {
    await page.close();
  }
});

test('storm: p95 frame time from requestAnimationFrame over 10 s stays within budget', async () => {
  const { page, problems } = await open(context, `${server.url}/?scenario=storm&autoplay=1`);
  try {
    await page.waitForTimeout(2_000);
    const stamps = await page.evaluate(() => new Promise((resolve) => {
      const ts = [];
      const start = performance.now();
      const frame = (t) => { ts.push(t); if (t - start < 10_000) requestAnimationFrame(frame); else resolve(ts); };
      requestAnimationFrame(frame);
    }));
    const deltas = stamps.slice(1).map((t, i) => t - stamps[i]).sort((a, b) => a - b);
    const pct = (q) => deltas[Math.min(deltas.length - 1, Math.floor(q * deltas.length))];
    const perf = await page.evaluate(() => window.__switchyardPerf);
    const heap = await page.evaluate(() => performance.memory?.usedJSHeapSize ?? null);
    const report = {
      scenario: 'storm', seconds: 10, frames: deltas.length,
      p50: pct(0.5), p95: pct(0.95), p99: pct(0.99), max: deltas.at(-1),
      // Frames that took longer than one and a half display intervals: real misses, not timer jitter.
      missed: deltas.filter((d) => d > 25).length,
      meanTickMs: perf?.tickMs, meanApplyMs: perf?.applyMs, maxTickMs: perf?.tickMaxMs, maxApplyMs: perf?.applyMaxMs,
      // Slowest recent data computation per stagger phase: topology, backpressure, bottom tab, header.
      viewMs: perf?.viewMs, eventsPerFrame: perf?.events, usedJSHeapSize: heap,
      totals: await text(page, 'totals'),
    };
    await mkdir(screenshots, { recursive: true });
    await writeFile(join(screenshots, 'storm-frame-times.json'), JSON.stringify(report, null, 2));
    console.log(`storm frame times: ${JSON.stringify(report)}`);
    await shot(page, 'storm-budget');
    // The budget is 16.7 ms; this noisy 2-core machine gets a generous bound, the
    // report above states the real figure.
    assert.ok(report.p95 <= 50, `p95 frame time ${report.p95.toFixed(1)} ms`);
    assert.deepEqual(problems, []);
  } finally {
    await page.close();
  }
});

test('capacity and overflow controls change the live queues without restarting the scenario', async () => {
  const { page, problems } = await open(context, `${server.url}/?scenario=slow-consumer&autoplay=1`);
  const card = (name) => page.locator('[data-testid=backpressure] .card').filter({ has: page.locator('.name', { hasText: name }) });
  const depthOf = async (name) => (await card(name).locator('.card-stats b').first().textContent()).split('/').map(Number);
  try {
    // The archiver's queue (512, drop-oldest) grows past 32 while the producer outpaces it.
    await eventually(async () => (await depthOf('archiver'))[0] > 40, 'the archiver queue builds up', 20_000);
    await tab(page, 'metrics');
    const publishedBefore = await metric(page, 'published');
    const dropsBefore = Number(await card('archiver').locator('.drops').textContent().then((t) => t.replace(/[^0-9]/g, '')));

    await page.getByTestId('capacity').selectOption('32');
    // The new bound shows at once (no restart, no waiting for a periodic refresh).
    await eventually(async () => (await depthOf('archiver'))[1] === 32, 'the card shows the new capacity', 1_000);
    const [depth, capacity] = await depthOf('archiver');
    assert.ok(depth <= capacity, `depth ${depth} fits the new capacity ${capacity}`);
    assert.match(await text(page, 'status'), /queue limits changed live: \d+ queued messages? dropped/);
    assert.ok(Number((await card('archiver').locator('.drops').textContent()).replace(/[^0-9]/g, '')) > dropsBefore, 'the evicted messages count as drops');
    assert.match(await text(page, 'source'), /scenario · slow-consumer/);
    await eventually(async () => (await metric(page, 'published')) > publishedBefore, 'the same run keeps counting (not restarted)');
    await shot(page, 'queue-limits-live');

    await page.getByTestId('overflow').selectOption('reject');
    await eventually(async () => (await card('archiver').locator('.badge').textContent()) === 'reject', 'the card shows the new policy', 1_000);
    await page.getByTestId('capacity').selectOption('');
    await eventually(async () => (await depthOf('archiver'))[1] === 512, 'scenario default restores the capacity', 1_000);
    assert.ok((await metric(page, 'published')) >= publishedBefore, 'still the same run');
    assert.deepEqual(problems, []);
  } finally {
    await page.close();
  }
});

test('the page follows a light system theme', async () => {
  const { page, problems } = await open(context, `${server.url}/?scenario=backpressure-dlq&autoplay=1`);
  try {
    const background = () => page.evaluate(() => getComputedStyle(document.body).backgroundColor);
    assert.equal(await background(), 'rgb(13, 17, 23)', 'dark when the system prefers dark');
    await page.emulateMedia({ colorScheme: 'light' });
    assert.equal(await background(), 'rgb(246, 248, 250)', 'light when the system asks for it');
    await eventually(async () => (await count(page, '[data-testid=timeline] .marble')) > 0, 'marbles appear');
    await page.waitForTimeout(1_500);
    await shot(page, 'light-theme');
    assert.deepEqual(problems, []);
  } finally {
    await page.close();
  }
});

test('a dead letter can be inspected, redriven one by one, redriven all and purged', async () => {
  const { page, problems } = await open(context, `${server.url}/?scenario=backpressure-dlq&autoplay=1`);
  try {
    await tab(page, 'dead-letters');
    await eventually(async () => (await count(page, '[data-testid=dead-letter-row]')) >= 2, 'dead letters appear', 20_000);
    await page.getByTestId('pause').click();
    await page.waitForTimeout(300);
    const before = await count(page, '[data-testid=dead-letter-row]');
    await page.getByTestId('inspect-dead-letter').first().click();
    await eventually(async () => (await text(page, 'inspector')).includes('dead letter #'), 'inspector shows the dead letter');
    assert.match(await text(page, 'payload-tree'), /jobId/);
    await page.getByTestId('redrive-one').first().click();
    await eventually(async () => /redrove 1 dead letter/.test(await text(page, 'status')), 'status confirms the redrive');
    await eventually(async () => (await count(page, '[data-testid=dead-letter-row]')) === before - 1, 'one row fewer');
    await shot(page, 'dead-letters-redrive');
    await page.getByTestId('redrive-all').click();
    await eventually(async () => /redrove \d+ dead letters?/.test(await text(page, 'status')), 'redrive all');
    await page.getByTestId('play').click();
    await eventually(async () => (await count(page, '[data-testid=dead-letter-row]')) > 0, 'new dead letters', 20_000);
    await page.getByTestId('purge').click();
    await eventually(async () => (await count(page, '[data-testid=dead-letter-row]')) === 0 || /purged/.test(await text(page, 'status')), 'purge empties the list');
    assert.deepEqual(problems, []);
  } finally {
    await page.close();
  }
});

test('a recording exports as versioned NDJSON and re-imports paused at its first event', async () => {
  const { page, problems } = await open(context, `${server.url}/?scenario=retry&autoplay=1`);
  try {
    await page.waitForTimeout(3_000);
    const [download] = await Promise.all([page.waitForEvent('download'), page.getByTestId('export').click()]);
    const file = await download.path();
    const lines = (await readFile(file, 'utf8')).trim().split('\n').map((l) => JSON.parse(l));
    assert.equal(lines[0].type, 'header');
    assert.equal(lines[0].format, 'switchyard-recording');
    assert.equal(lines[0].version, 1);
    const events = lines.filter((l) => l.type === 'event');
    assert.ok(events.length > 10, `recorded ${events.length} events`);
    assert.ok(events.every((e) => typeof e.kind === 'string' && typeof e.at === 'number'));
    assert.ok(lines.some((l) => l.type === 'state'), 'recording holds state snapshots');

    await page.getByTestId('import').setInputFiles(file);
    await eventually(async () => /replay · 1\//.test(await text(page, 'source')), 'replay opens at the first event');
    assert.ok(await page.getByTestId('pause').evaluate((b) => b.classList.contains('active')), 'replay opens paused');
    await page.getByTestId('step').click();
    await page.getByTestId('step').click();
    await eventually(async () => /replay · ([2-9]|\d\d+)\//.test(await text(page, 'source')), 'step advances');
    const stepped = Number((await text(page, 'source')).match(/replay · (\d+)\//)[1]);
    await page.getByTestId('speed').selectOption('5');
    await page.getByTestId('play').click();
    await eventually(async () => Number((await text(page, 'source')).match(/replay · (\d+)\//)[1]) > stepped + 5, 'replay plays at speed');
    await eventually(async () => (await count(page, '[data-testid=timeline] .marble')) > 0, 'replayed marbles');
    await shot(page, 'replay');
    assert.deepEqual(problems, []);
  } finally {
    await page.close();
  }
});

test('payloads are rendered as text, never as HTML', async () => {
  const evil = '<img src=x onerror="window.__xss=1;alert(1)">';
  const state = {
    at: 10, subscriptions: [{ id: 1, pattern: 'evil.*', name: evil, capacity: 8, overflow: 'reject', delivery: 'immediate', ordering: 'strict', breaker: 'closed' }],
    topics: [{ topic: 'evil.topic' }],
    deadLetters: [{ id: 7, message: 1, topic: 'evil.topic', subscription: 1, subscriptionName: evil, pattern: 'evil.*', attempts: 1, lastError: evil, reason: 'handler_error', deadLetteredAt: 10, payload: { html: evil, nested: [evil] } }],
  };
  const recording = [
    { type: 'header', format: 'switchyard-recording', version: 1, source: 'test' },
    { type: 'state', state },
    { type: 'event', cursor: 0, at: 11, kind: 'dead_lettered', subscription: 1, message: 1, topic: 'evil.topic', detail: 0 },
  ].map((l) => JSON.stringify(l)).join('\n');
  const dir = await scratchDir('switchyard-xss-');
  const file = join(dir, 'evil.ndjson');
  await writeFile(file, recording);
  const { page, problems, dialogs } = await open(context, `${server.url}/?scenario=basic`);
  try {
    await page.getByTestId('import').setInputFiles(file);
    await eventually(async () => /replay/.test(await text(page, 'source')), 'recording opens');
    await tab(page, 'dead-letters');
    await page.getByTestId('inspect-dead-letter').first().click();
    await eventually(async () => (await text(page, 'payload-tree')).includes('<img src=x'), 'payload shown as text');
    await page.getByTestId('inspector-search').fill('onerror');
    await eventually(async () => (await count(page, '[data-testid=payload-tree] .tl.hit')) >= 2, 'search finds the payload text');
    await page.waitForTimeout(500);
    assert.equal(await page.evaluate(() => window.__xss), undefined, 'the payload did not execute');
    assert.deepEqual(dialogs, [], 'no alert');
    assert.equal(await count(page, 'img'), 0, 'no <img> element was created');
    await shot(page, 'xss-as-text');
    assert.deepEqual(problems, []);
  } finally {
    await page.close();
  }
});

test('attach: shows a bus exposed by a page that uses the npm package', async (t) => {
  const tarball = process.env.SWITCHYARD_TARBALL;
  if (!tarball) {
    t.skip('SWITCHYARD_TARBALL is not set: build it with `cargo xtask pack` and point the variable at the .tgz');
    return;
  }
  const { pkg, entry: exported } = await unpackTarball(tarball);
  const entry = exported('.');
  const busPage = `<!DOCTYPE html><html><head><meta charset="utf-8"><link rel="icon" href="data:,"><title>app</title></head><body>
<script type="module">
import { EventBus } from '/pkg/${entry}';
const bus = new EventBus({ retry: { attempts: 1 } });
bus.subscribe('orders.*', () => {}, { name: 'billing' });
bus.subscribe('orders.created', () => { throw new Error('card declined'); }, { name: 'flaky' });
bus.subscribe('orders.**', async () => { await new Promise((r) => setTimeout(r, 30)); }, { name: 'slow-audit', capacity: 16, overflow: 'drop-oldest' });
bus.expose('e2e');
let n = 0;
setInterval(() => { bus.publish('orders.created', { n: n++, note: '<b>bold?</b>' }); }, 40);
window.bus = bus;
window.ready = true;
</script></body></html>`;
  const attachServer = await serve(undefined, { mounts: { '/pkg/': pkg }, pages: { '/app.html': busPage } });
  const app = await open(context, `${attachServer.url}/app.html`);
  const viz = await open(context, `${attachServer.url}/?attach=e2e`);
  try {
    await eventually(() => app.page.evaluate(() => window.ready === true), 'the bus page loads the package', 30_000);
    await eventually(async () => /attached to "e2e"/.test(await text(viz.page, 'source')), 'handshake completes', 15_000);
    await eventually(async () => (await count(viz.page, '[data-testid=topology] .node.sub')) >= 3, 'topology shows the subscriptions');
    await eventually(async () => (await count(viz.page, '[data-testid=timeline] .marble')) > 0, 'timeline shows marbles');
    await tab(viz.page, 'dead-letters');
    await eventually(async () => (await count(viz.page, '[data-testid=dead-letter-row]')) > 0, 'dead letters arrive');
    await eventually(async () => (await count(viz.page, '[data-testid=dead-letter-row]')) >= 5, 'several dead letters arrive');
    const before = await app.page.evaluate(() => window.bus.metrics().totals.delivered);
    // When the purge shows, the header's DLQ chip and the dead-letter list must drop in the same
    // frame (views otherwise refresh in turn, up to 150 ms apart).
    await viz.page.evaluate(() => {
      const firstNumber = (el) => Number(/\d+/.exec(el.textContent)?.[0] ?? NaN);
      window.__drops = {};
      const watch = (key, el) => {
        const start = firstNumber(el);
        new MutationObserver(() => {
          if (!(key in window.__drops) && firstNumber(el) < start) window.__drops[key] = performance.now();
        }).observe(el, { subtree: true, childList: true, characterData: true });
      };
      watch('header', document.querySelector('[data-testid=totals] .chip[title="dead letters"]'));
      watch('list', document.querySelector('[data-testid=dead-letter-count]'));
    });
    await viz.page.getByTestId('purge').click();
    await eventually(async () => /purge sent/.test(await text(viz.page, 'status')), 'purge is sent');
    await eventually(async () => (await app.page.evaluate(() => window.bus.deadLetters().length)) < 30, 'the bus purged');
    const drops = await eventually(
      () => viz.page.evaluate(() => ('header' in window.__drops && 'list' in window.__drops ? window.__drops : null)),
      'the header and the list show the purge',
    );
    assert.ok(Math.abs(drops.header - drops.list) < 20, `header and list dropped ${Math.abs(drops.header - drops.list).toFixed(1)} ms apart`);
    assert.ok(before > 0);
    await shot(viz.page, 'attach');
    assert.deepEqual(viz.problems, []);
    assert.deepEqual(app.problems, []);
  } finally {
    await viz.page.close();
    await app.page.close();
    await attachServer.close();
  }
});

test('attach: a frame with events as objects (another viewer reads no columns) still fills the views', async (t) => {
  const tarball = process.env.SWITCHYARD_TARBALL;
  if (!tarball) {
    t.skip('SWITCHYARD_TARBALL is not set: build it with `cargo xtask pack` and point the variable at the .tgz');
    return;
  }
  const { pkg, entry: exported } = await unpackTarball(tarball);
  const entry = exported('.');
  // The bus sends `columns` only when every viewer of the exposure accepts them
  // (docs/ATTACH_PROTOCOL.md); a second viewer that does not (an older visualiser) makes it send
  // `events` as objects to both. That viewer lives in the app's page, on its own channel object.
  const busPage = `<!DOCTYPE html><html><head><meta charset="utf-8"><link rel="icon" href="data:,"><title>app</title></head><body>
<script type="module">
import { EventBus } from '/pkg/${entry}';
const bus = new EventBus();
bus.subscribe('orders.*', () => {}, { name: 'billing' });
bus.expose('e2e-objects');
const old = new BroadcastChannel('switchyard:e2e-objects');
window.frames_ = { objects: 0, columns: 0 };
old.onmessage = (e) => {
  if (e.data?.type !== 'frame') return;
  if (Array.isArray(e.data.events)) window.frames_.objects += 1;
  if (e.data.columns) window.frames_.columns += 1;
};
const hello = (type) => old.postMessage({ v: 1, type, viewer: 'old-viewer' });
hello('hello');
setInterval(() => hello('ping'), 1000);
let n = 0;
setInterval(() => { bus.publish('orders.created', { n: n++ }); }, 40);
window.ready = true;
</script></body></html>`;
  const attachServer = await serve(undefined, { mounts: { '/pkg/': pkg }, pages: { '/app.html': busPage } });
  const app = await open(context, `${attachServer.url}/app.html`);
  const viz = await open(context, `${attachServer.url}/?attach=e2e-objects`);
  try {
    await eventually(() => app.page.evaluate(() => window.ready === true), 'the bus page loads the package', 30_000);
    await eventually(async () => /attached to "e2e-objects"/.test(await text(viz.page, 'source')), 'handshake completes', 15_000);
    await eventually(async () => (await count(viz.page, '[data-testid=timeline] .marble')) > 0, 'timeline shows marbles');
    await tab(viz.page, 'event-log');
    await eventually(async () => /orders\.created/.test(await text(viz.page, 'event-log')), 'the log lists the events');
    const frames = await app.page.evaluate(() => window.frames_);
    assert.ok(frames.objects > 0, `frames with events as objects: ${JSON.stringify(frames)}`);
    assert.equal(frames.columns, 0, 'no frame used columns while the old viewer was attached');
    assert.deepEqual(viz.problems, []);
  } finally {
    await viz.page.close();
    await app.page.close();
    await attachServer.close();
  }
});
