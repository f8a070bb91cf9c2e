// @ts-check
/** AbortSignal options, read without letting what a hostile object throws escape. */

import { SwitchyardError } from './errors.js';

/**
 * @typedef {{ aborted: boolean, reason?: unknown,
 *   addEventListener(type: string, listener: () => void, options?: object): void,
 *   removeEventListener(type: string, listener: () => void): void }} SignalLike
 */

/**
 * Whether the `signal` option is absent (`undefined`), already aborted (`true`) or live
 * (`false`). Anything that is not an AbortSignal, including an object whose getters throw, is
 * refused with E_INVALID_OPTION (nothing the object throws escapes).
 * @param {any} signal
 * @returns {boolean | undefined}
 */
export function signalAborted(signal) {
  if (signal === undefined) return undefined;
  try {
    if (typeof signal === 'object' && signal !== null && typeof signal.addEventListener === 'function') {
      const aborted = signal.aborted;
      if (typeof aborted === 'boolean') return aborted;
    }
  } catch {
    // Reported below.
  }
  throw new SwitchyardError('E_INVALID_OPTION', 'option `signal` must be an AbortSignal');
}

/**
 * `signal.addEventListener('abort', listener, { once: true })`; false if the signal threw.
 * @param {SignalLike} signal
 * @param {() => void} listener
 */
export function listenAbort(signal, listener) {
  try {
    signal.addEventListener('abort', listener, { once: true });
    return true;
  } catch {
    return false;
  }
}

/**
 * `signal.removeEventListener('abort', listener)`, ignoring what a hostile signal throws.
 * @param {SignalLike | undefined} signal
 * @param {() => void} listener
 */
export function unlistenAbort(signal, listener) {
  try {
    signal?.removeEventListener('abort', listener);
  } catch {
    // Nothing to undo.
  }
}

/**
 * The AbortSignal in subscribe options, if any, read without side effects escaping: a throwing
 * getter or a non-signal is left for the bindings to report as the named option error.
 * @param {any} options
 * @returns {SignalLike | undefined}
 */
export function signalOf(options) {
  if (typeof options !== 'object' || options === null) return undefined;
  try {
    const signal = options.signal;
    if (typeof signal?.addEventListener === 'function' && signal.aborted === false) return signal;
  } catch {
    // Reported by the bindings, which read the option again.
  }
  return undefined;
}

/**
 * What a promise aborted by `signal` rejects with: its `reason`, else an `AbortError`.
 * @param {SignalLike} signal
 * @returns {unknown}
 */
export function abortReason(signal) {
  let reason;
  try {
    reason = signal.reason;
  } catch (thrown) {
    reason = thrown;
  }
  if (reason !== undefined) return reason;
  const error = new Error('The operation was aborted');
  error.name = 'AbortError';
  return error;
}
