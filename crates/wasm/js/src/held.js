// @ts-check
/**
 * Values the engine hands back to JavaScript outside a return value: the object an export
 * answers through the `hold` hook, and the thenable a handler returned to the `deliver` hook.
 */

/** @type {unknown} The thenable the `deliver` hook saw last, until the engine takes it (`takeThenable`). */
let heldThenable;

/** @type {unknown} The object an export handed back through the `hold` hook, until `takeHeld`. */
let heldResult;

/** @param {unknown} value */
export function hold(value) {
  heldResult = value;
}

/** The object handed back last (taken: a second call answers `undefined`). */
export function takeHeld() {
  const result = heldResult;
  heldResult = undefined;
  return result;
}

/** @param {unknown} thenable */
export function holdThenable(thenable) {
  heldThenable = thenable;
}

/** The thenable held last (taken). */
export function takeThenable() {
  const returned = heldThenable;
  heldThenable = undefined;
  return returned;
}

/**
 * The exports that answer an object and may run JavaScript return nothing and hand the object
 * back through the `hold` hook (`hand_back` in hooks.rs says why: Node 20's V8 aborts the
 * process when it deoptimises a caller inside an inlined wasm call returning an object). Their
 * methods are wrapped here to return it.
 */
export const HELD_RESULTS = ['idle', 'metrics', 'subscriptions', 'deadLetters', 'leaks', '__subscriptionStats', '__inlineRoute'];

/**
 * Wraps the `HELD_RESULTS` methods of `proto` to return what they hand back.
 * @param {any} proto
 */
export function returnHeldResults(proto) {
  for (const name of HELD_RESULTS) {
    const exported = proto[name];
    Object.defineProperty(proto, name, {
      configurable: true,
      writable: true,
      value: {
        /** @param {unknown} argument */
        [name](argument) {
          exported.call(this, argument);
          return takeHeld();
        },
      }[name],
    });
  }
}
