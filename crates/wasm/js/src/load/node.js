// @ts-check
/**
 * Node: reads the package's one `.wasm` (beside the browser bundle, in `web/`) and instantiates
 * it synchronously, so `require('switchyard')` needs no init call. Bundled as CommonJS
 * (`node/index.cjs`); the ESM entry re-exports it, so both module systems share one instance.
 *
 * An app bundled for Node (esbuild `--platform=node`, webpack `target: 'node'`, ncc) carries
 * this code into its own bundle, where `__dirname` is the bundle's folder: the engine is looked
 * for there too (copied beside the bundle), and when it is nowhere the error says what to do.
 */

import { readFileSync } from 'node:fs';
import { join } from 'node:path';

import * as wasm from 'switchyard-bindgen';

/** The engine's file name, in the package's `web/` and wherever an app copies it. */
const ENGINE = 'switchyard_bg.wasm';

/** The engine's bytes, from the installed package or from beside an app's bundle. */
function readEngine() {
  const places = [join(__dirname, '..', 'web', ENGINE), join(__dirname, ENGINE)];
  for (const place of places) {
    try {
      return readFileSync(place);
    } catch (error) {
      if (/** @type {NodeJS.ErrnoException} */ (error).code !== 'ENOENT') throw error;
    }
  }
  throw new Error(
    `switchyard: its engine ${ENGINE} was not found (looked for ${places.join(' and ')}). ` +
      'An app bundled for Node must leave switchyard out of the bundle (esbuild --external:switchyard, ' +
      "webpack externals, Vite ssr.external) or copy node_modules/switchyard/web/" +
      `${ENGINE} beside the bundle.`,
  );
}

wasm.initSync({ module: readEngine() });

/** The instantiated bindings. */
export const bindings = /** @type {import('../bindings.js').Bindings} */ (/** @type {unknown} */ (wasm));
