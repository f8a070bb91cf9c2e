// A plain `<script type="module">` page importing the package in headless Chromium.

import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';

import { collectErrors, launchChromium, serveStatic } from './helpers/browser.mjs';
import { installDir } from './helpers/package.mjs';

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

let server;

before(async () => {
  server = await serveStatic(installDir(), { '/': PAGE });
});

after(() => server?.close());

describe('browser', () => {
  test('a <script type="module"> page imports the package and works, with no console errors', async () => {
    const browser = await launchChromium();
    try {
      const page = await browser.context.newPage();
      const errors = collectErrors(page);
      await page.goto(`${server.origin}/`);
      await page.waitForFunction(() => window.result !== undefined, null, { timeout: 10_000 }).catch((e) => {
        throw new Error(`${e.message}; console errors: ${errors.join(' | ')}`);
      });
      const result = await page.evaluate(() => window.result);
      assert.deepEqual(result, { seen: [[42, 'orders.created']], code: 'E_INVALID_TOPIC', deadLetters: 1 });
      assert.deepEqual(errors, []);
    } finally {
      await browser.close();
    }
  });
});
