// The package loads with no init call from Node ESM and CommonJS, as one shared instance.

import assert from 'node:assert/strict';
import { execFileSync, spawnSync } from 'node:child_process';
import { copyFileSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, test } from 'node:test';

import { build } from 'esbuild';

import { importPackage, installDir, requirePackage } from './helpers/package.mjs';

describe('loading', () => {
  test('ESM import works with no init call', async () => {
    const { EventBus, SwitchyardError, Subscription } = await importPackage();
    assert.equal(typeof EventBus, 'function');
    assert.equal(typeof Subscription, 'function');
    assert.ok(new SwitchyardError('E_CLOSED', 'x') instanceof Error);
    const bus = new EventBus();
    let got;
    bus.subscribe('a', (p) => {
      got = p;
    });
    bus.publish('a', 1);
    assert.equal(got, 1);
  });

  test('CommonJS require works and shares the ESM instance', async () => {
    const cjs = requirePackage();
    const esm = await importPackage();
    assert.equal(cjs.EventBus, esm.EventBus);
    assert.equal(cjs.SwitchyardError, esm.SwitchyardError);
    try {
      new cjs.EventBus({ capacity: -1 });
      assert.fail('should throw');
    } catch (e) {
      assert.ok(e instanceof esm.SwitchyardError);
      assert.equal(e.code, 'E_INVALID_OPTION');
    }
  });

  test('a plain CommonJS script in a child process can require it', () => {
    const dir = installDir();
    const script = join(dir, 'check.cjs');
    writeFileSync(
      script,
      "const { EventBus } = require('switchyard');\n" +
        "const bus = new EventBus(); let n = 0; bus.subscribe('x.*', () => n++);\n" +
        "bus.publish('x.y', 1); process.stdout.write(String(n));\n",
    );
    assert.equal(execFileSync(process.execPath, [script], { encoding: 'utf8' }), '1');
  });

  test('a Node process exits once nothing is pending, even with a stale engine deadline', () => {
    const dir = installDir();
    const script = join(dir, 'exits.mjs');
    writeFileSync(
      script,
      "import { EventBus } from 'switchyard';\n" +
        "const bus = new EventBus();\n" +
        "const sub = bus.subscribe('t', () => new Promise(() => {}), { timeoutMs: 600000 });\n" +
        "bus.publish('t', 1);\n" +
        "sub.unsubscribe();\n" +
        "process.stdout.write('done');\n",
    );
    const started = Date.now();
    assert.equal(execFileSync(process.execPath, [script], { encoding: 'utf8', timeout: 10_000 }), 'done');
    assert.ok(Date.now() - started < 10_000);
  });

  test('package.json declares exports for types, node import/require, browser and default', () => {
    const manifest = JSON.parse(readFileSync(join(installDir(), 'node_modules/switchyard/package.json'), 'utf8'));
    const root = manifest.exports['.'];
    assert.equal(root.types, './index.d.ts');
    assert.ok(root.node.import && root.node.require);
    assert.ok(root.browser && root.default);
  });
});

// A Node app that bundles its code (serverless functions, CLIs) carries the package's loader into
// its bundle, far from the package's `web/switchyard_bg.wasm`.
describe('an app bundled for Node', () => {
  const APP = "import { EventBus } from 'switchyard';\n" +
    'const bus = new EventBus();\n' +
    "bus.subscribe('orders.created', (order) => process.stdout.write(`shipped ${order.id}`));\n" +
    "bus.publish('orders.created', { id: 'o-1' });\n";

  /** Bundles APP from a fresh folder inside the install folder; returns the bundle's path. */
  async function bundleApp(external) {
    const folder = mkdtempSync(join(installDir(), 'bundled-app-'));
    writeFileSync(join(folder, 'app.mjs'), APP);
    const outfile = join(folder, 'dist', 'app.cjs');
    await build({
      entryPoints: [join(folder, 'app.mjs')],
      bundle: true,
      platform: 'node',
      format: 'cjs',
      outfile,
      external: external ? ['switchyard'] : [],
      logLevel: 'silent',
    });
    return { folder, outfile };
  }

  test('runs when switchyard is left external', async () => {
    const { folder, outfile } = await bundleApp(true);
    try {
      assert.equal(execFileSync(process.execPath, [outfile], { encoding: 'utf8' }), 'shipped o-1');
    } finally {
      rmSync(folder, { recursive: true, force: true });
    }
  });

  test('runs with switchyard inside the bundle when the engine is copied beside it', async () => {
    const { folder, outfile } = await bundleApp(false);
    try {
      copyFileSync(join(installDir(), 'node_modules/switchyard/web/switchyard_bg.wasm'), join(folder, 'dist', 'switchyard_bg.wasm'));
      assert.equal(execFileSync(process.execPath, [outfile], { encoding: 'utf8' }), 'shipped o-1');
    } finally {
      rmSync(folder, { recursive: true, force: true });
    }
  });

  test('without the engine, fails at load with an error that names the file and both fixes', async () => {
    const { folder, outfile } = await bundleApp(false);
    try {
      const run = spawnSync(process.execPath, [outfile], { encoding: 'utf8' });
      assert.notEqual(run.status, 0);
      assert.match(run.stderr, /switchyard: its engine switchyard_bg\.wasm was not found/);
      assert.match(run.stderr, /--external:switchyard/);
      assert.match(run.stderr, /copy node_modules\/switchyard\/web\/switchyard_bg\.wasm beside the bundle/);
    } finally {
      rmSync(folder, { recursive: true, force: true });
    }
  });
});
