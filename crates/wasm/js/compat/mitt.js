// @ts-check
// `mitt()` with mitt 3's semantics, on a Switchyard bus.
//
// `all` is the live `Map` of handler lists mitt users read and change. The bus sees one
// subscription per handler (named after the type; `'*'` handlers on the pattern `**`, which
// matches every type's topic) and one publish per emit (see mirror.js). Registrations follow
// `on`, `off` and `all.set`/`all.delete`/`all.clear` at once, and a list changed in place
// (`all.get(type).push(fn)`) at the next `on`, `off` or `emit` of that type.

import { emitChecked, epoch, markDirty, newBus, register, unregister } from './mirror.js';
import { displayName, Topics } from './topics.js';

/** `maxListeners` of a mitt emitter's bus, unless `options.bus` sets it: the bus's default. */
const MITT_MAX_LISTENERS = 100;

/**
 * A type's registrations: as many subscriptions as its list had when last synced, and its bus
 * channel (see mirror.js).
 * @typedef {{
 *   key: unknown,
 *   list: unknown,
 *   subs: (import('switchyard').Subscription | null)[],
 *   bus: import('switchyard').EventBus,
 *   topic: string,
 *   pending: number,
 *   epoch: number,
 * }} Registered
 */

/**
 * A mitt emitter on its own bus (made on first use; `options.bus` are its `EventBus` options).
 * @param {Map<any, Function[]>} [all] the handler map to use (a new `Map` by default)
 * @param {{ bus?: import('switchyard').EventBusOptions }} [options]
 */
export function mitt(all, options) {
  const handlersOf = all || new Map();
  const topics = new Topics();
  /** @type {import('switchyard').EventBus | undefined} */
  let bus;
  /** @type {Map<unknown, Registered>} */
  const registered = new Map();
  /** The type emitted last and its channel (a run of emits of one type skips the lookup). */
  /** @type {unknown} */
  let lastType;
  /** @type {Registered | undefined} */
  let lastReg;

  const busOf = () => {
    if (bus === undefined) bus = newBus(options?.bus, MITT_MAX_LISTENERS);
    return bus;
  };
  // Made now when options are given, so bad ones are refused by `mitt()` (E_INVALID_OPTION).
  if (options?.bus !== undefined) busOf();

  /**
   * Brings the registrations of `type` to its list's length; the type's channel, or undefined
   * when it has no handler (an emit of it then goes on the channel of its plain topic).
   * @param {unknown} type
   * @returns {Registered | undefined}
   */
  const sync = (type) => {
    const list = /** @type {any} */ (handlersOf.get(type));
    const want = Array.isArray(list) ? list.length : 0;
    let reg = registered.get(type);
    if (reg === undefined) {
      if (want === 0) return undefined;
      const b = busOf();
      reg = { key: type, list: undefined, subs: [], bus: b, topic: type === '*' ? '**' : topics.of(type), pending: 0, epoch: -1 };
      registered.set(type, reg);
    }
    const name = type === '*' ? '*' : displayName(type);
    while (reg.subs.length < want) reg.subs.push(register(reg.bus, reg.topic, name));
    while (reg.subs.length > want) unregister(/** @type {any} */ (reg.subs.pop()));
    if (want === 0) {
      registered.delete(type);
      if (lastReg === reg) lastType = lastReg = undefined;
      if (type !== '*') topics.forget(type);
      return undefined;
    }
    reg.list = list;
    return reg;
  };

  /** Every registered type's registrations, after `all` was changed as a whole. */
  const syncAll = () => {
    for (const type of [...registered.keys()]) sync(type);
  };

  // `all.set`, `all.delete` and `all.clear` keep the registrations in step (own properties of
  // this map, so `all` stays a plain `Map` to every reader).
  const { set, delete: remove, clear } = handlersOf;
  Object.defineProperties(handlersOf, {
    set: {
      configurable: true,
      writable: true,
      value(/** @type {any} */ type, /** @type {any} */ list) {
        set.call(this, type, list);
        if (registered.has(type) || (Array.isArray(list) && list.length > 0)) sync(type);
        return this;
      },
    },
    delete: {
      configurable: true,
      writable: true,
      value(/** @type {any} */ type) {
        const had = remove.call(this, type);
        if (registered.has(type)) sync(type);
        return had;
      },
    },
    clear: {
      configurable: true,
      writable: true,
      value() {
        clear.call(this);
        syncAll();
      },
    },
  });

  /** Channels of types emitted with no handler of their own (only `'*'` handlers listen). */
  /** @type {Map<unknown, Registered>} */
  const unheard = new Map();

  const emitter = {
    /** The live map of handler lists (type → handlers; `'*'` → wildcard handlers). */
    all: handlersOf,

    /**
     * Adds `handler` for `type` (`'*'`: every type, called with `(type, event)`).
     * @param {any} type
     * @param {Function} handler
     */
    on(type, handler) {
      const handlers = handlersOf.get(type);
      if (handlers) handlers.push(handler);
      else set.call(handlersOf, type, [handler]);
      sync(type);
    },

    /**
     * Removes one `handler` of `type`, or every handler of `type` when none is given.
     * @param {any} type
     * @param {Function} [handler]
     */
    off(type, handler) {
      const handlers = handlersOf.get(type);
      if (handlers) {
        if (handler) handlers.splice(handlers.indexOf(handler) >>> 0, 1);
        else set.call(handlersOf, type, []);
      }
      sync(type);
    },

    /**
     * Calls the handlers of `type` with `event`, then the `'*'` handlers with `(type, event)`,
     * each list as it was when its turn came. A handler that throws ends the emit.
     * @param {any} type
     * @param {unknown} [evt]
     */
    emit(type, evt) {
      let handlers = handlersOf.get(type);
      // The bus side: the type's channel, while its registrations are in step with its list (a
      // lookup in a second map; a symbol-keyed property on the list was 15% slower in Firefox).
      // The wildcard registrations are not the channel of an emit of the type '*'. A channel of a
      // type only '*' handlers hear (`list` undefined) is looked up again each time: whether they
      // still listen is in their list.
      /** @type {Registered | undefined} */
      let reg = type === lastType ? lastReg : type === '*' ? undefined : registered.get(type);
      if (reg === undefined || reg.list === undefined || reg.list !== handlers || reg.subs.length !== /** @type {any} */ (handlers).length) {
        reg = channelOf(type);
      }
      if (reg !== undefined) {
        lastType = type;
        lastReg = reg;
        if (reg.epoch !== epoch) emitChecked(reg, evt);
        else if (reg.pending++ === 0) markDirty(reg);
      }
      if (handlers) {
        handlers.slice().map((/** @type {Function} */ handler) => handler(evt));
      }
      handlers = handlersOf.get('*');
      if (handlers) {
        handlers.slice().map((/** @type {Function} */ handler) => handler(type, evt));
      }
    },
  };

  /**
   * The channel an emit of `type` counts on, after bringing the registrations of `type` and `'*'`
   * in step with their lists (the rare path of `emit`, kept out of it so that it stays small):
   * the type's own, or, when only `'*'` handlers listen, one for its topic; none if nobody does.
   * @param {unknown} type
   */
  const channelOf = (type) => {
    const reg = type === '*' ? undefined : sync(type);
    const wildcard = handlersOf.get('*');
    if (wildcard !== undefined) sync('*');
    if (reg === undefined && wildcard !== undefined && wildcard.length > 0) return unheardChannel(type);
    return reg;
  };

  /** The channel of a type only `'*'` handlers hear (its topic matches their `**` pattern). */
  const unheardChannel = (/** @type {unknown} */ type) => {
    let reg = unheard.get(type);
    if (reg === undefined) {
      if (unheard.size >= 1024) {
        // Their numbered topics go too (a symbol or long name per emit must not pile up).
        for (const key of unheard.keys()) if (!registered.has(key)) topics.forget(key);
        unheard.clear();
      }
      reg = { key: type, list: undefined, subs: [], bus: busOf(), topic: topics.of(type), pending: 0, epoch: -1 };
      unheard.set(type, reg);
    }
    return reg;
  };

  Object.defineProperty(emitter, 'bus', {
    /** The emitter's `EventBus` (made on first use): for `subscriptions()`, `leaks()`, `metrics()`, `expose()`. */
    get: busOf,
    enumerable: false,
  });
  return emitter;
}
