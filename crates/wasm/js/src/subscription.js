// @ts-check
/**
 * The `Subscription` class: plain JavaScript over the bus's id-based bindings. Creating one
 * allocates no wasm memory and registers no finalizer (a wasm-bindgen object per subscription
 * did both, and the registry's bookkeeping was a quarter of a subscribe + unsubscribe). It
 * holds its bus, so the engine lives as long as a subscription is kept. Each method records
 * pending fast-path batches first (`syncAll`, or `syncAllForRead` for those that only read),
 * as the bus's methods do; once the bus was freed it answers as a removed subscription.
 */

import { SwitchyardError } from './errors.js';
import { notifyRemoved } from './removal.js';
import { freedBuses } from './receiver.js';

/** The bus's id-based bindings behind `Subscription`. */
export const SUBSCRIPTION_BINDINGS = [
  '__subscribe',
  '__getSubscription',
  '__unsubscribe',
  '__subscriptionActive',
  '__pause',
  '__resume',
  '__flush',
  '__setDelivery',
  '__subscriptionStats',
];

/** @typedef {(bus: any) => void} Sync */

/**
 * Defines the class over the bindings of `proto` (the bus prototype).
 * @param {any} proto
 * @param {Sync} syncAll records pending batches, and invalidates the bus's cached routes
 * @param {Sync} syncAllForRead records pending batches
 */
export function defineSubscription(proto, syncAll, syncAllForRead) {
  const unsubscribeById = proto.__unsubscribe;
  const activeById = proto.__subscriptionActive;
  const pauseById = proto.__pause;
  const resumeById = proto.__resume;
  const flushById = proto.__flush;
  const setDeliveryById = proto.__setDelivery;
  const statsById = proto.__subscriptionStats;
  /** Only `newSubscription` may construct one (`new Subscription()` throws). */
  const CONSTRUCT = Symbol('switchyard.subscription');

  class Subscription {
    /** @type {any} */
    #bus;
    /** @type {number} */
    #id;
    /** @type {string} */
    #pattern;
    /** @type {string | null} */
    #name;

    /**
     * Throws E_INVALID_RECEIVER unless `value` is a Subscription (a detached method or
     * `Subscription.prototype.x.call(other)` would otherwise fail on a private field).
     * @param {unknown} value
     * @param {string} member
     */
    static #check(value, member) {
      if (typeof value !== 'object' || value === null || !(#bus in value)) {
        throw new SwitchyardError('E_INVALID_RECEIVER', `${member} was called on something that is not a Subscription; call it on one (\`sub.${member}\`)`);
      }
    }

    /**
     * @param {symbol} token
     * @param {any} bus
     * @param {number} id
     * @param {string} pattern
     * @param {string | null} name
     */
    constructor(token, bus, id, pattern, name) {
      if (token !== CONSTRUCT) throw new TypeError('Subscription objects come from bus.subscribe()');
      this.#bus = bus;
      this.#id = id;
      this.#pattern = pattern;
      this.#name = name;
    }

    /** The subscription id (as in trace events and views). */
    get id() {
      Subscription.#check(this, 'id');
      return this.#id;
    }

    /** The pattern it was subscribed with. */
    get pattern() {
      Subscription.#check(this, 'pattern');
      return this.#pattern;
    }

    /** Its name, or `null`. */
    get name() {
      Subscription.#check(this, 'name');
      return this.#name;
    }

    /**
     * Calls the bus's by-id export `byId` for this subscription (with `argument`, if any) after
     * `sync` recorded pending batches; `ifFreed` when its bus was freed (its memory is gone).
     * @param {Sync} sync
     * @param {Function} byId
     * @param {unknown} ifFreed
     * @param {unknown} [argument]
     * @returns {any}
     */
    #onBus(sync, byId, ifFreed, argument) {
      if (freedBuses.has(this.#bus)) return ifFreed;
      sync(this.#bus);
      return byId.call(this.#bus, this.#id, argument);
    }

    /** Whether it still receives messages. */
    get active() {
      Subscription.#check(this, 'active');
      return this.#onBus(syncAllForRead, activeById, false);
    }

    /** Removes it (queued messages are dropped and counted); false if already removed. */
    unsubscribe() {
      Subscription.#check(this, 'unsubscribe');
      const removed = this.#onBus(syncAll, unsubscribeById, false);
      if (removed) notifyRemoved(this.#bus, this.#id);
      return removed;
    }

    /** Stops deliveries; messages keep queueing under its overflow policy. False if removed. */
    pause() {
      Subscription.#check(this, 'pause');
      return this.#onBus(syncAll, pauseById, false);
    }

    /** Resumes deliveries. False if removed. */
    resume() {
      Subscription.#check(this, 'resume');
      return this.#onBus(syncAll, resumeById, false);
    }

    /**
     * Swaps the delivery strategy, keeping queued messages. False if removed.
     * @param {unknown} strategy
     */
    setDelivery(strategy) {
      Subscription.#check(this, 'setDelivery');
      return this.#onBus(syncAll, setDeliveryById, false, strategy);
    }

    /** Hands a batched subscription's queued messages out now. False if removed. */
    flush() {
      Subscription.#check(this, 'flush');
      return this.#onBus(syncAll, flushById, false);
    }

    /** Configuration, gauges and counters, or `null` once removed. */
    stats() {
      Subscription.#check(this, 'stats');
      return this.#onBus(syncAllForRead, statsById, null);
    }

    /** Nothing to release (kept so code written for wasm-bindgen objects still runs). */
    free() {}
  }

  /**
   * @param {any} bus
   * @param {number} id
   * @param {string} pattern
   * @param {string | null | undefined} name
   */
  const newSubscription = (bus, id, pattern, name) => new Subscription(CONSTRUCT, bus, id, pattern, name ?? null);
  return { Subscription, newSubscription };
}
