// The packed package's `switchyard/bridge` from Node, with its optional peers (mqtt.js, idb)
// taken from tests/node_modules as a user's `npm install mqtt` would provide them; and the
// bridge's source modules for unit tests (their `import 'switchyard'` resolved to the same
// installed package).

import { existsSync, mkdirSync, symlinkSync, writeFileSync } from 'node:fs';
import { register } from 'node:module';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { installDir, importPackage } from './package.mjs';

const here = dirname(fileURLToPath(import.meta.url));
const repo = resolve(here, '../../..');
const testsModules = join(repo, 'tests/node_modules');

/** Links tests/node_modules/<name> into the install folder (idempotent). */
function linkPeer(dir, name) {
  const target = join(dir, 'node_modules', name);
  if (existsSync(target)) return;
  mkdirSync(dirname(target), { recursive: true });
  try {
    symlinkSync(join(testsModules, name), target, 'dir');
  } catch (error) {
    if (error.code !== 'EEXIST') throw error;
  }
}

/** `{ ...switchyard, bridge: switchyard/bridge }` from the installed tarball, peers linked. */
export async function importBridge() {
  const dir = installDir();
  linkPeer(dir, 'mqtt');
  linkPeer(dir, 'idb');
  const entry = join(dir, 'bridge-entry.mjs');
  if (!existsSync(entry)) writeFileSync(entry, "export * from 'switchyard/bridge';\n");
  const [pkg, bridge] = await Promise.all([importPackage(), import(pathToFileURL(entry).href)]);
  return { ...pkg, ...bridge };
}

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
