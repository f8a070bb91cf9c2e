// @ts-check
/**
 * The entry `switchyard` leaves snapshots out of its engine (they are most of a quarter of the
 * `.wasm`; see docs/ARCHITECTURE.md "Where the bytes go"). `bus.snapshot()` and
 * `EventBus.restore()` are still there, and say where they are: they throw `E_UNSUPPORTED`.
 */

import { SwitchyardError } from './errors.js';
import { checkBus, freedBuses, freedError } from './receiver.js';

/** @param {string} call */
function unsupported(call) {
  return new SwitchyardError(
    'E_UNSUPPORTED',
    `${call} is not in the entry 'switchyard', whose engine leaves snapshots out: ` +
      "import { EventBus } from 'switchyard/snapshot' for a bus that snapshots and restores",
  );
}

/**
 * Adds the throwing `snapshot()` and `EventBus.restore()` to `EventBus` when its engine has no
 * snapshots (the facade is installed: receiver checks as every method makes them).
 * @param {import('./bindings.js').RawBusClass} EventBus
 */
export function withoutSnapshots(EventBus) {
  const proto = EventBus.prototype;
  if (typeof proto.snapshot === 'function') return;
  Object.defineProperty(proto, 'snapshot', {
    configurable: true,
    writable: true,
    /** @this {any} */
    value: function snapshot() {
      if (freedBuses.has(this)) throw freedError('snapshot');
      checkBus(this, 'snapshot');
      throw unsupported('bus.snapshot()');
    },
  });
  Object.defineProperty(EventBus, 'restore', {
    configurable: true,
    writable: true,
    value: function restore() {
      throw unsupported('EventBus.restore()');
    },
  });
}
