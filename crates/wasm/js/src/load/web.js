// @ts-check
/**
 * Browsers and bundlers (Vite): instantiates the `.wasm` next to the bundle before anything is
 * exported. `new URL(..., import.meta.url)` lets bundlers find and copy the `.wasm`; top-level
 * await makes the import ready to use with no init call.
 */

import init, * as wasm from 'switchyard-bindgen';

await init({ module_or_path: new URL('./switchyard_bg.wasm', import.meta.url) });

/** The instantiated bindings. */
export const bindings = /** @type {import('../bindings.js').Bindings} */ (/** @type {unknown} */ (wasm));
