// The two engines of the package: `switchyard` loads a `.wasm` without snapshots, and
// `switchyard/snapshot` the one with them (docs/ARCHITECTURE.md "Where the bytes go"). On a bus
// of `switchyard`, `snapshot()` and `EventBus.restore()` throw a SwitchyardError that says where
// they are; `SwitchyardError` is one class whichever entry threw, under `import` and `require`;
// and an app that imports only `switchyard` bundles and references only the engine without
// snapshots.

import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { describe, test } from 'node:test';

import * as esbuild from 'esbuild';

import { importPackage, importSnapshotPackage, installDir, requirePackage, requireSnapshotPackage } from './helpers/package.mjs';

const lean = await importPackage();
const full = await importSnapshotPackage();

/** The error `fn` throws (fails if it returns). */
function thrown(fn) {
  try {
    fn();
  } catch (error) {
    return error;
  }
  assert.fail('expected a throw');
}

describe('switchyard without snapshots', () => {
  for (const [label, pkg] of [
    ['import', lean],
    ['require', requirePackage()],
  ]) {
    test(`bus.snapshot() and EventBus.restore() of switchyard (${label}) throw E_UNSUPPORTED naming switchyard/snapshot, and change nothing`, () => {
      const bus = new pkg.EventBus();
      const seen = [];
      bus.subscribe('a', (p) => seen.push(p), { name: 'keeper' });
      bus.publish('a', 1);
      const before = bus.metrics().totals;
      for (const error of [thrown(() => bus.snapshot()), thrown(() => pkg.EventBus.restore(full.EventBus.prototype.snapshot.call(new full.EventBus())))]) {
        assert.ok(error instanceof pkg.SwitchyardError, String(error));
        assert.equal(error.code, 'E_UNSUPPORTED');
        assert.match(error.message, /switchyard\/snapshot/);
      }
      assert.deepEqual(bus.metrics().totals, before);
      bus.publish('a', 2);
      assert.deepEqual(seen, [1, 2]);
      bus.free();
    });
  }

  test('a bus and the EventBus class of switchyard list the same enumerable keys as those of switchyard/snapshot', () => {
    const keys = (bus) => {
      const out = [];
      for (const key in bus) out.push(key);
      bus.free();
      return out;
    };
    assert.deepEqual(keys(new lean.EventBus()), keys(new full.EventBus()));
    assert.deepEqual(Object.keys(lean.EventBus), Object.keys(full.EventBus));
  });

  test('snapshot() on a freed bus of switchyard is E_CLOSED, and on something else E_INVALID_RECEIVER, as every method', () => {
    const bus = new lean.EventBus();
    assert.equal(thrown(() => lean.EventBus.prototype.snapshot.call({})).code, 'E_INVALID_RECEIVER');
    bus.free();
    assert.equal(thrown(() => bus.snapshot()).code, 'E_CLOSED');
  });
});

describe('switchyard/snapshot', () => {
  test('a bus of switchyard/snapshot snapshots and restores, with the API of switchyard', () => {
    const bus = new full.EventBus({ clock: 'manual' });
    bus.subscribe('jobs.*', () => new Promise(() => {}), { name: 'worker' });
    bus.publish('jobs.a', { n: 1 });
    bus.publish('jobs.b', { n: 2 });
    const seen = [];
    const restored = full.EventBus.restore(structuredClone(bus.snapshot()), {
      clock: 'manual',
      handlers: { worker: (payload, meta) => seen.push([meta.topic, payload.n]) },
    });
    assert.ok(restored instanceof full.EventBus);
    assert.deepEqual(seen, [['jobs.a', 1], ['jobs.b', 2]]);
    assert.ok(restored.subscriptions()[0].name === 'worker');
    // The same exports and members as switchyard (the two entries share their JavaScript).
    assert.deepEqual(Object.keys(full).sort(), Object.keys(lean).sort());
    const members = (Class) => Object.getOwnPropertyNames(Class.prototype).sort();
    assert.deepEqual(members(full.EventBus), members(lean.EventBus));
    assert.deepEqual(members(full.Subscription), members(lean.Subscription));
  });

  test('SwitchyardError is one class across switchyard and switchyard/snapshot, under import and require', () => {
    const classes = [lean.SwitchyardError, full.SwitchyardError, requirePackage().SwitchyardError, requireSnapshotPackage().SwitchyardError];
    for (const Class of classes) assert.equal(Class, lean.SwitchyardError);
    // Thrown by either engine (Rust) and by either entry's JavaScript.
    const errors = [
      thrown(() => new full.EventBus().publish('')),
      thrown(() => full.EventBus.restore({})),
      thrown(() => full.EventBus.prototype.metrics.call({})),
      thrown(() => new lean.EventBus().publish('')),
      thrown(() => new lean.EventBus().snapshot()),
    ];
    for (const error of errors) {
      assert.ok(error instanceof lean.SwitchyardError && error instanceof full.SwitchyardError, String(error));
      assert.equal(error.constructor, lean.SwitchyardError);
    }
  });

  test('the entries are separate instances: a bus of one is not a receiver for the other', () => {
    const leanBus = new lean.EventBus();
    const error = thrown(() => full.EventBus.prototype.metrics.call(leanBus));
    assert.equal(error.code, 'E_INVALID_RECEIVER');
    assert.ok(error instanceof lean.SwitchyardError);
  });
});

describe('package layout of the two engines', () => {
  /** esbuild's bundle of `source` from the install folder, as a browser app's bundler makes it. */
  async function bundle(source) {
    const result = await esbuild.build({
      stdin: { contents: source, resolveDir: installDir() },
      absWorkingDir: installDir(),
      bundle: true,
      write: false,
      metafile: true,
      format: 'esm',
      platform: 'browser',
      target: 'es2022',
      logLevel: 'silent',
    });
    const inputs = Object.keys(result.metafile.inputs).filter((input) => input.includes('node_modules/switchyard/'));
    return { inputs: inputs.sort(), text: result.outputFiles[0].text };
  }

  test("a browser bundle of `import { EventBus } from 'switchyard'` references only the engine without snapshots", async () => {
    const { inputs, text } = await bundle("import { EventBus } from 'switchyard';\nglobalThis.bus = new EventBus();\n");
    assert.deepEqual(inputs, ['node_modules/switchyard/web/errors.js', 'node_modules/switchyard/web/index.js']);
    assert.match(text, /new URL\("\.\/switchyard_bg\.wasm", import\.meta\.url\)/);
    assert.doesNotMatch(text, /switchyard_snapshot/);
  });

  test("a browser bundle of `import { EventBus } from 'switchyard/snapshot'` references only the engine with snapshots", async () => {
    const { inputs, text } = await bundle("import { EventBus } from 'switchyard/snapshot';\nglobalThis.bus = new EventBus();\n");
    assert.deepEqual(inputs, ['node_modules/switchyard/web/errors.js', 'node_modules/switchyard/web/snapshot.js']);
    assert.match(text, /new URL\("\.\/switchyard_snapshot_bg\.wasm", import\.meta\.url\)/);
    assert.doesNotMatch(text, /["'/]switchyard_bg\.wasm/);
  });

  test('switchyard/bridge loads no engine of its own: with switchyard/snapshot, a browser bundle references only the engine with snapshots', async () => {
    const { inputs, text } = await bundle(
      "import { EventBus } from 'switchyard/snapshot';\nimport { shareTopics } from 'switchyard/bridge';\nglobalThis.x = [new EventBus(), shareTopics];\n",
    );
    assert.deepEqual(inputs, ['node_modules/switchyard/web/bridge.js', 'node_modules/switchyard/web/errors.js', 'node_modules/switchyard/web/snapshot.js']);
    assert.doesNotMatch(text, /["'/]switchyard_bg\.wasm/);
    const root = join(installDir(), 'node_modules/switchyard');
    assert.doesNotMatch(readFileSync(join(root, 'node/bridge.cjs'), 'utf8'), /require\("switchyard"\)/);
  });

  test("switchyard/bridge's errors are the one SwitchyardError, on a bus of switchyard/snapshot", async () => {
    const entry = join(installDir(), 'entry-bridge.mjs');
    writeFileSync(entry, "export * from 'switchyard/bridge';\n");
    const bridge = await import(pathToFileURL(entry).href);
    const bus = new full.EventBus();
    const error = thrown(() => bridge.shareTopics(bus, { topics: ['a'] }));
    assert.equal(error.code, 'E_INVALID_OPTION');
    assert.ok(error instanceof lean.SwitchyardError && error instanceof full.SwitchyardError);
    bus.free();
  });

  test('exports maps switchyard/snapshot to its own bundles and declarations, and Node reads only its own engine', () => {
    const root = join(installDir(), 'node_modules/switchyard');
    const manifest = JSON.parse(readFileSync(join(root, 'package.json'), 'utf8'));
    assert.deepEqual(manifest.exports['./snapshot'], {
      node: {
        import: { types: './snapshot.d.ts', default: './node/snapshot.mjs' },
        require: { types: './snapshot.d.cts', default: './node/snapshot.cjs' },
      },
      types: './snapshot.d.ts',
      browser: './web/snapshot.js',
      default: './web/snapshot.js',
    });
    const leanNode = readFileSync(join(root, 'node/index.cjs'), 'utf8');
    const fullNode = readFileSync(join(root, 'node/snapshot.cjs'), 'utf8');
    assert.match(leanNode, /readEngine\("switchyard_bg\.wasm"\)/);
    assert.doesNotMatch(leanNode, /switchyard_snapshot_bg/);
    assert.match(fullNode, /readEngine\("switchyard_snapshot_bg\.wasm"\)/);
  });

  test("both entries load and seed their engine in Node with the global crypto turned off (Node's own webcrypto)", (t) => {
    const script =
      "const a = require('switchyard'); const b = require('switchyard/snapshot');" +
      "const bus = new b.EventBus(); bus.subscribe('a', () => {}); bus.publish('a', 1);" +
      "b.EventBus.restore(bus.snapshot()); new a.EventBus().publish('x', 1); console.log(typeof crypto, 'ok');";
    // A file, not `-e`: there every builtin module is a global, `crypto` included.
    const file = join(installDir(), 'no-global-crypto.cjs');
    writeFileSync(file, script);
    const run = spawnSync(process.execPath, ['--no-experimental-global-webcrypto', file], { encoding: 'utf8' });
    if (/invalid negation|bad option/.test(run.stderr)) {
      t.skip(`Node ${process.version} has no flag to turn the global crypto off`);
      return;
    }
    assert.equal(run.status, 0, run.stderr);
    assert.equal(run.stdout.trim(), 'undefined ok');
  });
});
