// @ts-check
/**
 * Compiled dispatchers: one function per hot cached route that calls that route's handlers
 * one by one, each from its own call site.
 *
 * The fast path's shared loop (`dispatch` in fastpath.js) calls every handler of every route from
 * one call site, which is megamorphic as soon as an app has a few distinct listener functions:
 * each call is then a generic call that no JIT inlines. A route published often enough
 * (`compileAfter` publishes on one cached route, see compiling.js) gets a dispatcher compiled with
 * `new Function` for exactly its handlers: its call sites each see one function, so the JIT
 * calls them directly or inlines them, as it does for hand-written code. This is what tseep does
 * for `emit`. The dispatcher does exactly what the loop does, step for step (the same `state`
 * fields, the same meta, the same hand-over on a throw, a thenable or a bus call), so nothing
 * observable changes; the fast-path tests run against both.
 *
 * When and how often code is compiled, and what a strict Content-Security-Policy does: see
 * compiling.js.
 *
 * ```js
 * const run = compileDispatcher(entry.handlers, entry.reads, endDispatch);
 * if (typeof run === 'function') run(state, topic, payload, id, seq); // as dispatch(state, entry, ...)
 * ```
 */

import { compile } from './compiling.js';
import { NO_HEADERS, isThenable } from './hooks.js';

/** Routes with more handlers than this keep the shared loop (the code would grow too long). */
export const MAX_COMPILED_HANDLERS = 24;

/**
 * @typedef {(state: any, topic: string, payload: unknown, id: number, seq: number) => void} Dispatcher
 * @typedef {(state: any, outcome: number, value?: unknown) => void} EndDispatch
 */

// The generated code, in short names (it ships as text): `s` state, `p` payload, `r` what the
// handler returned, `h<i>` handler i, `E` endDispatch, `T` isThenable, `H` NO_HEADERS. Handler i
// gets the meta literal the shared loop writes (the same fields in the same order, so both
// paths build one object shape), or `undefined` when it cannot read one (metareaders.js).
const META =
  '{id,topic,seq,attempt:1,publishedAt:at,causationId:null,correlationId:null,headers:H,origin:null}';

/**
 * The statements calling handler `i`: the steps of the shared loop (see `dispatch` in
 * fastpath.js): mark it running; a throw, a thenable or a bus call ends the dispatch there.
 * @param {number} i
 * @param {boolean} reads
 */
const call = (i, reads) =>
  `s.running=${i};try{r=h${i}(p,${reads ? META : 'void 0'})}catch(e){E(s,1,e);return}` +
  `if(r!==void 0&&T(r)){E(s,2,r);return}if(s.entered){E(s,0);return}`;

/**
 * A dispatcher for exactly `handlers` (with `reads[i]`: whether handler `i` gets a meta), ending
 * early through `end` as the shared loop does; `null` when the route keeps the loop (too many
 * handlers, or code cannot be compiled here); `undefined` when another compile ran less than the
 * spacing ago (ask again later).
 * @param {Function[]} handlers
 * @param {boolean[]} reads
 * @param {EndDispatch} end
 * @returns {Dispatcher | null | undefined}
 */
export function compileDispatcher(handlers, reads, end) {
  if (handlers.length === 0 || handlers.length > MAX_COMPILED_HANDLERS) return null;
  const names = handlers.map((_, i) => `h${i}`).join();
  const body =
    `'use strict';const[${names}]=hs;return function(s,topic,p,id,seq){const at=s.at;let r;` +
    `s.payload=p;s.dispatching=true;${handlers.map((_, i) => call(i, reads[i])).join('')}` +
    's.dispatching=false;s.payload=void 0}';
  return compile(['hs', 'E', 'T', 'H'], body, [handlers, end, isThenable, NO_HEADERS]);
}
