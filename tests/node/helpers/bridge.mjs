// `switchyard/bridge` from the installed tarball, and worker_threads realms running a bus with a
// link, driven by messages (tests/node/fixtures/bridge-worker.mjs). connectMqtt's optional peer
// mqtt.js comes from tests/node_modules, as a user's `npm install mqtt` would provide it;
// `importBridgeSource` loads the bridge's source modules for unit tests.

import { copyFileSync, existsSync, mkdirSync, symlinkSync, writeFileSync } from 'node:fs';
import { register } from 'node:module';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { Worker } from 'node:worker_threads';

import { importPackage, installDir } from './package.mjs';

const here = dirname(fileURLToPath(import.meta.url));
const repo = resolve(here, '../../..');

/** Links tests/node_modules/<name> into the install folder (idempotent). */
function linkPeer(dir, name) {
  const target = join(dir, 'node_modules', name);
  if (existsSync(target)) return;
  mkdirSync(dirname(target), { recursive: true });
  try {
    symlinkSync(join(repo, 'tests/node_modules', name), target, 'dir');
  } catch (error) {
    if (error.code !== 'EEXIST') throw error;
  }
}

/** `import * as bridge from 'switchyard/bridge'` with `EventBus` and `SwitchyardError` beside. */
export async function importBridge() {
  const dir = installDir();
  linkPeer(dir, 'mqtt');
  const entry = join(dir, 'bridge-entry.mjs');
  if (!existsSync(entry)) {
    writeFileSync(
      entry,
      "export * from 'switchyard/bridge';\nexport { EventBus, SwitchyardError } from 'switchyard';\n",
    );
  }
  return import(pathToFileURL(entry).href);
}

/** The worker script, copied into the install folder so it resolves `switchyard` there. */
function workerScript() {
  const target = join(installDir(), 'bridge-worker.mjs');
  copyFileSync(resolve(here, '../fixtures/bridge-worker.mjs'), target);
  return target;
}

/**
 * A worker_threads realm with a bus: `call(op, args)` runs an operation of the fixture and
 * resolves with its answer.
 * @param {object} [workerData]
 */
export function realm(workerData = {}) {
  const worker = new Worker(workerScript(), { workerData });
  let next = 1;
  const waiting = new Map();
  worker.on('message', (m) => {
    if (m?.reply === undefined) return;
    const w = waiting.get(m.reply);
    waiting.delete(m.reply);
    if (m.error !== undefined) w.reject(new Error(m.error));
    else w.resolve(m.value);
  });
  worker.on('error', (e) => {
    for (const w of waiting.values()) w.reject(e);
  });
  return {
    worker,
    /** @param {string} op @param {any} [args] */
    call(op, args) {
      const id = next++;
      return new Promise((resolve, reject) => {
        waiting.set(id, { resolve, reject });
        worker.postMessage({ call: id, op, args });
      });
    },
    terminate: () => worker.terminate(),
  };
}

export { until } from '../../helpers/poll.mjs';

let hooked = false;
/** Imports `crates/wasm/js/bridge/mqtt/<file>` with `switchyard` resolved to the installed package. */
export async function importBridgeSource(file) {
  if (!hooked) {
    hooked = true;
    const dir = installDir();
    await importPackage(); // writes entry.mjs
    register('./switchyard-resolve.mjs', import.meta.url, { data: { parent: pathToFileURL(join(dir, 'entry.mjs')).href } });
  }
  return import(pathToFileURL(join(repo, 'crates/wasm/js/bridge/mqtt', file)).href);
}
