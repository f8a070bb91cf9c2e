// The hand-written part of the package, shared by every entry (pack.rs pastes it into each).
// Everything else (the bus, validation, dispatch, timers, leaks, attach protocol) is Rust.

/** The one error class the package throws; `code` says what went wrong. */
class SwitchyardError extends Error {
  /**
   * @param {string} code one of E_INVALID_TOPIC, E_INVALID_PATTERN, E_INVALID_OPTION,
   *   E_INVALID_HANDLER, E_BACKPRESSURE, E_CASCADE, E_CLOSED, E_TIMEOUT
   * @param {string} message
   */
  constructor(code, message) {
    super(message);
    this.name = 'SwitchyardError';
    this.code = code;
  }
}

const disposeSymbol = Symbol.dispose ?? Symbol.for('Symbol.dispose');
const asyncDisposeSymbol = Symbol.asyncDispose ?? Symbol.for('Symbol.asyncDispose');

/** Checks an options object of `method` against `known` names (the Rust side does the rest). */
function readOptions(method, options, known) {
  if (options === undefined || options === null) return {};
  if (typeof options !== 'object' || Array.isArray(options)) {
    throw new SwitchyardError('E_INVALID_OPTION', `${method}(): options must be a plain object`);
  }
  const out = {};
  for (const key of Object.keys(options)) {
    if (!known.includes(key)) {
      throw new SwitchyardError(
        'E_INVALID_OPTION',
        `option \`${key}\` is not a known option (expected one of: ${known.join(', ')})`,
      );
    }
    try {
      out[key] = options[key];
    } catch {
      throw new SwitchyardError('E_INVALID_OPTION', `option \`${key}\` threw when read`);
    }
  }
  return out;
}

function checkSignal(signal) {
  if (signal === undefined) return;
  if (typeof signal !== 'object' || signal === null || typeof signal.addEventListener !== 'function' ||
      typeof signal.aborted !== 'boolean') {
    throw new SwitchyardError('E_INVALID_OPTION', 'option `signal` must be an AbortSignal');
  }
}

function abortReason(signal) {
  if (signal.reason !== undefined) return signal.reason;
  const error = new Error('The operation was aborted');
  error.name = 'AbortError';
  return error;
}

/** Headers of a message published without any (shared, so metas stay cheap). */
const NO_HEADERS = Object.freeze({});

function install(wasm) {
  // Object constructors the engine calls: one call and one fixed object shape each.
  wasm.__registerHooks({
    error: (code, message) => new SwitchyardError(code, message),
    meta: (id, topic, seq, attempt, publishedAt, causationId, correlationId, headers) => ({
      id,
      topic,
      seq,
      attempt,
      publishedAt,
      causationId,
      correlationId,
      headers: headers === undefined ? NO_HEADERS : headers,
    }),
    // The common delivery in one crossing: build meta and call the handler (throws propagate).
    deliver: (handler, payload, id, topic, seq, attempt, publishedAt, causationId, correlationId, headers) =>
      handler(payload, {
        id,
        topic,
        seq,
        attempt,
        publishedAt,
        causationId,
        correlationId,
        headers: headers === undefined ? NO_HEADERS : headers,
      }),
    published: (id, seq, matched) => ({ id, seq, matched }),
    event: (cursor, at, kind, subscription, message, topic, detail) => ({
      cursor,
      at,
      kind,
      subscription,
      message,
      topic,
      detail,
    }),
  });
  const { EventBus, Subscription } = wasm;

  Object.defineProperty(Subscription.prototype, disposeSymbol, {
    value: function dispose() {
      this.unsubscribe();
    },
    configurable: true,
    writable: true,
  });

  Object.defineProperty(EventBus.prototype, 'waitFor', {
    configurable: true,
    writable: true,
    /**
     * Resolves with the payload of the next message on `pattern` that passes `filter`;
     * rejects with E_TIMEOUT after `timeoutMs` (bus clock) or with the signal's reason.
     */
    value: function waitFor(pattern, options) {
      return new Promise((resolve, reject) => {
        const { signal, timeoutMs, filter } = readOptions('waitFor', options, ['signal', 'timeoutMs', 'filter']);
        checkSignal(signal);
        if (signal?.aborted) {
          reject(abortReason(signal));
          return;
        }
        let subscription;
        let timer;
        let settled = false;
        const onAbort = () => finish(() => reject(abortReason(signal)));
        const finish = (then) => {
          if (settled) return;
          settled = true;
          subscription?.unsubscribe();
          if (timer !== undefined) this.__clearTimer(timer);
          signal?.removeEventListener('abort', onAbort);
          then();
        };
        const subscribeOptions = { once: true, name: `waitFor(${String(pattern)})` };
        if (filter !== undefined) subscribeOptions.filter = filter;
        subscription = this.subscribe(pattern, (payload) => finish(() => resolve(payload)), subscribeOptions);
        if (settled) {
          subscription.unsubscribe();
          return;
        }
        if (timeoutMs !== undefined) {
          timer = this.__setTimer(timeoutMs, () =>
            finish(() =>
              reject(new SwitchyardError('E_TIMEOUT', `waitFor('${pattern}') timed out after ${timeoutMs} ms`)),
            ),
          );
        }
        signal?.addEventListener('abort', onAbort, { once: true });
      });
    },
  });

  Object.defineProperty(EventBus.prototype, 'stream', {
    configurable: true,
    writable: true,
    /**
     * A pull-based async iterator of `{ payload, meta }`. At most one message waits in
     * JavaScript; the rest wait in the subscription's bounded queue under its overflow policy.
     */
    value: function stream(pattern, options) {
      const known = ['capacity', 'overflow', 'filter', 'priority', 'name', 'group', 'replay', 'signal'];
      const { signal, ...rest } = readOptions('stream', options, known);
      checkSignal(signal);
      const consumers = [];
      let handoff = null;
      let done = false;
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
        subscription.unsubscribe();
        signal?.removeEventListener('abort', close);
        for (const consumer of consumers.splice(0)) consumer({ value: undefined, done: true });
        if (handoff) {
          handoff.release();
          handoff = null;
        }
      };
      if (signal?.aborted) close();
      else signal?.addEventListener('abort', close, { once: true });
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

  return { EventBus, Subscription, SwitchyardError };
}
