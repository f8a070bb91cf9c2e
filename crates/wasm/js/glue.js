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

/**
 * The AbortSignal in subscribe options, if any, read without side effects escaping: a throwing
 * getter or a non-signal is left for the bindings to report as the named option error.
 */
function signalOf(options) {
  if (typeof options !== 'object' || options === null) return undefined;
  try {
    const signal = options.signal;
    if (typeof signal?.addEventListener === 'function' && signal.aborted === false) return signal;
  } catch {
    // Reported by the bindings, which read the option again.
  }
  return undefined;
}

function abortReason(signal) {
  if (signal.reason !== undefined) return signal.reason;
  const error = new Error('The operation was aborted');
  error.name = 'AbortError';
  return error;
}

/** Headers of a message published without any (shared, so metas stay cheap). */
const NO_HEADERS = Object.freeze({});

/** Whether a handler's return value makes its delivery pending (a callable `then`). */
function isThenable(returned) {
  if (returned === null || (typeof returned !== 'object' && typeof returned !== 'function')) return false;
  try {
    return typeof returned.then === 'function';
  } catch {
    return false;
  }
}

/** The thenable the `deliver` hook saw last, until the engine takes it (`takeThenable`). */
let heldThenable;

/**
 * The inline fast path in JavaScript: `publish(topic, payload)` with no options, on a route the
 * engine declared inline-eligible, calls the handlers right here and counts the publish in a
 * batch that is recorded with one engine call (`__inlineRecord`) when the batch ends: any other
 * bus or subscription method, a full batch, or a microtask at the end of the current task. A
 * batch may span several topics (each cached route counts its own publishes), so publishes that
 * alternate between topics stay in JavaScript too. Routes are cached per topic and checked, with
 * no call, against the inline cell the engine writes in wasm memory (its inline epoch, or -1
 * while the fast path must not run) and a generation that every method able to change the bus
 * bumps.
 *
 * While a handler runs, the engine does not know about its message yet. If the handler calls any
 * bus or subscription method (publish, subscribe, metrics, snapshot...), throws or returns a
 * thenable, the glue first hands the message over (`__inlineEnter`): recorded as delivered to the
 * subscriptions whose handlers returned, in flight to the running one, queued for the rest,
 * exactly the slow path's state at that point, so whatever the method reads or writes sees the
 * truth. The glue then reports how the running handler ended (`__inlineOutcome`) and leaves the
 * rest of the message to the engine's dispatch loop (`__inlineExit`).
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
  /**
   * Most runs in one batch (the engine reads a `(handle, count)` pair per run of publishes on
   * one topic from the cell; every run has at least one publish).
   */
  const MAX_BATCH_TOPICS = MAX_BATCH;
  /** Inline cell layout (see `InlineCell` in inline.rs). */
  const CELL_STAMP = 0;
  const CELL_MANUAL_NOW = 1;
  const CELL_BATCH = 4;
  const CELL_SLOTS = CELL_BATCH + 2 * MAX_BATCH_TOPICS;
  /** Most topics whose routes are cached per bus (the cache is cleared past this). */
  const MAX_ROUTES = 1024;
  /** Bumped by every method that may change a bus: cached routes must be re-read. */
  let generation = 0;

  const slowPublish = EventBus.prototype.publish;

  function stateOf(bus) {
    let state = bus[STATE];
    if (state === undefined) {
      const address = bus.__inlineCell();
      state = {
        bus,
        address,
        cell: new Float64Array(memory.buffer, address, CELL_SLOTS),
        routes: new Map(),
        // The route filled last (what a loop over one topic hits).
        lastTopic: undefined,
        lastEntry: undefined,
        nextId: 0,
        // The batch as runs of publishes on one topic, in publish order: `(route, count)`
        // pairs of the runs before the current one, whose route and length follow (no
        // current route: the batch is empty). A route may have several runs; its `count`
        // is its publishes over all of them.
        runs: [],
        lastRun: undefined,
        runCount: 0,
        // Publishes in the batch, and the bus-clock instant they share.
        batched: 0,
        at: 0,
        scheduled: false,
        dispatching: false,
        // While dispatching: the payload, and the index in its route of the handler running
        // (nested publishes take the slow path, so there is one message at a time).
        payload: undefined,
        running: 0,
        // The message was handed over to the engine (`__inlineEnter`).
        entered: false,
        // `free()` was called (its memory is gone: no more calls into the engine).
        freed: false,
      };
      state.flushAtTaskEnd = () => flushAtTaskEnd(state);
      Object.defineProperty(bus, STATE, { value: state });
    }
    cellOf(state);
    return state;
  }

  /** The inline cell, re-viewed when wasm memory grew (which detaches the old view). */
  function cellOf(state) {
    if (state.cell.length === 0) state.cell = new Float64Array(memory.buffer, state.address, CELL_SLOTS);
    return state.cell;
  }

  /**
   * Records every batched publish with one engine call, as runs in publish order, so the
   * engine gives each message the id its handlers saw (and traces it under that id).
   */
  function flush(state) {
    if (state.lastRun === undefined) return;
    const pairs = writeRuns(state);
    state.bus.__inlineRecord(pairs, state.at);
  }

  /**
   * Hands the message being dispatched over to the engine, with the batch before it: the
   * handlers before `state.running` returned, that one runs (or just ended), the rest have not
   * run. From here on the engine dispatches (see `installFastPath`).
   */
  function enter(state) {
    state.entered = true;
    const pairs = writeRuns(state);
    state.bus.__inlineEnter(pairs, state.at, state.running, state.payload);
  }

  /**
   * Writes the batch into the cell as `(handle, count)` runs in publish order, empties it and
   * returns how many runs there are. The caller records them at once: the engine may run
   * handlers that publish.
   */
  function writeRuns(state) {
    const cell = cellOf(state);
    const runs = state.runs;
    runs.push(state.lastRun, state.runCount);
    const pairs = runs.length / 2;
    for (let i = 0; i < runs.length; i += 2) {
      const entry = runs[i];
      cell[CELL_BATCH + i] = entry.handle;
      cell[CELL_BATCH + i + 1] = runs[i + 1];
      // The route's first run takes all its publishes in the batch; later runs add none.
      entry.seq += entry.count;
      entry.count = 0;
    }
    runs.length = 0;
    state.lastRun = undefined;
    state.runCount = 0;
    state.batched = 0;
    return pairs;
  }

  /**
   * Starts a run of publishes on `entry`'s topic: the previous run is complete, or this is the
   * first publish of a batch (see `startBatch`).
   */
  function startRun(state, entry) {
    if (state.lastRun === undefined) startBatch(state);
    else state.runs.push(state.lastRun, state.runCount);
    state.lastRun = entry;
    state.runCount = 1;
  }

  /** Before any other engine call: record the batch; a message being dispatched is handed over. */
  function sync(state) {
    if (state.dispatching) {
      if (!state.entered) enter(state);
    } else {
      flush(state);
      live.delete(state);
    }
  }

  /** Before a method that may change a bus: record every batch, invalidate every route. */
  function syncAll() {
    generation++;
    if (live.size === 0) return;
    for (const state of live) sync(state);
  }

  /** Before a method that only reads: record every batch (cached routes stay valid). */
  function syncAllForRead() {
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

  /** A cached route for `topic` that is valid now, or `null` for the slow path. */
  function refill(state, topic) {
    // The engine answers with the next id: everything batched must be recorded first.
    flush(state);
    const cell = cellOf(state);
    if (cell[CELL_STAMP] < 0) return null;
    const answer = state.bus.__inlineRoute(topic);
    if (answer === null) {
      state.routes.delete(topic);
      state.lastTopic = undefined;
      state.lastEntry = undefined;
      return null;
    }
    if (state.routes.size >= MAX_ROUTES) state.routes.clear();
    const entry = {
      handle: answer[0],
      // The last sequence number recorded on the topic, and publishes batched since.
      seq: answer[2],
      count: 0,
      handlers: answer[3],
      epoch: cellOf(state)[CELL_STAMP],
      generation,
    };
    state.nextId = answer[1];
    state.routes.set(topic, entry);
    state.lastTopic = topic;
    state.lastEntry = entry;
    return entry;
  }

  function clockNow(state) {
    const manual = state.cell[CELL_MANUAL_NOW];
    const ms = manual >= 0 ? manual : performance.now();
    // The engine keeps whole microseconds.
    return ms > 0 ? Math.floor(ms * 1000) / 1000 : 0;
  }

  /**
   * Starts a batch: a clock read and a microtask that records it at the end of the task. Never
   * calls into the engine, so a route validated just before stays valid: the batch always
   * has room, because every run in it has at least one publish and a batch of `MAX_BATCH`
   * publishes is recorded before the next publish is looked at.
   */
  function startBatch(state) {
    state.at = clockNow(state);
    live.add(state);
    if (!state.scheduled) {
      state.scheduled = true;
      queueMicrotask(state.flushAtTaskEnd);
    }
  }

  /**
   * The running handler ended with `outcome` (0 returned, 1 threw `value`, 2 returned the
   * thenable `value`) and the engine must know: the message is handed over (if a method call
   * did not already) and the engine completes the handler's delivery. Nothing for a freed bus.
   */
  function handOver(state, outcome, value) {
    if (state.freed) return;
    if (!state.entered) enter(state);
    state.bus.__inlineOutcome(outcome, value);
  }

  /**
   * `bus.publish`. Kept small so that JIT compilers inline it into the caller's loop: the
   * common case (a cached route already in the current batch) is a few loads and stores, and
   * the result object can then be optimised away when the caller ignores it.
   */
  function publish(topic, payload, options) {
    const state = this[STATE];
    if (options === undefined && state !== undefined && !state.dispatching && state.batched !== MAX_BATCH) {
      // Only string topics are ever cached, so any other key misses. A loop publishing one
      // topic finds its route without a hash lookup.
      const entry = topic === state.lastTopic ? state.lastEntry : state.routes.get(topic);
      if (entry !== undefined && entry.generation === generation && entry.epoch === state.cell[CELL_STAMP]) {
        // The route of the run in progress is already in the batch.
        if (state.lastRun === entry) state.runCount++;
        else startRun(state, entry);
        state.batched++;
        const seq = entry.seq + ++entry.count;
        const id = state.nextId++;
        dispatch(state, entry, topic, payload, id, seq);
        return { id, seq, matched: entry.handlers.length };
      }
    }
    return publishOther(this, topic, payload, options);
  }

  /** Every publish the short path of `publish` does not take. */
  function publishOther(bus, topic, payload, options) {
    if (options !== undefined || typeof topic !== 'string') return publishSlow(bus, topic, payload, options);
    const state = stateOf(bus);
    if (state.dispatching) return publishSlow(bus, topic, payload, options);
    // Record a full batch before validating the route: recording may fire timers (a retry
    // falling due) that make the route ineligible.
    if (state.batched === MAX_BATCH) flush(state);
    let entry = state.routes.get(topic);
    // A stamp read from a detached view (wasm memory grew) is `undefined`: a refill.
    if (entry === undefined || entry.generation !== generation || entry.epoch !== state.cell[CELL_STAMP]) {
      entry = refill(state, topic);
      if (entry === null) return publishSlow(bus, topic, payload, options);
    }
    // The same steps as the short path in `publish`, which keeps them inline for speed.
    if (state.lastRun === entry) state.runCount++;
    else startRun(state, entry);
    state.batched++;
    const seq = entry.seq + ++entry.count;
    const id = state.nextId++;
    dispatch(state, entry, topic, payload, id, seq);
    return { id, seq, matched: entry.handlers.length };
  }

  /**
   * Calls the handlers of `entry` for message `id` (already counted in the batch). This is the
   * common case, kept small (no `finally`) so that JIT compilers inline it into `publish`:
   * every handler returns normally and none calls the bus. The first handler that throws,
   * returns a thenable or called the bus ends the fast dispatch in `endDispatch`: the message
   * is handed over to the engine (see `handOver`), which delivers it to the subscriptions whose
   * handlers have not run (a subscription removed meanwhile gets nothing). Nothing in the loop
   * but a handler can throw, and handler throws are caught.
   */
  function dispatch(state, entry, topic, payload, id, seq) {
    const handlers = entry.handlers;
    const at = state.at;
    state.payload = payload;
    state.dispatching = true;
    for (let i = 0; i < handlers.length; i++) {
      state.running = i;
      let returned;
      // Called as a plain function (`this` undefined, as on the slow path), never as a method
      // of the cached array.
      const handler = handlers[i];
      try {
        // A fresh meta per delivery, as the slow path gives (handlers may keep or change it).
        returned = handler(payload, {
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
        endDispatch(state, 1, thrown);
        return;
      }
      if (returned !== undefined && isThenable(returned)) {
        endDispatch(state, 2, returned);
        return;
      }
      // The handler called the bus: the engine owns the rest of this message.
      if (state.entered) {
        endDispatch(state, 0, undefined);
        return;
      }
    }
    // No handler called the bus (that would have entered), so it was not freed either.
    state.dispatching = false;
    state.payload = undefined;
  }

  /**
   * Ends a dispatch whose running handler ended with `outcome` (see `handOver`) or called the
   * bus (outcome 0): the engine completes that delivery and the rest of the message.
   */
  function endDispatch(state, outcome, value) {
    try {
      handOver(state, outcome, value);
    } finally {
      state.dispatching = false;
      state.payload = undefined;
      if (state.freed) {
        state.entered = false;
      } else if (state.entered) {
        state.entered = false;
        state.bus.__inlineExit();
        generation++;
      }
    }
  }

  function publishSlow(bus, topic, payload, options) {
    const state = bus[STATE];
    if (state !== undefined) sync(state);
    generation++;
    return slowPublish.call(bus, topic, payload, options);
  }

  Object.defineProperty(EventBus.prototype, 'publish', { value: publish, configurable: true, writable: true });

  /**
   * Every other method and getter records pending batches first; those that may change the
   * bus also invalidate cached routes. Readers (they only borrow the engine) leave them valid.
   */
  const READERS = {
    bus: ['closed', 'deadLetters', 'getSubscription', 'isIdle', 'metrics', 'now', 'snapshot', 'subscriptions', 'trace'],
    subscription: ['active', 'id', 'name', 'pattern', 'stats'],
  };
  function wrapAll(proto, skip, readers) {
    for (const name of Object.getOwnPropertyNames(proto)) {
      if (skip.includes(name) || name.startsWith('__inline')) continue;
      const before = readers.includes(name) ? syncAllForRead : syncAll;
      const descriptor = Object.getOwnPropertyDescriptor(proto, name);
      if (typeof descriptor.value === 'function') {
        const original = descriptor.value;
        descriptor.value = {
          [name](...args) {
            before();
            return original.apply(this, args);
          },
        }[name];
      } else if (typeof descriptor.get === 'function') {
        const original = descriptor.get;
        descriptor.get = function () {
          before();
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
  wrapAll(EventBus.prototype, ['constructor', 'publish', 'waitFor', 'stream'], READERS.bus);
  // A subscription's AbortSignal unsubscribes from inside the bindings, not through a wrapped
  // method. This listener is added before theirs, so on abort the pending batches are recorded
  // and a message being dispatched is handed to the engine first: a later subscription aborted
  // by a running handler is not called, and the trace keeps publish order.
  const wrappedSubscribe = EventBus.prototype.subscribe;
  Object.defineProperty(EventBus.prototype, 'subscribe', {
    configurable: true,
    writable: true,
    value: function subscribe(...args) {
      const signal = signalOf(args[2]);
      if (signal !== undefined) signal.addEventListener('abort', syncAll, { once: true });
      return wrappedSubscribe.apply(this, args);
    },
  });
  // A freed bus's cell is freed memory: forget its routes and read the cell as "slow path"
  // from then on, so a later publish reaches the bindings (and their error), never a handler.
  const freeBus = EventBus.prototype.free;
  Object.defineProperty(EventBus.prototype, 'free', {
    configurable: true,
    writable: true,
    value: function free() {
      const state = this[STATE];
      if (state !== undefined) {
        // Record the pending batch while the cell is still this bus's memory.
        sync(state);
        state.freed = true;
        state.routes.clear();
        state.lastTopic = undefined;
        state.lastEntry = undefined;
        state.cell = new Float64Array(CELL_SLOTS).fill(-1);
      }
      return freeBus.call(this);
    },
  });
  wrapAll(Subscription.prototype, ['constructor'], READERS.subscription);
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
    // Answers a number (1: it returned a thenable, kept for `takeThenable`), which crosses
    // back into wasm without a handle to allocate.
    deliver: (handler, payload, id, topic, seq, attempt, publishedAt, causationId, correlationId, headers) => {
      const returned = handler(payload, {
        id,
        topic,
        seq,
        attempt,
        publishedAt,
        causationId,
        correlationId,
        headers: headers === undefined ? NO_HEADERS : headers,
      });
      if (returned === undefined || !isThenable(returned)) return 0;
      heldThenable = returned;
      return 1;
    },
    takeThenable: () => {
      const returned = heldThenable;
      heldThenable = undefined;
      return returned;
    },
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

  // `using bus = new EventBus()`: leaving the scope closes the bus (later calls throw
  // E_CLOSED); `free()` also releases its memory.
  Object.defineProperty(EventBus.prototype, disposeSymbol, {
    value: function dispose() {
      this.close();
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
