// @ts-check
/**
 * Option objects of the methods written in JavaScript (`waitFor`, `stream`). Their names come
 * from generated.js (written from the Rust side, which checks the options of every other
 * method with the same rules and codes in `crates/wasm/src/options.rs`).
 */

import { SwitchyardError } from './errors.js';

/**
 * Checks an options object of `method` against `known` names (the Rust side does the rest) and
 * answers a copy, each property read once.
 * @param {string} method
 * @param {unknown} options
 * @param {readonly string[]} known
 * @returns {Record<string, any>}
 */
export function readOptions(method, options, known) {
  if (options === undefined || options === null) return {};
  let keys;
  try {
    if (typeof options !== 'object' || Array.isArray(options)) keys = undefined;
    else keys = Object.keys(options);
  } catch {
    // A revoked proxy (Array.isArray and Object.keys throw) or a proxy whose `ownKeys` throws.
    throw new SwitchyardError('E_INVALID_OPTION', `${method}(): options could not be read (a revoked proxy?)`);
  }
  if (keys === undefined) {
    throw new SwitchyardError('E_INVALID_OPTION', `${method}(): options must be a plain object`);
  }
  /** @type {Record<string, any>} */
  const out = {};
  for (const key of keys) {
    if (!known.includes(key)) {
      throw new SwitchyardError(
        'E_INVALID_OPTION',
        `option \`${key}\` is not a known option (expected one of: ${known.join(', ')})`,
      );
    }
    try {
      out[key] = /** @type {Record<string, unknown>} */ (options)[key];
    } catch {
      throw new SwitchyardError('E_INVALID_OPTION', `option \`${key}\` threw when read`);
    }
  }
  return out;
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
