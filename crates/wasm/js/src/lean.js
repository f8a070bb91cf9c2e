// @ts-check
/**
 * The entry `switchyard` leaves snapshots out of its engine (docs/ARCHITECTURE.md "Where the
 * bytes go"). `bus.snapshot()` and `EventBus.restore()` are still there, and say where they are:
 * they throw `E_UNSUPPORTED`.
 */

import { SwitchyardError } from './errors.js';

/** @param {string} call */
function unsupported(call) {
  return new SwitchyardError(
    'E_UNSUPPORTED',
    `${call} needs the entry 'switchyard/snapshot' (this engine has no snapshots): import { EventBus } from 'switchyard/snapshot'`,
  );
}

/**
 * Gives the bindings' `EventBus`, when its engine has no snapshots, a `snapshot()` and a static
 * `restore()` that throw `E_UNSUPPORTED`. Called before `install`, so the facade wraps
 * `snapshot()` as every method (receiver check, freed bus) and answers `E_INVALID_RECEIVER` or
 * `E_CLOSED` first where those apply.
 * @param {import('./bindings.js').Bindings} wasm
 */
export function withoutSnapshots(wasm) {
  const { EventBus } = wasm;
  if (typeof EventBus.prototype.snapshot === 'function') return wasm;
  // Not enumerable, as class methods are: `for (key in bus)` lists the same keys on both entries.
  Object.defineProperty(EventBus.prototype, 'snapshot', {
    value: () => {
      throw unsupported('bus.snapshot()');
    },
    writable: true,
    configurable: true,
  });
  Object.defineProperty(EventBus, 'restore', {
    value: () => {
      throw unsupported('EventBus.restore()');
    },
    writable: true,
    configurable: true,
  });
  return wasm;
}
