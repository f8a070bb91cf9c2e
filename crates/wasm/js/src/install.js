// @ts-check
/**
 * `install(bindings)`: turns the instantiated wasm-bindgen module into the package's API. Every
 * entry calls it once, after its platform's loader (load/web.js, load/node.js) instantiated the
 * `.wasm`.
 */

import { SwitchyardError } from './errors.js';
import { installFacade } from './facade.js';
import { installFastPath } from './fastpath.js';
import { returnHeldResults } from './held.js';
import { registerHooks } from './hooks.js';
import { setOptionsReader } from './options.js';
import { setBusClass } from './receiver.js';
import { installStreams } from './streams.js';

/** @typedef {{ getRandomValues(array: Uint32Array): Uint32Array }} RandomSource */

/**
 * Seeds the engine's hash maps with random bits, so that which topics collide in them cannot be
 * chosen from outside (see `crates/core/src/hash.rs`).
 * @param {import('./bindings.js').Bindings} wasm
 * @param {RandomSource} random
 */
function seedHashes(wasm, random) {
  const [high, low] = random.getRandomValues(new Uint32Array(2));
  wasm.__seedHashes(high, low);
}

/**
 * @param {import('./bindings.js').Bindings} wasm
 * @param {RandomSource} [random] the Web Crypto API: the global `crypto` (every browser, secure
 *   context or not, workers too), or Node's `node:crypto` `webcrypto`, which the Node entries
 *   pass (Node's global `crypto` can be turned off)
 */
export function install(wasm, random = crypto) {
  seedHashes(wasm, random);
  setBusClass(wasm.EventBus);
  // Object constructors the engine calls: one call and one fixed object shape each.
  registerHooks(wasm);
  setOptionsReader(wasm.__readOptions);
  const { EventBus } = wasm;
  returnHeldResults(EventBus.prototype);
  const fastPath = installFastPath(wasm, EventBus);
  const Subscription = installFacade(EventBus, fastPath);
  installStreams(EventBus.prototype);
  return { EventBus, Subscription, SwitchyardError };
}
