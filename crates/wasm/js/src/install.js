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

/**
 * @param {import('./bindings.js').Bindings} wasm
 */
export function install(wasm) {
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
