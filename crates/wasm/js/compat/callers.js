// @ts-check
/**
 * Compiled callers for `EventEmitter#emit`: one function per hot listener list that calls each
 * listener from its own call site, the compat twin of the bus's compiled dispatchers
 * (`crates/wasm/js/src/dispatchers.js`, where the reasons are).
 *
 * `emit`'s loop calls every listener of every event from one call site, megamorphic in an app
 * with distinct listener functions. A list emitted `compileAfter` times gets a caller compiled
 * with `new Function` for exactly its listeners (lists are copy-on-write, so a caller belongs to
 * one list and is dropped with it). It calls them in order with the emitter as `this` and the
 * arguments as given (one to three: more take the loop), and a throw leaves it as it leaves the
 * loop. Under a CSP without `'unsafe-eval'` the first refusal is remembered and `emit` keeps the
 * loop.
 *
 * ```js
 * const call = compileCaller(entry.listeners);
 * if (call !== null && call(emitter, arguments.length, a1, a2, a3)) return true; // else the loop
 * ```
 */

/**
 * Emits of one listener list before it gets a compiled caller; 0: never. Tests set it through
 * `EventEmitter.__compileAfter(n)` (internal: `__` names are not API).
 */
export let compileAfter = 256;

/** @param {number} emits */
export function setCompileAfter(emits) {
  compileAfter = emits;
}

/** Lists longer than this keep the loop. */
const MAX_COMPILED_LISTENERS = 24;

/** `false` once compiling was refused here. */
let mayCompile = true;

/**
 * Calls the listeners with `this` = `self` for an emit of `len` arguments (the name counted):
 * true when it did, false when `len` is not one it handles (the loop then does).
 * @typedef {(self: unknown, len: number, a1: unknown, a2: unknown, a3: unknown) => boolean} Caller
 */

/** The arguments of a call for an emit of `len` (1 to 4, the name counted). */
const ARGS = ['', ',a1', ',a1,a2', ',a1,a2,a3'];

/**
 * A caller for exactly `listeners`, or `null` when the list keeps the loop.
 * @param {Function[]} listeners
 * @returns {Caller | null}
 */
export function compileCaller(listeners) {
  if (!mayCompile || listeners.length === 0 || listeners.length > MAX_COMPILED_LISTENERS) return null;
  const names = listeners.map((_, i) => `h${i}`);
  const cases = ARGS.map((args, n) => `case ${n + 1}:${names.map((h) => `${h}.call(t${args});`).join('')}return true;`);
  const body = `'use strict';const[${names.join()}]=ls;return function(t,len,a1,a2,a3){switch(len){${cases.join('')}}return false}`;
  try {
    // One `Function` per list: its own script, so its call sites learn only its listeners.
    return new Function('ls', body)(listeners);
  } catch {
    mayCompile = false;
    return null;
  }
}
