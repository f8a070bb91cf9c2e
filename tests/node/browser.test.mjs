// A plain `<script type="module">` page importing the package in headless Chromium.

import assert from 'node:assert/strict';
import { createReadStream, existsSync, mkdtempSync, rmSync, statSync } from 'node:fs';
import { createServer } from 'node:http';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import { extname, join, normalize } from 'node:path';
import { after, before, describe, test } from 'node:test';

import { installDir } from './helpers/package.mjs';

const require = createRequire(import.meta.url);
const { chromium } = require('playwright-core');

const PAGE = `<!doctype html>
<html><head><meta charset="utf-8"><link rel="icon" href="data:,"><title>switchyard</title></head>
<body>
<script type="module">
  import { EventBus, SwitchyardError } from '/node_modules/switchyard/web/index.js';
  const bus = new EventBus();
  const seen = [];
  bus.subscribe('orders.*', (payload, meta) => seen.push([payload, meta.topic]), { priority: 1 });
  bus.subscribe('orders.**', () => { throw new Error('isolated'); });
  bus.publish('orders.created', 42);
  let code = null;
  try { bus.publish('orders.*', 1); } catch (e) { code = e instanceof SwitchyardError ? e.code : String(e); }
  window.result = { seen, code, deadLetters: bus.deadLetters().length };
</script>
</body></html>`;

const TYPES = { '.html': 'text/html', '.js': 'text/javascript', '.mjs': 'text/javascript', '.wasm': 'application/wasm', '.json': 'application/json' };

let server;
let origin;
let profile;

before(async () => {
  const root = installDir();
  server = createServer((req, res) => {
    const path = decodeURIComponent(new URL(req.url, 'http://x').pathname);
    if (path === '/') {
      res.writeHead(200, { 'content-type': 'text/html' });
      res.end(PAGE);
      return;
    }
    const file = normalize(join(root, path));
    if (!file.startsWith(root) || !existsSync(file) || !statSync(file).isFile()) {
      res.writeHead(404);
      res.end();
      return;
    }
    res.writeHead(200, { 'content-type': TYPES[extname(file)] ?? 'application/octet-stream' });
    createReadStream(file).pipe(res);
  });
  await new Promise((resolve) => server.listen(0, '127.0.0.1', resolve));
  origin = `http://127.0.0.1:${server.address().port}`;
  profile = mkdtempSync(join(tmpdir(), 'switchyard-chromium-'));
});

after(() => {
  server?.close();
  if (profile) rmSync(profile, { recursive: true, force: true });
});

describe('browser', () => {
  test('a <script type="module"> page imports the package and works, with no console errors', async () => {
    const browser = await chromium.launchPersistentContext(profile, {
      executablePath: '/usr/bin/chromium',
      headless: true,
      args: [
        '--no-sandbox',
        '--disable-gpu',
        '--disable-background-networking',
        '--disable-component-update',
        '--disable-sync',
        '--no-first-run',
      ],
    });
    try {
      const page = await browser.newPage();
      const errors = [];
      page.on('console', (message) => {
        if (message.type() === 'error') errors.push(message.text());
      });
      page.on('pageerror', (error) => errors.push(String(error)));
      await page.goto(`${origin}/`);
      await page.waitForFunction(() => window.result !== undefined, null, { timeout: 10_000 }).catch((e) => {
        throw new Error(`${e.message}; console errors: ${errors.join(" | ")}`);
      });
      const result = await page.evaluate(() => window.result);
      assert.deepEqual(result, { seen: [[42, 'orders.created']], code: 'E_INVALID_TOPIC', deadLetters: 1 });
      assert.deepEqual(errors, []);
    } finally {
      await browser.close();
    }
  });
});
