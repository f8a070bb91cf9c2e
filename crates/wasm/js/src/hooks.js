// @ts-check
/** The object constructors the engine calls (`__registerHooks`): one call and one fixed shape each. */

import { SwitchyardError } from './errors.js';
import { hold, holdThenable, takeThenable } from './held.js';

/** Headers of a message published without any (shared, so metas stay cheap). */
export const NO_HEADERS = Object.freeze({});

/**
 * Whether a handler's return value makes its delivery pending (a callable `then`).
 * @param {any} returned
 */
export function isThenable(returned) {
  if (returned === null || (typeof returned !== 'object' && typeof returned !== 'function')) return false;
  try {
    return typeof returned.then === 'function';
  } catch {
    return false;
  }
}

/**
 * Registers the hooks with the bindings.
 * @param {import('./bindings.js').Bindings} wasm
 */
export function registerHooks(wasm) {
  wasm.__registerHooks({
    /** @type {(code: import('./generated.js').ErrorCode, message: string) => SwitchyardError} */
    error: (code, message) => new SwitchyardError(code, message),
    /** @type {(...args: any[]) => object} */
    meta: (id, topic, seq, attempt, publishedAt, causationId, correlationId, headers, origin) => ({
      id,
      topic,
      seq,
      attempt,
      publishedAt,
      causationId,
      correlationId,
      headers: headers === undefined ? NO_HEADERS : headers,
      origin,
    }),
    // The common delivery in one crossing: build meta and call the handler (throws propagate).
    // Answers a number (1: it returned a thenable, kept for `takeThenable`), which crosses
    // back into wasm without a handle to allocate.
    /** @type {(handler: Function, ...args: any[]) => number} */
    deliver: (handler, payload, id, topic, seq, attempt, publishedAt, causationId, correlationId, headers, origin) => {
      const returned = handler(payload, {
        id,
        topic,
        seq,
        attempt,
        publishedAt,
        causationId,
        correlationId,
        headers: headers === undefined ? NO_HEADERS : headers,
        origin,
      });
      if (returned === undefined || !isThenable(returned)) return 0;
      holdThenable(returned);
      return 1;
    },
    takeThenable,
    /** @type {(id: number, seq: number, matched: number) => object} */
    published: (id, seq, matched) => ({ id, seq, matched }),
    hold,
    /** @type {(...args: any[]) => object} */
    event: (cursor, at, kind, subscription, message, topic, detail, origin) =>
      origin === null
        ? { cursor, at, kind, subscription, message, topic, detail }
        : { cursor, at, kind, subscription, message, topic, detail, origin },
  });
}
