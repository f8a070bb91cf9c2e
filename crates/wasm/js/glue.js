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

/**
 * The inline fast path in JavaScript: `publish(topic, payload)` with no options, on a route the
 * engine declared inline-eligible, calls the handlers right here and counts the publish in a
 * batch that is recorded with one engine call (`__inlineRecord`) when the batch ends: a publish
 * on another topic, any other bus or subscription method, a handler that throws, returns a
 * thenable or publishes, or a microtask at the end of the current task. Routes are cached per
 * topic and checked, with no call, against the inline cell the engine writes in wasm memory
 * (its inline epoch and whether it is dispatching) and a generation every other method bumps.
 */
function installFastPath(wasm, EventBus, Subscription) {
  const memory = wasm.__inlineMemory();
  /** Each bus's fast-path state, under a symbol (one inline-cached property load). */
  const STATE = Symbol('switchyard.inline');
  /** Buses with a batch to record or a dispatch running (usually none or one). */
  const live = new Set();
  /**
   * Most publishes recorded by one call. A batch's messages share one `publishedAt` (the
   * engine records a run at one instant), so batches are kept short.
   */
  const MAX_BATCH = 256;
  /** Bumped by every method other than a fast publish: cached routes must be re-read. */
  let generation = 0;

  const slowPublish = EventBus.prototype.publish;

  function stateOf(bus) {
    let state = bus[STATE];
    if (state === undefined) {
      const address = bus.__inlineCell();
      state = {
        bus,
        address,
        cell: new Float64Array(memory.buffer, address, 4),
        routes: new Map(),
        nextId: 0,
        pending: null, // { entry, count, at }
        scheduled: false,
        dispatching: false,
        // The message being dispatched (one object per bus, reused: nested publishes take
        // the slow path, so there is never more than one).
        message: { entry: null, id: 0, seq: 0, at: 0, payload: undefined, handedBack: false },
        entered: false,
      };
      state.flushAtTaskEnd = () => flushAtTaskEnd(state);
      Object.defineProperty(bus, STATE, { value: state });
    }
    if (state.cell.length === 0) state.cell = new Float64Array(memory.buffer, state.address, 4);
    return state;
  }

  function flush(state) {
    const pending = state.pending;
    if (pending === null) return;
    state.pending = null;
    pending.entry.seq += pending.count;
    state.bus.__inlineRecord(pending.entry.handle, pending.count, pending.at);
  }

  /** Before any other engine call: handlers running here become the engine's dispatch. */
  function sync(state) {
    if (state.dispatching && !state.entered) {
      state.entered = true;
      state.bus.__inlineEnter(state.message.id);
    }
    flush(state);
    if (!state.dispatching) live.delete(state);
  }

  function syncAll() {
    generation++;
    if (live.size === 0) return;
    for (const state of live) sync(state);
  }

  function flushAtTaskEnd(state) {
    state.scheduled = false;
    if (!state.dispatching) {
      flush(state);
      live.delete(state);
    }
  }

  function fill(state, topic) {
    const answer = state.bus.__inlineRoute(topic);
    if (answer === null) {
      state.routes.delete(topic);
      return null;
    }
    if (state.routes.size >= 1024) state.routes.clear();
    if (state.cell.length === 0) state.cell = new Float64Array(memory.buffer, state.address, 4);
    const entry = {
      handle: answer[0],
      seq: answer[2],
      handlers: answer[3],
      epoch: state.cell[0],
      generation,
    };
    state.nextId = answer[1];
    state.routes.set(topic, entry);
    return entry;
  }

  function clockNow(state) {
    const manual = state.cell[2];
    const ms = manual >= 0 ? manual : performance.now();
    // The engine keeps whole microseconds.
    return ms > 0 ? Math.floor(ms * 1000) / 1000 : 0;
  }

  function handBack(state, index, outcome, value) {
    const message = state.message;
    sync(state);
    state.bus.__inlineHandBack(
      message.entry.handle,
      index,
      message.id,
      message.seq,
      message.at,
      message.payload,
      outcome,
      value,
    );
    message.handedBack = true;
  }

  function publish(topic, payload, options) {
    if (options !== undefined || typeof topic !== 'string') {
      return publishSlow(this, topic, payload, options);
    }
    const state = stateOf(this);
    if (state.dispatching) return publishSlow(this, topic, payload, options);
    let entry = state.routes.get(topic);
    let pending = state.pending;
    if (pending !== null && (pending.entry !== entry || pending.count >= MAX_BATCH)) {
      flush(state);
      pending = null;
    }
    let cell = state.cell;
    if (entry === undefined || entry.generation !== generation || entry.epoch !== cell[0] || cell[1] !== 0) {
      if (pending !== null) {
        flush(state);
        pending = null;
      }
      cell = stateOf(this).cell;
      if (cell[1] !== 0) return publishSlow(this, topic, payload, options);
      entry = fill(state, topic);
      if (entry === null) return publishSlow(this, topic, payload, options);
    }
    if (pending === null) {
      pending = state.pending = { entry, count: 0, at: clockNow(state) };
      live.add(state);
      if (!state.scheduled) {
        state.scheduled = true;
        queueMicrotask(state.flushAtTaskEnd);
      }
    }
    pending.count++;
    const id = state.nextId++;
    const seq = entry.seq + pending.count;
    const at = pending.at;
    const handlers = entry.handlers;
    const epoch = entry.epoch;
    const message = state.message;
    message.entry = entry;
    message.id = id;
    message.seq = seq;
    message.at = at;
    message.payload = payload;
    message.handedBack = false;
    state.dispatching = true;
    const startGeneration = generation;
    try {
      for (let i = 0; i < handlers.length; i++) {
        if ((generation !== startGeneration || state.cell[0] !== epoch) && !state.bus.__inlineActive(entry.handle, i)) {
          handBack(state, i, 0, undefined);
          continue;
        }
        let returned;
        try {
          // A fresh meta per delivery, as the slow path gives.
          returned = handlers[i](payload, {
            id,
            topic,
            seq,
            attempt: 1,
            publishedAt: at,
            causationId: null,
            correlationId: null,
            headers: NO_HEADERS,
          });
        } catch (thrown) {
          handBack(state, i, 1, thrown);
          continue;
        }
        if (returned !== undefined) checkReturned(state, i, returned);
      }
    } finally {
      state.dispatching = false;
      message.payload = undefined;
      message.entry = null;
      if (state.entered) {
        state.entered = false;
        state.bus.__inlineExit();
        generation++;
      } else if (message.handedBack) {
        state.bus.__inlineFinish();
        generation++;
      }
      if (state.pending === null) live.delete(state);
    }
    return { id, seq, matched: handlers.length };
  }

  /** A handler returned `returned`: a thenable makes its delivery pending in the engine. */
  function checkReturned(state, index, returned) {
    if (returned === null || (typeof returned !== 'object' && typeof returned !== 'function')) return;
    let then;
    try {
      then = returned.then;
    } catch {
      return;
    }
    if (typeof then === 'function') handBack(state, index, 2, returned);
  }

  function publishSlow(bus, topic, payload, options) {
    const state = bus[STATE];
    if (state !== undefined) {
      if (state.dispatching && !state.entered) {
        state.entered = true;
        bus.__inlineEnter(state.message.id);
      }
      flush(state);
    }
    generation++;
    return slowPublish.call(bus, topic, payload, options);
  }

  Object.defineProperty(EventBus.prototype, 'publish', { value: publish, configurable: true, writable: true });

  /** Every other method and getter records pending batches first and invalidates routes. */
  function wrapAll(proto, skip) {
    for (const name of Object.getOwnPropertyNames(proto)) {
      if (skip.includes(name) || name.startsWith('__inline')) continue;
      const descriptor = Object.getOwnPropertyDescriptor(proto, name);
      if (typeof descriptor.value === 'function') {
        const original = descriptor.value;
        descriptor.value = {
          [name](...args) {
            syncAll();
            return original.apply(this, args);
          },
        }[name];
      } else if (typeof descriptor.get === 'function') {
        const original = descriptor.get;
        descriptor.get = function () {
          syncAll();
          return original.call(this);
        };
        if (typeof descriptor.set === 'function') {
          const originalSet = descriptor.set;
          descriptor.set = function (value) {
            syncAll();
            originalSet.call(this, value);
          };
        }
      } else {
        continue;
      }
      Object.defineProperty(proto, name, descriptor);
    }
  }
  wrapAll(EventBus.prototype, ['constructor', 'publish', 'waitFor', 'stream']);
  wrapAll(Subscription.prototype, ['constructor']);
  const restore = EventBus.restore;
  if (typeof restore === 'function') {
    EventBus.restore = function (...args) {
      syncAll();
      return restore.apply(this, args);
    };
  }
}

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
  installFastPath(wasm, EventBus, Subscription);

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
