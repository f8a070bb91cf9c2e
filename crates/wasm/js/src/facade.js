// @ts-check
/**
 * The bus facade: every method and getter of the bindings' `EventBus` is wrapped so that it
 * checks its receiver, refuses a freed bus, and records pending fast-path batches first (see
 * fastpath.js); `subscribe`, `getSubscription`, `close`, `free` and `[Symbol.dispose]` are
 * written here by hand.
 */

import { BORROWED_FREE, checkBus, freedBuses, freedError } from './receiver.js';
import { takeHeld } from './held.js';
import { notifyClosed } from './removal.js';
import { listenAbort, signalOf } from './signals.js';
import { defineSubscription, SUBSCRIPTION_BINDINGS } from './subscription.js';

/** `Symbol.dispose`, or the registered symbol TypeScript and core-js use where it is missing. */
export const disposeSymbol = Symbol.dispose ?? Symbol.for('Symbol.dispose');

/**
 * Bus methods and getters that only read (they only borrow the engine): cached routes stay
 * valid across them.
 */
const READERS = ['closed', 'deadLetters', 'getSubscription', 'isIdle', 'metrics', 'now', 'snapshot', 'subscriptions', 'trace'];

/** @typedef {(bus: any) => void} Sync */

/**
 * Wraps every method and getter of `proto` not in `skip` (and no `__inline*` binding): each
 * records pending batches first; those that may change the bus also invalidate its cached
 * routes. Readers leave them valid.
 * @param {any} proto
 * @param {string[]} skip
 * @param {Sync} syncAll
 * @param {Sync} syncAllForRead
 */
function wrapAll(proto, skip, syncAll, syncAllForRead) {
  for (const name of Object.getOwnPropertyNames(proto)) {
    if (skip.includes(name) || name.startsWith('__inline')) continue;
    const before = READERS.includes(name) ? syncAllForRead : syncAll;
    const descriptor = /** @type {PropertyDescriptor} */ (Object.getOwnPropertyDescriptor(proto, name));
    if (typeof descriptor.value === 'function') {
      const original = descriptor.value;
      descriptor.value = {
        /** @param {...unknown} args */
        [name](...args) {
          if (freedBuses.has(this)) throw freedError(name);
          checkBus(this, name);
          before(this);
          return original.apply(this, args);
        },
      }[name];
    } else if (typeof descriptor.get === 'function') {
      const original = descriptor.get;
      // A freed bus is closed (`closed`); its other getters throw as its methods do.
      const ifFreed =
        name === 'closed'
          ? () => true
          : () => {
              throw freedError(name);
            };
      /** @this {any} */
      descriptor.get = function () {
        if (freedBuses.has(this)) return ifFreed();
        checkBus(this, name);
        before(this);
        return original.call(this);
      };
      if (typeof descriptor.set === 'function') {
        const originalSet = descriptor.set;
        /** @this {any} @param {unknown} value */
        descriptor.set = function (value) {
          checkBus(this, name);
          syncAll(this);
          originalSet.call(this, value);
        };
      }
    } else {
      continue;
    }
    Object.defineProperty(proto, name, descriptor);
  }
}

/**
 * Installs the facade over the bindings' class (whose `publish` fastpath.js already replaced)
 * and answers the `Subscription` class.
 * @param {import('./bindings.js').RawBusClass} EventBus
 * @param {{ syncAll: Sync, syncAllForRead: Sync, forget: (bus: any) => void }} fastPath
 */
export function installFacade(EventBus, fastPath) {
  const { syncAll, syncAllForRead, forget } = fastPath;
  // `subscribe` and `getSubscription` are wrapped by hand below (subscribing is hot in apps
  // that subscribe per component); the id-based bindings behind `Subscription` are called
  // only by its methods, which sync themselves.
  const proto = EventBus.prototype;
  const bindingsSubscribe = proto.__subscribe;
  const bindingsGetSubscription = proto.__getSubscription;
  const { Subscription, newSubscription } = defineSubscription(proto, syncAll, syncAllForRead);
  // `free` is wrapped by hand below (`close`, which it calls first, records the batches).
  const freeBus = proto.free;
  wrapAll(
    proto,
    // `__links` (the bridge's link registry) changes nothing a cached route depends on.
    ['constructor', '__destroy_into_raw', 'free', 'publish', 'waitFor', 'stream', 'subscribe', 'getSubscription', '__links', ...SUBSCRIPTION_BINDINGS],
    syncAll,
    syncAllForRead,
  );
  // A subscription's AbortSignal unsubscribes from inside the bindings, not through a wrapped
  // method. This listener is added before theirs, so on abort the pending batches are recorded
  // and a message being dispatched is handed to the engine first: a later subscription aborted
  // by a running handler is not called, and the trace keeps publish order. Fixed parameters
  // (no rest array) and one wrapper, not two, keep the call cheap.
  Object.defineProperty(proto, 'subscribe', {
    configurable: true,
    writable: true,
    /**
     * @this {any}
     * @param {unknown} pattern
     * @param {unknown} handler
     * @param {unknown} [options]
     */
    value: function subscribe(pattern, handler, options) {
      if (freedBuses.has(this)) throw freedError('subscribe');
      checkBus(this, 'subscribe');
      if (options !== undefined) {
        const signal = signalOf(options);
        // A signal whose addEventListener throws is refused by the bindings, which call it too.
        if (signal !== undefined) listenAbort(signal, () => syncAll(this));
      }
      syncAll(this);
      // The bindings validated `pattern` (a string) and answer the id; a name given in the
      // options is handed back (`hold`), so only then is there one to take.
      const id = bindingsSubscribe.call(this, pattern, handler, options);
      let name = null;
      if (options !== undefined) {
        const held = takeHeld();
        // A handler run by the subscribe (replay) may have freed the bus: the name is then
        // lost with the subscription, which is inactive.
        if (typeof held === 'string' && !freedBuses.has(this)) name = held;
      }
      return newSubscription(this, id, /** @type {string} */ (pattern), name);
    },
  });
  Object.defineProperty(proto, 'getSubscription', {
    configurable: true,
    writable: true,
    /**
     * @this {any}
     * @param {unknown} id
     */
    value: function getSubscription(id) {
      if (freedBuses.has(this)) throw freedError('getSubscription');
      checkBus(this, 'getSubscription');
      syncAllForRead(this);
      // `[id, pattern, name]`, or nothing for an id that is not an active subscription.
      bindingsGetSubscription.call(this, id);
      const found = /** @type {[number, string, string | null] | undefined} */ (takeHeld());
      if (found === undefined || found === null) return undefined;
      return newSubscription(this, found[0], found[1], found[2]);
    },
  });
  // Closing ends what waits on the bus's subscriptions (`waitFor`, `stream`).
  const closeBus = proto.close;
  Object.defineProperty(proto, 'close', {
    configurable: true,
    writable: true,
    /** @this {any} */
    value: function close() {
      if (freedBuses.has(this)) return;
      checkBus(this, 'close');
      closeBus.call(this);
      notifyClosed(this, 'the bus was closed');
    },
  });
  Object.defineProperty(proto, 'free', {
    configurable: true,
    writable: true,
    /**
     * Closes the bus, then releases it: at once, or, when called from inside one of its own
     * calls (a handler, a filter, an option getter...), as soon as that call returns. Every
     * later call throws E_CLOSED; freeing again does nothing.
     * @this {any}
     */
    value: function free() {
      if (freedBuses.has(this)) return;
      checkBus(this, 'free');
      // Closed first, so that a handler freeing its bus stops the dispatch on either path.
      this.close();
      forget(this);
      freedBuses.add(this);
      try {
        freeBus.call(this);
      } catch (error) {
        // wasm-bindgen gave up JavaScript's reference to a bus still borrowed by a call on the
        // stack (this `free()` runs inside it) and reports it; the bus is dropped when that
        // call returns. That is the deferred free asked for.
        if (/** @type {any} */ (error)?.message !== BORROWED_FREE) throw error;
      }
    },
  });
  // `using bus = new EventBus()`: leaving the scope closes the bus (later calls throw
  // E_CLOSED); `free()` also releases its memory (disposing a freed bus does nothing).
  Object.defineProperty(proto, disposeSymbol, {
    /** @this {any} */
    value: function dispose() {
      if (freedBuses.has(this)) return;
      checkBus(this, '[Symbol.dispose]');
      this.close();
    },
    configurable: true,
    writable: true,
  });
  Object.defineProperty(Subscription.prototype, disposeSymbol, {
    /** @this {any} */
    value: function dispose() {
      this.unsubscribe();
    },
    configurable: true,
    writable: true,
  });
  const restore = EventBus.restore;
  if (typeof restore === 'function') {
    /** @param {...unknown} args */
    EventBus.restore = function (...args) {
      syncAll(undefined);
      return restore.apply(this, args);
    };
  }
  return Subscription;
}
