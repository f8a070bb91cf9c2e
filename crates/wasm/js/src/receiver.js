// @ts-check
/**
 * Which objects are buses of this package, which of them were freed, and the errors of a call
 * on something else (E_INVALID_RECEIVER) or on a freed bus (E_CLOSED).
 */

import { SwitchyardError } from './errors.js';

/** Buses whose `free()` was called: their memory is gone, their subscriptions are inactive. */
export const freedBuses = new WeakSet();

/** @type {Function | undefined} The `EventBus` class of this package (set by `install`), for `isBus`. */
let BusClass;

/** @param {Function} bus the wasm-bindgen `EventBus` class */
export function setBusClass(bus) {
  BusClass = bus;
}

/**
 * Whether `value` is an `EventBus` this package made, live or freed. No proxy trap or getter
 * it runs can throw past it: a revoked or throwing proxy is simply not a bus.
 * @param {unknown} value
 * @returns {boolean}
 */
export function isBus(value) {
  if (freedBuses.has(/** @type {object} */ (value))) return true;
  try {
    return (
      BusClass !== undefined &&
      value instanceof BusClass &&
      typeof (/** @type {any} */ (value).__wbg_ptr) === 'number' &&
      /** @type {any} */ (value).__wbg_ptr !== 0
    );
  } catch {
    return false;
  }
}

/**
 * Throws E_INVALID_RECEIVER unless `value` is a bus: `EventBus.prototype.metrics.call({})`
 * and detached methods (`const { publish } = bus; publish('a')`) get an error that says so.
 * @param {unknown} value
 * @param {string} method
 */
export function checkBus(value, method) {
  if (!isBus(value)) {
    const kind = typeof value;
    const what =
      value == null ? String(value) : kind === 'object' || kind === 'function' ? 'an object that is not an EventBus' : `a ${kind}`;
    throw new SwitchyardError('E_INVALID_RECEIVER', `${method}() was called on ${what}; call it on a bus (\`bus.${method}(...)\`)`);
  }
}

/** What wasm-bindgen throws when `free()` runs while the bus is borrowed by a call under way. */
export const BORROWED_FREE = 'attempted to take ownership of Rust value while it was borrowed';

/**
 * The error of a call on a freed bus.
 * @param {string} method
 */
export function freedError(method) {
  return new SwitchyardError('E_CLOSED', `${method}: the bus was freed`);
}
