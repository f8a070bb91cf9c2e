// `switchyard/devtools` in a Vite app that installed the packed tarball, as a user's would: the
// app imports `switchyard`, and `switchyard/devtools` only when the user asks for the panel.
// Opened in headless Chromium from `vite build` (served as static files, with real 404s) and
// from the Vite dev server, `openDevtools(bus)` must show the visualiser attached to the app's
// bus. The visualiser's files must ship in the build as assets of their own, requested only when
// `openDevtools` runs, and an app that imports only `switchyard` must ship none of them.
// A screenshot of the panel over the built app lands in target/screenshots/vite-devtools.png.
//
// Vite is pinned in tests/package.json and imported from tests/node_modules; no network.

import assert from 'node:assert/strict';
import { cpSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { after, before, describe, test } from 'node:test';

import { build, createServer } from 'vite';

import { collectErrors, launchChromium, serveStatic } from './helpers/browser.mjs';
import { installDir } from './helpers/package.mjs';
import { collectingLogger } from './helpers/vite.mjs';
import { eventually } from '../helpers/poll.mjs';

const repo = resolve(dirname(fileURLToPath(import.meta.url)), '../..');
const screenshots = join(resolve(repo, process.env.CARGO_TARGET_DIR ?? 'target'), 'screenshots');

const page = (title) => `<!doctype html>
<html>
  <head>
    <meta charset="utf-8" />
    <link rel="icon" href="data:," />
    <title>${title}</title>
    <style>
      body { margin: 0; font: 15px system-ui, sans-serif; background: #f6f5f0; color: #222; }
      header { padding: 16px 24px; background: #24546e; color: #fff; font-size: 20px; }
      main { padding: 20px 24px; display: flex; gap: 14px; }
      article { padding: 12px 16px; background: #fff; border-radius: 8px; box-shadow: 0 1px 3px rgba(0,0,0,.15); }
    </style>
  </head>
  <body>
    <header>Kitchen orders · Vite app</header>
    <main>
      <article>Table 4 · 2 pizzas</article>
      <article>Table 7 · soup</article>
      <article id="served">served: 0</article>
    </main>
    <script type="module" src="/main.js"></script>
  </body>
</html>
`;

// The app: a bus with named subscriptions and some history, and the panel one dynamic import
// away (what a user writes to keep the devtools out of the main chunk).
const MAIN_JS = `import { EventBus } from 'switchyard';

const bus = new EventBus();
let served = 0;
bus.subscribe('orders.*', () => {}, { name: 'kitchen-display' });
bus.subscribe('orders.served', () => {
  document.querySelector('#served').textContent = 'served: ' + ++served;
}, { name: 'waiter-tally' });
// Refunds fail until a test sets window.refundsFail = false; then they are recorded.
window.refunded = [];
bus.subscribe('orders.cancelled', (order) => {
  if (window.refundsFail !== false) throw new Error('refund failed');
  window.refunded.push(order.table);
}, { name: 'refunds' });
bus.publish('orders.placed', { table: 4 });
bus.publish('orders.served', { table: 7 });
bus.publish('orders.cancelled', { table: 9 });
await bus.idle();
window.deadLetterCount = () => bus.deadLetters().length;
window.publishing = () => setInterval(() => bus.publish('orders.served', { table: 1 }), 100);
window.openPanel = async (options = { position: 'bottom' }) => {
  const { openDevtools } = await import('switchyard/devtools');
  window.closePanel = openDevtools(bus, options);
};
document.body.dataset.ready = 'yes';
`;

// An app that imports only the bus.
const PLAIN_JS = `import { EventBus } from 'switchyard';

const bus = new EventBus();
bus.subscribe('t', () => {});
bus.publish('t', 1);
await bus.idle();
document.body.dataset.ready = 'yes';
`;

/** A file the visualiser needs (its page, module, stylesheet or wasm), by URL path or name. */
const VISUALISER = /devtools|visualiser/;

let installed;
const made = [];

/** A Vite project in a temporary folder with `main.js` as its script and the package installed. */
function project(main) {
  const root = mkdtempSync(join(tmpdir(), 'switchyard-vite-devtools-'));
  made.push(root);
  writeFileSync(join(root, 'package.json'), JSON.stringify({ name: 'vite-user-app', private: true, type: 'module' }));
  writeFileSync(join(root, 'index.html'), page('switchyard devtools in Vite'));
  writeFileSync(join(root, 'main.js'), main);
  // The installed package, copied so that every file Vite resolves lies inside the project root.
  cpSync(join(installed, 'node_modules'), join(root, 'node_modules'), { recursive: true });
  return root;
}

/** Vite's options for `root`, its warnings and errors collected into `warnings`. */
function config(root, warnings) {
  const logger = collectingLogger(warnings);
  return { root, configFile: false, envDir: false, cacheDir: join(root, '.vite-cache'), customLogger: logger, logLevel: 'warn' };
}


/**
 * Opens the app at `origin`, checks that nothing of the devtools loads before `openPanel()`, opens
 * the panel and checks it attaches to the app's bus and lists its subscriptions; `close()` then
 * leaves no panel. Returns the requests (path and status) made after the panel opened.
 */
async function openPanelIn(origin, screenshot) {
  const browser = await launchChromium();
  try {
    const tab = await browser.context.newPage();
    await tab.setViewportSize({ width: 1280, height: 800 });
    const errors = collectErrors(tab);
    const requests = [];
    tab.on('response', (r) => requests.push([new URL(r.url()).pathname, r.status()]));
    await tab.goto(`${origin}/`);
    await eventually(() => tab.evaluate(() => document.body.dataset.ready === 'yes'), `the app loads (errors: ${errors.join(' | ')})`);
    const beforeOpen = requests.map(([path]) => path);
    assert.ok(beforeOpen.some((p) => p.endsWith('.wasm')), `the bus loaded its wasm: ${beforeOpen}`);
    assert.deepEqual(beforeOpen.filter((p) => VISUALISER.test(p)), [], 'nothing of the devtools is requested before openDevtools');

    const opened = requests.length;
    await tab.evaluate(() => window.openPanel());
    const frame = await eventually(async () => tab.frames().find((f) => f.url().includes('devtools=1')), 'the devtools iframe loads');
    await eventually(
      async () => /attached to "in-page"/.test(await frame.getByTestId('source').textContent()),
      `the panel attaches to the app's bus (errors: ${errors.join(' | ')}; requests: ${JSON.stringify(requests.slice(opened))})`,
    );
    await eventually(async () => {
      const text = await frame.locator('[data-testid=topology]').textContent();
      return ['kitchen-display', 'waiter-tally', 'refunds'].every((name) => text.includes(name));
    }, "the topology names the app's subscriptions");
    // The app's dead letter, redriven from the panel once refunds work, reaches its handler.
    await frame.evaluate(() => document.querySelector('[data-testid=tab-dead-letters]').click());
    await eventually(async () => (await frame.locator('[data-testid=dead-letter-row]').count()) === 1, "the panel lists the app's dead letter");
    await tab.evaluate(() => { window.refundsFail = false; });
    await frame.evaluate(() => document.querySelector('[data-testid=redrive-one]').click());
    await eventually(() => tab.evaluate(() => window.refunded.length === 1 && window.deadLetterCount() === 0), "the redriven dead letter reaches the app's handler");
    assert.deepEqual(await tab.evaluate(() => window.refunded), [9]);
    await frame.evaluate(() => document.querySelector('[data-testid=tab-timeline]').click());
    const timer = await tab.evaluate(() => window.publishing());
    await eventually(async () => (await frame.locator('[data-testid=timeline] .marble').count()) > 0, 'the timeline shows live messages');
    if (screenshot) {
      await tab.waitForTimeout(1200);
      mkdirSync(screenshots, { recursive: true });
      await tab.screenshot({ path: join(screenshots, screenshot) });
    }
    await tab.evaluate((id) => clearInterval(id), timer);
    await tab.evaluate(() => window.closePanel());
    assert.equal(await tab.evaluate(() => document.querySelectorAll('switchyard-devtools, iframe').length), 0, 'close() removes the panel');
    assert.deepEqual(errors, []);
    return requests.slice(opened);
  } finally {
    await browser.close();
  }
}

before(() => {
  installed = installDir();
});

after(() => {
  for (const root of made) rmSync(root, { recursive: true, force: true });
});

describe('switchyard/devtools in a Vite production build', () => {
  let app;
  let dist;
  const warnings = [];

  before(async () => {
    app = project(MAIN_JS);
    dist = join(app, 'dist');
    await build({ ...config(app, warnings), build: { outDir: dist, emptyOutDir: true } });
  });

  test('vite build ships the visualiser as assets of their own, outside the main chunk, with no warnings', () => {
    const assets = readdirSync(join(dist, 'assets'));
    const named = (pattern) => assets.filter((name) => pattern.test(name));
    assert.equal(named(/^visualiser-.+\.js$/).length, 1, `the visualiser's module: ${assets}`);
    assert.equal(named(/^visualiser_bg-.+\.wasm$/).length, 1, `the visualiser's wasm: ${assets}`);
    assert.equal(named(/^visualiser-.+\.css$/).length, 1, `the visualiser's stylesheet: ${assets}`);
    assert.equal(named(/\.html$/).length, 1, `the visualiser's page: ${assets}`);
    const entry = readFileSync(join(dist, 'index.html'), 'utf8').match(/<script type="module"[^>]* src="\/assets\/([^"]+)"/)?.[1];
    assert.ok(entry, 'the built index.html loads one entry chunk');
    const main = readFileSync(join(dist, 'assets', entry), 'utf8');
    assert.ok(!/visualiser|switchyard:devtools/.test(main), 'the main chunk holds neither the devtools module nor a visualiser URL');
    assert.match(main, /import\(\W*\.\/devtools-[^/]+\.js\W*\)/, 'the devtools module is a chunk of its own, imported when asked');
    assert.ok(!/modulepreload[^>]*(devtools|visualiser)/.test(readFileSync(join(dist, 'index.html'), 'utf8')), 'nothing of the devtools is preloaded');
    assert.deepEqual(warnings, []);
  });

  test('openDevtools in the built app loads the visualiser from the build and attaches it to the bus', async () => {
    const server = await serveStatic(dist);
    try {
      const requests = await openPanelIn(server.origin, 'vite-devtools.png');
      for (const pattern of [/^\/assets\/index-.+\.html$/, /^\/assets\/visualiser-.+\.js$/, /^\/assets\/visualiser_bg-.+\.wasm$/, /^\/assets\/visualiser-.+\.css$/]) {
        assert.ok(requests.some(([path, status]) => pattern.test(path) && status === 200), `${pattern} loaded: ${JSON.stringify(requests)}`);
      }
      assert.deepEqual(requests.filter(([, status]) => status !== 200), [], 'every request of the panel succeeds');
    } finally {
      server.close();
    }
  });

  test("openDevtools with mode 'window' in the built app shows the bus in a popup of the app's origin", async () => {
    const server = await serveStatic(dist);
    const browser = await launchChromium();
    try {
      const tab = await browser.context.newPage();
      const errors = collectErrors(tab);
      await tab.goto(`${server.origin}/`);
      await eventually(() => tab.evaluate(() => document.body.dataset.ready === 'yes'), 'the app loads');
      const popupOpened = tab.waitForEvent('popup');
      await tab.evaluate(() => window.openPanel({ mode: 'window' }));
      const popup = await popupOpened;
      assert.equal(new URL(popup.url()).origin, server.origin);
      await eventually(async () => {
        const text = await popup.locator('[data-testid=topology]').textContent();
        return ['kitchen-display', 'waiter-tally', 'refunds'].every((name) => text.includes(name));
      }, "the popup's topology names the app's subscriptions");
      const closed = popup.waitForEvent('close');
      await tab.evaluate(() => window.closePanel());
      await closed;
      assert.deepEqual(errors, []);
    } finally {
      await browser.close();
      server.close();
    }
  });

  test("a page of another origin that frames the built visualiser page cannot choose the script it loads", async () => {
    const victim = await serveStatic(dist);
    const pageOf = readdirSync(join(dist, 'assets')).find((name) => name.endsWith('.html'));
    // The other origin frames the page and keeps telling it to load its script.
    const evil = await serveStatic(join(dist, 'assets'), {
      '/': `<!doctype html><iframe src="${victim.origin}/assets/${pageOf}?devtools=1"></iframe><script>
        const assets = { js: location.origin + '/evil.js', wasm: location.origin + '/evil.wasm', css: location.origin + '/evil.css' };
        setInterval(() => frames[0]?.postMessage({ v: 1, type: 'switchyard:devtools-assets', assets }, '*'), 20);
      </script>`,
    });
    const browser = await launchChromium();
    try {
      const tab = await browser.context.newPage();
      const requests = [];
      tab.on('request', (r) => requests.push(r.url()));
      await tab.goto(`${evil.origin}/`);
      // The page waits 3 s for its opener's answer, then loads the files next to it.
      const loads = (url) => url.includes('/evil.') || (url.startsWith(victim.origin) && url.includes('visualiser'));
      await eventually(async () => requests.some(loads), 'the framed page loads a script', 10_000);
      await tab.waitForTimeout(300);
      assert.deepEqual(requests.filter((url) => url.includes('/evil.')), [], "the other origin's files are never requested");
      assert.ok(requests.some((url) => url.startsWith(victim.origin) && url.includes('visualiser')), 'the page gave up waiting and loaded its own files');
    } finally {
      await browser.close();
      victim.close();
      evil.close();
    }
  });

  test('the build of an app that imports only switchyard ships no devtools file', async () => {
    const plain = project(PLAIN_JS);
    const out = join(plain, 'dist');
    const plainWarnings = [];
    await build({ ...config(plain, plainWarnings), build: { outDir: out, emptyOutDir: true } });
    const assets = readdirSync(join(out, 'assets'));
    assert.ok(assets.some((name) => name.endsWith('.wasm')), `the bus's wasm: ${assets}`);
    assert.deepEqual(assets.filter((name) => VISUALISER.test(name) || name.endsWith('.html') || name.endsWith('.css')), []);
    assert.deepEqual(plainWarnings, []);
  });
});

describe('switchyard/devtools in the Vite dev server', () => {
  let server;
  const warnings = [];

  before(async () => {
    const app = project(MAIN_JS);
    server = await createServer({ ...config(app, warnings), server: { host: '127.0.0.1', port: 0, hmr: false } });
    await server.listen();
  });

  after(async () => {
    await server?.close();
  });

  test('openDevtools in the dev server loads the visualiser from the package and attaches it to the bus', async () => {
    const origin = new URL(server.resolvedUrls.local[0]).origin;
    const requests = await openPanelIn(origin, 'vite-devtools-dev.png');
    for (const name of ['index.html', 'visualiser.js', 'visualiser_bg.wasm', 'visualiser.css']) {
      assert.ok(requests.some(([path, status]) => path === `/node_modules/switchyard/web/devtools-app/${name}` && status === 200), `${name} loaded: ${JSON.stringify(requests)}`);
    }
    assert.deepEqual(requests.filter(([, status]) => status >= 400), [], 'every request of the panel succeeds');
    assert.deepEqual(warnings, []);
  });
});
