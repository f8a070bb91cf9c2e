// @ts-check
/**
 * Option objects of the methods written in JavaScript (`waitFor`, `stream`). They are checked
 * where every other method's are, on the Rust side (`read_method_options` in
 * crates/wasm/src/options.rs, with the names in shared.rs): same rules, codes and messages.
 */

import { SwitchyardError } from './errors.js';
import { takeHeld } from './held.js';

/** @type {((method: string, options: unknown) => void) | undefined} */
let readByBindings;

/**
 * Connects the bindings' `__readOptions` (at install).
 * @param {(method: string, options: unknown) => void} read
 */
export function setOptionsReader(read) {
  readByBindings = read;
}

/**
 * Checks the options object of `method` and answers a plain copy, each property read once.
 * @param {'waitFor' | 'stream'} method
 * @param {unknown} options
 * @returns {Record<string, any>}
 */
export function readOptions(method, options) {
  /** @type {NonNullable<typeof readByBindings>} */ (readByBindings)(method, options);
  return /** @type {Record<string, any>} */ (takeHeld());
}

/**
 * Checks the `timeoutMs` option of `waitFor`: absent, or a finite number not below 0.
 * @param {unknown} timeoutMs
 * @returns {asserts timeoutMs is number | undefined}
 */
export function checkTimeout(timeoutMs) {
  if (timeoutMs !== undefined && !(typeof timeoutMs === 'number' && timeoutMs >= 0 && timeoutMs < Infinity)) {
    throw new SwitchyardError('E_INVALID_OPTION', 'option `timeoutMs` must be a finite number of milliseconds, not negative');
  }
}
