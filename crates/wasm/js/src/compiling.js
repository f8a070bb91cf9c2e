// @ts-check
/**
 * Run-time compiled code for hot paths (the fast path's dispatchers, dispatchers.js, and compat's
 * emit callers, compat/callers.js): when a hot path gets compiled, and how.
 *
 * A compile costs about 0.1-0.4 ms (a new script, parsed and warmed up on its own) and saves tens
 * of nanoseconds per call, so only what has proved hot gets one: `compileAfter` uses of one route
 * or listener list, and at most one compile per `COMPILE_SPACING_MS` per bundle that carries this
 * module (the main entry and `switchyard/compat` each do), so an app
 * whose many routes turn hot at once (a thousand rotating topics) spends at most a few percent
 * of its time compiling. A page whose Content-Security-Policy forbids `eval` refuses the first
 * compile; that is remembered and nothing is compiled again.
 *
 * ```js
 * const run = compile(['h0'], "'use strict';return function(p){h0(p)}", [handler]);
 * // a function, null (never here) or undefined (not now: ask again later)
 * ```
 */

/** The least time between two compiles in this realm (ms). */
export const COMPILE_SPACING_MS = 8;

/** Uses of one route or list before it tries to get compiled code; 0: never. */
export let compileAfter = 1024;

let spacingMs = COMPILE_SPACING_MS;

/** When the last compile ran (`performance.now()`). */
let lastCompileAt = -Infinity;

/** `false` once compiling was refused here (a CSP without `'unsafe-eval'`). */
let mayCompile = true;

/**
 * Sets `compileAfter` and the spacing (tests: `(1, 0)` compiles at the first use, `(0)` never).
 * Reached as `EventBus.__inlineCompileAfter(n, ms)` and `EventEmitter.__compileAfter(n, ms)`
 * (internal: `__` names are not API).
 * @param {number} uses
 * @param {number} [spacing]
 */
export function setCompileAfter(uses, spacing = COMPILE_SPACING_MS) {
  compileAfter = uses;
  spacingMs = spacing;
  lastCompileAt = -Infinity;
}

/**
 * `new Function(...params, body)(...args)`: a function made by compiled code, `null` when code
 * cannot be compiled here, `undefined` when another compile ran less than the spacing ago.
 * @param {string[]} params
 * @param {string} body
 * @param {unknown[]} args
 * @returns {any}
 */
export function compile(params, body, args) {
  if (!mayCompile) return null;
  const now = performance.now();
  if (now - lastCompileAt < spacingMs) return undefined;
  lastCompileAt = now;
  try {
    // One `Function` per call: its own script, so its call sites learn only what it was made for.
    return new Function(...params, body)(...args);
  } catch {
    mayCompile = false;
    return null;
  }
}
