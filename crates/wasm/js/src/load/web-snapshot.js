// @ts-check
/**
 * Browsers and bundlers, entry `switchyard/snapshot`: instantiates the engine with snapshots
 * (`switchyard_snapshot_bg.wasm`, next to the bundle) before anything is exported. The literal
 * `new URL(..., import.meta.url)` lets bundlers find and copy that `.wasm`, and only it: an app
 * that imports only `switchyard` never references this file.
 */

import init, * as wasm from 'switchyard-bindgen';

await init({ module_or_path: new URL('./switchyard_snapshot_bg.wasm', import.meta.url) });

/** The instantiated bindings. */
export const bindings = /** @type {import('../bindings.js').Bindings} */ (/** @type {unknown} */ (wasm));
