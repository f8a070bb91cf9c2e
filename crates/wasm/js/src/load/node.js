// @ts-check
/**
 * Node, entry `switchyard`: instantiates the engine without snapshots (`switchyard_bg.wasm`)
 * synchronously, so `require('switchyard')` needs no init call. Bundled as CommonJS
 * (`node/index.cjs`); the ESM entry re-exports it, so both module systems share one instance.
 */

import * as wasm from 'switchyard-bindgen';

import { readEngine } from './engine-file.js';

wasm.initSync({ module: readEngine('switchyard_bg.wasm') });

/** The instantiated bindings. */
export const bindings = /** @type {import('../bindings.js').Bindings} */ (/** @type {unknown} */ (wasm));
