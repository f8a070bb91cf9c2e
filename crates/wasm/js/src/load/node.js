// @ts-check
/**
 * Node: reads the package's one `.wasm` (beside the browser bundle, in `web/`) and instantiates
 * it synchronously, so `require('switchyard')` needs no init call. Bundled as CommonJS
 * (`node/index.cjs`); the ESM entry re-exports it, so both module systems share one instance.
 */

import { readFileSync } from 'node:fs';
import { join } from 'node:path';

import * as wasm from 'switchyard-bindgen';

wasm.initSync({ module: readFileSync(join(__dirname, '..', 'web', 'switchyard_bg.wasm')) });

/** The instantiated bindings. */
export const bindings = /** @type {import('../bindings.js').Bindings} */ (/** @type {unknown} */ (wasm));
