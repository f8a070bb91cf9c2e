// @ts-check
/**
 * Node, entry `switchyard/snapshot`: instantiates the engine with snapshots
 * (`switchyard_snapshot_bg.wasm`) synchronously. Bundled as CommonJS (`node/snapshot.cjs`);
 * `switchyard-bindgen` is then the wasm-bindgen module of that engine.
 */

import * as wasm from 'switchyard-bindgen';

import { readEngine } from './engine-file.js';

wasm.initSync({ module: readEngine('switchyard_snapshot_bg.wasm') });

/** The instantiated bindings. */
export const bindings = /** @type {import('../bindings.js').Bindings} */ (/** @type {unknown} */ (wasm));
