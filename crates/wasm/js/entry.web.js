// Browsers and bundlers (Vite): instantiate the .wasm next to this file before exporting.
// `new URL(..., import.meta.url)` lets bundlers find and copy the .wasm; top-level await makes
// the import ready to use with no init call.
import init, * as wasm from './switchyard.js';

await init({ module_or_path: new URL('./switchyard_bg.wasm', import.meta.url) });

/* @glue */

const api = install(wasm);
export const { EventBus, Subscription } = api;
export { SwitchyardError };
export default api;
