// @ts-check
/**
 * Compiled callers for `EventEmitter#emit`: one function per hot listener list that calls each
 * listener from its own call site, the compat twin of the bus's compiled dispatchers
 * (`crates/wasm/js/src/dispatchers.js`, where the reasons are).
 *
 * `emit`'s loop calls every listener of every event from one call site, megamorphic in an app
 * with distinct listener functions. A list emitted often (see ../src/compiling.js) gets a caller
 * compiled with `new Function` for exactly its listeners (lists are copy-on-write, so a caller belongs to
 * one list and is dropped with it). It calls them in order with the emitter as `this` and the
 * arguments as given (one to three: more take the loop), and a throw leaves it as it leaves the
 * loop. Under a CSP without `'unsafe-eval'` `emit` keeps the loop.
 *
 * ```js
 * const call = compileCaller(entry.listeners);
 * if (call !== null && call(emitter, arguments.length, a1, a2, a3)) return true; // else the loop
 * ```
 */

import { compile } from '../src/compiling.js';

/** Lists longer than this keep the loop. */
const MAX_COMPILED_LISTENERS = 24;

/**
 * Calls the listeners with `this` = `self` for an emit of `len` arguments (the name counted):
 * true when it did, false when `len` is not one it handles (the loop then does).
 * @typedef {(self: unknown, len: number, a1: unknown, a2: unknown, a3: unknown) => boolean} Caller
 */

/** The arguments of a call for an emit of `len` (1 to 4, the name counted). */
const ARGS = ['', ',a1', ',a1,a2', ',a1,a2,a3'];

/**
 * A caller for exactly `listeners`: `null` when the list keeps the loop, `undefined` when not now
 * (see compiling.js).
 * @param {Function[]} listeners
 * @returns {Caller | null | undefined}
 */
export function compileCaller(listeners) {
  if (listeners.length === 0 || listeners.length > MAX_COMPILED_LISTENERS) return null;
  const names = listeners.map((_, i) => `h${i}`);
  // `emit()` (no name: `len` 0) calls them as `emit(undefined)` does.
  const cases = ARGS.map((args, n) => `${n === 0 ? 'case 0:' : ''}case ${n + 1}:${names.map((h) => `${h}.call(t${args});`).join('')}return true;`);
  const body = `'use strict';const[${names.join()}]=ls;return function(t,len,a1,a2,a3){switch(len){${cases.join('')}}return false}`;
  return compile(['ls'], body, [listeners]);
}
