// @ts-check
/**
 * `bus.waitFor(pattern, options)` and `bus.stream(pattern, options)`: promises and async
 * iterators over an ordinary subscription, which end when it is removed or the bus closed
 * (removal.js).
 */

import { SwitchyardError } from './errors.js';
import { checkTimeout, readOptions } from './options.js';
import { checkBus, freedBuses } from './receiver.js';
import { unwatchRemoval, watchRemoval } from './removal.js';
import { abortReason, listenAbort, signalAborted, unlistenAbort } from './signals.js';

/** `Symbol.asyncDispose`, or the registered symbol TypeScript and core-js use where it is missing. */
const asyncDisposeSymbol = Symbol.asyncDispose ?? Symbol.for('Symbol.asyncDispose');

/**
 * Defines `waitFor` and `stream` on the bus prototype (after the facade: they call its
 * wrapped `subscribe`, and are not wrapped themselves).
 * @param {any} proto
 */
export function installStreams(proto) {
  Object.defineProperty(proto, 'waitFor', {
    configurable: true,
    writable: true,
    /**
     * Resolves with the payload of the next message on `pattern` that passes `filter`;
     * rejects with E_TIMEOUT after `timeoutMs` (bus clock), with the signal's reason, or with
     * E_CLOSED when the bus is closed (or freed) or its subscription removed first.
     * @this {any}
     * @param {unknown} pattern
     * @param {unknown} [options]
     * @returns {Promise<unknown>}
     */
    value: function waitFor(pattern, options) {
      return new Promise((resolve, reject) => {
        checkBus(this, 'waitFor');
        if (typeof pattern !== 'string') {
          throw new SwitchyardError('E_INVALID_PATTERN', 'waitFor(): `pattern` must be a string');
        }
        const { signal, timeoutMs, filter } = readOptions('waitFor', options);
        // Checked before subscribing, so that a refusal leaves no subscription behind.
        checkTimeout(timeoutMs);
        if (signalAborted(signal)) {
          reject(abortReason(signal));
          return;
        }
        /** @type {any} */
        let subscription;
        /** @type {number | undefined} */
        let timer;
        let settled = false;
        const onAbort = () => finish(() => reject(abortReason(signal)));
        /** @param {() => void} then */
        const finish = (then) => {
          if (settled) return;
          settled = true;
          unwatchRemoval(this, subscription);
          if (!freedBuses.has(this)) {
            subscription?.unsubscribe();
            if (timer !== undefined) this.__clearTimer(timer);
          }
          unlistenAbort(signal, onAbort);
          then();
        };
        // The name shows the pattern while it fits the 256-byte limit on names.
        const name = pattern.length <= 64 ? `waitFor(${pattern})` : 'waitFor';
        /** @type {Record<string, unknown>} */
        const subscribeOptions = { once: true, name };
        if (filter !== undefined) subscribeOptions.filter = filter;
        subscription = this.subscribe(pattern, (/** @type {unknown} */ payload) => finish(() => resolve(payload)), subscribeOptions);
        if (settled) {
          subscription.unsubscribe();
          return;
        }
        watchRemoval(this, subscription, (why) =>
          finish(() => reject(new SwitchyardError('E_CLOSED', `waitFor('${pattern}'): ${why} before a message matched`))),
        );
        if (timeoutMs !== undefined) {
          try {
            timer = this.__setTimer(timeoutMs, () =>
              finish(() =>
                reject(new SwitchyardError('E_TIMEOUT', `waitFor('${pattern}') timed out after ${timeoutMs} ms`)),
              ),
            );
          } catch (error) {
            finish(() => reject(error));
            return;
          }
        }
        if (signal !== undefined && !listenAbort(signal, onAbort)) {
          finish(() => reject(new SwitchyardError('E_INVALID_OPTION', 'option `signal` must be an AbortSignal')));
        }
      });
    },
  });

  Object.defineProperty(proto, 'stream', {
    configurable: true,
    writable: true,
    /**
     * A pull-based async iterator of `{ payload, meta }`. At most one message waits in
     * JavaScript; the rest wait in the subscription's bounded queue under its overflow policy.
     * It ends (`done: true`) on `return()`, on abort, and when the bus is closed (or freed) or
     * its subscription removed, also for a `next()` already waiting.
     * @this {any}
     * @param {unknown} pattern
     * @param {unknown} [options]
     */
    value: function stream(pattern, options) {
      checkBus(this, 'stream');
      if (typeof pattern !== 'string') {
        throw new SwitchyardError('E_INVALID_PATTERN', 'stream(): `pattern` must be a string');
      }
      const { signal, ...rest } = readOptions('stream', options);
      const aborted = signalAborted(signal);
      /** @typedef {{ payload: unknown, meta: unknown }} Item */
      /** @type {((result: IteratorResult<Item | undefined>) => void)[]} */
      const consumers = [];
      /** @type {{ item: Item, release: () => void } | null} */
      let handoff = null;
      let done = false;
      /** @type {(payload: unknown, meta: unknown) => Promise<void>} */
      const handler = (payload, meta) =>
        new Promise((release) => {
          const item = { payload, meta };
          const consumer = consumers.shift();
          if (consumer) {
            consumer({ value: item, done: false });
            release();
          } else {
            handoff = { item, release };
          }
        });
      // A pending delivery waits for the consumer, not for a handler: never time it out.
      const subscription = this.subscribe(pattern, handler, { ...rest, concurrency: 1, timeoutMs: 2 ** 31 });
      const close = () => {
        if (done) return;
        done = true;
        unwatchRemoval(this, subscription);
        subscription.unsubscribe();
        unlistenAbort(signal, close);
        for (const consumer of consumers.splice(0)) consumer({ value: undefined, done: true });
        if (handoff) {
          handoff.release();
          handoff = null;
        }
      };
      watchRemoval(this, subscription, close);
      if (aborted) close();
      else if (signal !== undefined && !listenAbort(signal, close)) {
        close();
        throw new SwitchyardError('E_INVALID_OPTION', 'option `signal` must be an AbortSignal');
      }
      const iterator = {
        next() {
          if (handoff) {
            const { item, release } = handoff;
            handoff = null;
            release();
            return Promise.resolve({ value: item, done: false });
          }
          if (done || !subscription.active) {
            close();
            return Promise.resolve({ value: undefined, done: true });
          }
          return new Promise((resolve) => consumers.push(resolve));
        },
        /** @param {unknown} [value] */
        return(value) {
          close();
          return Promise.resolve({ value, done: true });
        },
        [Symbol.asyncIterator]() {
          return this;
        },
        [asyncDisposeSymbol]() {
          close();
          return Promise.resolve();
        },
      };
      Object.defineProperty(iterator, 'subscription', { value: subscription });
      return iterator;
    },
  });

}
