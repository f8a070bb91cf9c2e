// @ts-check
/**
 * Node: the bytes of an engine `.wasm` of the package, read from its `web/` folder (beside the
 * browser bundles) or from beside an app's bundle. The package ships two engines:
 * `switchyard_bg.wasm` (entry `switchyard`, no snapshots) and `switchyard_snapshot_bg.wasm`
 * (entry `switchyard/snapshot`); each entry reads only its own.
 *
 * An app bundled for Node (esbuild `--platform=node`, webpack `target: 'node'`, ncc) carries
 * this code into its own bundle, where `__dirname` is the bundle's folder: the engine is looked
 * for there too (copied beside the bundle), and when it is nowhere the error says what to do.
 */

import { readFileSync } from 'node:fs';
import { join } from 'node:path';

/**
 * The engine's bytes, from the installed package or from beside an app's bundle.
 * @param {string} engine its file name, in the package's `web/` and wherever an app copies it
 */
export function readEngine(engine) {
  const places = [join(__dirname, '..', 'web', engine), join(__dirname, engine)];
  for (const place of places) {
    try {
      return readFileSync(place);
    } catch (error) {
      if (/** @type {NodeJS.ErrnoException} */ (error).code !== 'ENOENT') throw error;
    }
  }
  throw new Error(
    `switchyard: its engine ${engine} was not found (looked for ${places.join(' and ')}). ` +
      'An app bundled for Node must leave switchyard out of the bundle (esbuild --external:switchyard, ' +
      "webpack externals, Vite ssr.external) or copy node_modules/switchyard/web/" +
      `${engine} beside the bundle.`,
  );
}
