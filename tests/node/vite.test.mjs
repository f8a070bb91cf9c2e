// A Vite app built against the installed package, served as static files and opened in headless
// Chromium: `import { EventBus } from 'switchyard'` must work with no init call once bundled
// (Vite picks the `browser` export, emits the .wasm as an asset and rewrites its URL).
//
// Vite is pinned in tests/package.json and imported from tests/node_modules; the build and the
// page need no network.

import assert from 'node:assert/strict';
import { cpSync, mkdtempSync, readdirSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';

import { build } from 'vite';

import { collectErrors, launchChromium, serveStatic } from './helpers/browser.mjs';
import { installDir } from './helpers/package.mjs';
import { collectingLogger } from './helpers/vite.mjs';

const INDEX_HTML = `<!doctype html>
<html>
  <head>
    <meta charset="utf-8" />
    <link rel="icon" href="data:," />
    <title>switchyard in a Vite build</title>
  </head>
  <body>
    <p id="delivered"></p>
    <p id="matched"></p>
    <p id="waited"></p>
    <p id="stack"></p>
    <script type="module" src="/main.js"></script>
  </body>
</html>
`;

// What a user writes: a bare import, no init call, then the bus straight away.
const MAIN_JS = `import { EventBus } from 'switchyard';

const bus = new EventBus();
const delivered = [];
bus.subscribe('greetings.*', (payload, meta) => {
  delivered.push(meta.topic + ': ' + payload.text);
  document.querySelector('#delivered').textContent = delivered.join(' | ');
});
const waited = bus.waitFor('greetings.*', { filter: (payload) => payload.last === true });
const { matched } = bus.publish('greetings.vite', { text: 'hello from vite' });
document.querySelector('#matched').textContent = String(matched);
bus.publish('greetings.done', { text: 'bye', last: true });
document.querySelector('#waited').textContent = (await waited).text;
// A leak stack in a one-file production bundle: the app's frames share the package's script,
// and must survive the trimming of the package's own frames.
const probe = new EventBus({ captureStacks: true, maxListeners: 1 });
function userSubscribes() {
  return probe.subscribe('probe.t', () => {});
}
userSubscribes();
userSubscribes();
const frames = probe.leaks()[0].suspects[0].stack.split('\\n').filter((line) => /^\\s+at /.test(line));
document.querySelector('#stack').textContent = JSON.stringify(frames);
document.body.dataset.ready = 'yes';
`;

// An app that snapshots: `switchyard/snapshot` for the bus it persists, `switchyard` beside it.
const SNAPSHOT_MAIN_JS = `import { EventBus, SwitchyardError } from 'switchyard';
import { EventBus as SnapshotBus, SwitchyardError as SnapshotError } from 'switchyard/snapshot';

const bus = new SnapshotBus({ clock: 'manual' });
bus.subscribe('jobs.*', () => new Promise(() => {}), { name: 'worker' });
bus.publish('jobs.a', 'first');
const saved = structuredClone(bus.snapshot());
const seen = [];
SnapshotBus.restore(saved, { clock: 'manual', handlers: { worker: (payload) => seen.push(payload) } });
let leanError;
try {
  new EventBus().snapshot();
} catch (error) {
  leanError = error;
}
let fullError;
try {
  bus.publish('');
} catch (error) {
  fullError = error;
}
window.result = {
  seen,
  sameClass: SwitchyardError === SnapshotError,
  leanCode: leanError instanceof SnapshotError ? leanError.code : String(leanError),
  fullCode: fullError instanceof SwitchyardError ? fullError.code : String(fullError),
};
document.body.dataset.ready = 'yes';
`;

/** Made by `viteApp`, removed after the tests. */
const made = [];

/** Builds a Vite app whose script is `main` against the installed package; answers its dist folder. */
async function viteApp(main, warnings) {
  const root = mkdtempSync(join(tmpdir(), 'switchyard-vite-app-'));
  made.push(root);
  const dist = join(root, 'dist');
  writeFileSync(join(root, 'package.json'), JSON.stringify({ name: 'vite-user-app', private: true, type: 'module' }));
  writeFileSync(join(root, 'index.html'), INDEX_HTML);
  writeFileSync(join(root, 'main.js'), main);
  // The installed package, copied so that every file Vite resolves lies inside the project root.
  cpSync(join(installDir(), 'node_modules'), join(root, 'node_modules'), { recursive: true });
  await build({
    root,
    configFile: false,
    envDir: false,
    cacheDir: join(root, '.vite-cache'),
    customLogger: collectingLogger(warnings),
    logLevel: 'warn',
    build: { outDir: dist, emptyOutDir: true },
  });
  return dist;
}

let outDir;
let server;
let warnings = [];

before(async () => {
  outDir = await viteApp(MAIN_JS, warnings);
  server = await serveStatic(outDir);
});

after(() => {
  server?.close();
  for (const root of made) rmSync(root, { recursive: true, force: true });
});

describe('vite', () => {
  test('vite build emits the .wasm as a hashed asset, with no warnings', () => {
    const assets = readdirSync(join(outDir, 'assets'));
    const wasm = assets.filter((name) => name.endsWith('.wasm'));
    assert.equal(wasm.length, 1, `one .wasm in dist/assets, got ${assets.join(', ')}`);
    // The engine without snapshots: an app that imports only `switchyard` ships no other.
    assert.match(wasm[0], /^switchyard_bg-.+\.wasm$/);
    assert.ok(statSync(join(outDir, 'assets', wasm[0])).size > 10_000, 'the .wasm is the real module');
    assert.ok(assets.some((name) => name.endsWith('.js')), 'a JS chunk in dist/assets');
    assert.deepEqual(warnings, []);
  });

  test('the built app imports EventBus with no init call, delivers, and logs no console errors', async () => {
    const browser = await launchChromium();
    try {
      const page = await browser.context.newPage();
      const errors = collectErrors(page);
      const wasmResponses = [];
      page.on('response', (response) => {
        if (new URL(response.url()).pathname.endsWith('.wasm')) {
          wasmResponses.push([new URL(response.url()).pathname, response.status(), response.headers()['content-type']]);
        }
      });
      // An uncaught error (a .wasm that does not load, say) fails at once rather than at the timeout.
      const crashed = new Promise((_, reject) => page.on('pageerror', (error) => reject(error)));
      crashed.catch(() => {});
      await page.goto(`${server.origin}/`);
      await Promise.race([
        page.waitForFunction(() => document.body.dataset.ready === 'yes', null, { timeout: 20_000 }),
        crashed,
      ]).catch((e) => {
        throw new Error(`${e.message}; console errors: ${errors.join(' | ')}; wasm: ${JSON.stringify(wasmResponses)}`);
      });
      const shown = await page.evaluate(() => ({
        delivered: document.querySelector('#delivered').textContent,
        matched: document.querySelector('#matched').textContent,
        waited: document.querySelector('#waited').textContent,
        stack: JSON.parse(document.querySelector('#stack').textContent),
      }));
      // The first kept frame is the app's call, inside the app's bundle; the package's own
      // frames (the wasm, the bindings, the glue's subscribe) are cut.
      const stack = shown.stack;
      delete shown.stack;
      assert.ok(stack.length >= 2, JSON.stringify(stack));
      assert.match(stack[0], /\/assets\/[^/]+\.js:\d+:\d+\)?$/, JSON.stringify(stack));
      assert.ok(stack.every((line) => !/wasm|switchyard/.test(line)), JSON.stringify(stack));
      assert.deepEqual(shown, {
        delivered: 'greetings.vite: hello from vite | greetings.done: bye',
        matched: '2',
        waited: 'bye',
      });
      assert.equal(wasmResponses.length, 1, JSON.stringify(wasmResponses));
      const [path, status, type] = wasmResponses[0];
      assert.match(path, /^\/assets\/switchyard_bg-.+\.wasm$/);
      assert.equal(status, 200);
      assert.equal(type, 'application/wasm');
      assert.deepEqual(errors, []);
    } finally {
      await browser.close();
    }
  });
});

describe('vite, an app that imports switchyard/snapshot too', () => {
  let dist;
  let app;
  const appWarnings = [];

  before(async () => {
    dist = await viteApp(SNAPSHOT_MAIN_JS, appWarnings);
    app = await serveStatic(dist);
  });

  after(() => app?.close());

  test('vite build emits both engines, each once, with no warnings', () => {
    const wasm = readdirSync(join(dist, 'assets')).filter((name) => name.endsWith('.wasm')).sort();
    assert.equal(wasm.length, 2, wasm.join(', '));
    assert.match(wasm[0], /^switchyard_bg-.+\.wasm$/);
    assert.match(wasm[1], /^switchyard_snapshot_bg-.+\.wasm$/);
    assert.deepEqual(appWarnings, []);
  });

  test('the built app snapshots and restores a bus of switchyard/snapshot; SwitchyardError is one class across the entries', async () => {
    const browser = await launchChromium();
    try {
      const page = await browser.context.newPage();
      const errors = collectErrors(page);
      await page.goto(`${app.origin}/`);
      await page.waitForFunction(() => document.body.dataset.ready === 'yes', null, { timeout: 20_000 }).catch((e) => {
        throw new Error(`${e.message}; console errors: ${errors.join(' | ')}`);
      });
      assert.deepEqual(await page.evaluate(() => window.result), {
        seen: ['first'],
        sameClass: true,
        leanCode: 'E_UNSUPPORTED',
        fullCode: 'E_INVALID_TOPIC',
      });
      assert.deepEqual(errors, []);
    } finally {
      await browser.close();
    }
  });
});
