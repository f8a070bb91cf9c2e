// switchyard/bridge's MQTT client is an optional peer dependency: installing switchyard installs
// nothing more, an app that bundles the bridge without mqtt.js builds, and connectMqtt without it
// says what to install.

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { tarballPath } from './helpers/package.mjs';

const esbuild = resolve(dirname(fileURLToPath(import.meta.url)), '../node_modules/.bin/esbuild');
const dir = mkdtempSync(join(tmpdir(), 'switchyard-no-mqtt-'));
writeFileSync(join(dir, 'package.json'), JSON.stringify({ name: 'app', private: true, type: 'module' }));
execFileSync('npm', ['install', '--no-audit', '--no-fund', '--silent', tarballPath()], { cwd: dir, stdio: ['ignore', 'ignore', 'inherit'] });

test('installing switchyard installs no other package (mqtt.js is an optional peer)', () => {
  assert.deepEqual(readdirSync(join(dir, 'node_modules')).filter((n) => !n.startsWith('.')), ['switchyard']);
  const manifest = JSON.parse(readFileSync(join(dir, 'node_modules/switchyard/package.json'), 'utf8'));
  assert.deepEqual(manifest.peerDependenciesMeta, { mqtt: { optional: true } });
  assert.equal(manifest.dependencies, undefined);
});

test('an app bundling switchyard/bridge builds without mqtt.js installed, and the main entry never names it', () => {
  writeFileSync(join(dir, 'tabs.js'), "import { shareTopics, connectMqtt } from 'switchyard/bridge';\nconsole.log(shareTopics, connectMqtt);\n");
  writeFileSync(join(dir, 'main.js'), "import { EventBus } from 'switchyard';\nconsole.log(EventBus);\n");
  for (const file of ['tabs', 'main']) {
    execFileSync(esbuild, [`${file}.js`, '--bundle', '--format=esm', '--platform=browser', `--outfile=out-${file}.js`, '--log-level=error'], { cwd: dir });
  }
  assert.doesNotMatch(readFileSync(join(dir, 'out-main.js'), 'utf8'), /mqtt|indexedDB/i);
});

test('connectMqtt without mqtt.js rejects with E_INVALID_OPTION saying to install it, and subscribes nothing', async () => {
  writeFileSync(
    join(dir, 'run.mjs'),
    `import { EventBus } from 'switchyard';
import { connectMqtt } from 'switchyard/bridge';
const bus = new EventBus();
try { await connectMqtt(bus, { url: 'ws://127.0.0.1:1', publish: ['a'] }); console.log('connected?'); }
catch (e) { console.log(JSON.stringify({ code: e.code, message: e.message, subs: bus.subscriptions().length })); }
`,
  );
  const out = JSON.parse(execFileSync(process.execPath, ['run.mjs'], { cwd: dir, encoding: 'utf8' }));
  assert.equal(out.code, 'E_INVALID_OPTION');
  assert.match(out.message, /npm install mqtt/);
  assert.equal(out.subs, 0);
});

test.after(() => rmSync(dir, { recursive: true, force: true }));
