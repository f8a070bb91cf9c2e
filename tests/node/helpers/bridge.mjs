// `switchyard/bridge` from the installed tarball, and worker_threads realms running a bus with a
// link, driven by messages (tests/node/fixtures/bridge-worker.mjs).

import { copyFileSync, existsSync, writeFileSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { Worker } from 'node:worker_threads';

import { installDir } from './package.mjs';

const here = dirname(fileURLToPath(import.meta.url));

/** `import * as bridge from 'switchyard/bridge'` with `EventBus` and `SwitchyardError` beside. */
export async function importBridge() {
  const dir = installDir();
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

/** Resolves once `check()` is truthy (polled), or rejects after `ms`. */
export async function until(check, ms = 5000, what = 'condition') {
  const start = Date.now();
  for (;;) {
    const value = await check();
    if (value) return value;
    if (Date.now() - start > ms) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 10));
  }
}
