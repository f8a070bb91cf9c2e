// The hand-written part of the package, shared by every entry (pack.rs pastes it into each).
// Everything else (the bus, validation, dispatch, timers, leaks, attach protocol) is Rust.

/** The one error class the package throws; `code` says what went wrong. */
class SwitchyardError extends Error {
  /**
   * @param {string} code one of E_INVALID_TOPIC, E_INVALID_PATTERN, E_INVALID_OPTION,
   *   E_INVALID_HANDLER, E_INVALID_RECEIVER, E_BACKPRESSURE, E_CASCADE, E_CLOSED, E_TIMEOUT
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
  let keys;
  try {
    if (typeof options !== 'object' || Array.isArray(options)) keys = undefined;
    else keys = Object.keys(options);
  } catch {
    // A revoked proxy (Array.isArray and Object.keys throw) or a proxy whose `ownKeys` throws.
    throw new SwitchyardError('E_INVALID_OPTION', `${method}(): options could not be read (a revoked proxy?)`);
  }
  if (keys === undefined) {
    throw new SwitchyardError('E_INVALID_OPTION', `${method}(): options must be a plain object`);
  }
  const out = {};
  for (const key of keys) {
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

/**
 * Whether the `signal` option is absent (`undefined`), already aborted (`true`) or live
 * (`false`). Anything that is not an AbortSignal, including an object whose getters throw, is
 * refused with E_INVALID_OPTION (nothing the object throws escapes).
 */
function signalAborted(signal) {
  if (signal === undefined) return undefined;
  try {
    if (typeof signal === 'object' && signal !== null && typeof signal.addEventListener === 'function') {
      const aborted = signal.aborted;
      if (typeof aborted === 'boolean') return aborted;
    }
  } catch {
    // Reported below.
  }
  throw new SwitchyardError('E_INVALID_OPTION', 'option `signal` must be an AbortSignal');
}

/** `signal.addEventListener('abort', listener, { once: true })`; false if the signal threw. */
function listenAbort(signal, listener) {
  try {
    signal.addEventListener('abort', listener, { once: true });
    return true;
  } catch {
    return false;
  }
}

/** `signal.removeEventListener('abort', listener)`, ignoring what a hostile signal throws. */
function unlistenAbort(signal, listener) {
  try {
    signal?.removeEventListener('abort', listener);
  } catch {
    // Nothing to undo.
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
  let reason;
  try {
    reason = signal.reason;
  } catch (thrown) {
    reason = thrown;
  }
  if (reason !== undefined) return reason;
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

/** The object an export handed back through the `hold` hook, until `takeHeld`. */
let heldResult;

function takeHeld() {
  const result = heldResult;
  heldResult = undefined;
  return result;
}

/**
 * The exports that answer an object and may run JavaScript return nothing and hand the object
 * back through the `hold` hook (`hand_back` in hooks.rs says why: Node 20's V8 aborts the
 * process when it deoptimises a caller inside an inlined wasm call returning an object). Their
 * methods are wrapped here to return it.
 */
const HELD_RESULTS = ['idle', 'metrics', 'subscriptions', 'deadLetters', 'leaks', '__subscriptionStats', '__inlineRoute'];

function returnHeldResults(proto) {
  for (const name of HELD_RESULTS) {
    const exported = proto[name];
    Object.defineProperty(proto, name, {
      configurable: true,
      writable: true,
      value: {
        [name](argument) {
          exported.call(this, argument);
          return takeHeld();
        },
      }[name],
    });
  }
}

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
function installFastPath(wasm, EventBus) {
  const memory = wasm.__inlineMemory();
  /** Each bus's fast-path state, under a symbol (one inline-cached property load). */
  const STATE = Symbol('switchyard.inline');
  /** Buses with a batch to record or a dispatch running (usually none or one). */
  const live = new Set();
  /**
   * Publishes that share one clock reading (their `publishedAt`): the clock is read again after
   * this many. With the trace ring on, this is also the most publishes recorded by one call
   * (the engine traces a batch at one instant).
   */
  const SEGMENT = 256;
  /**
   * Most publishes recorded by one call with the trace ring off, when the batch is summed per
   * route (see `writeRuns`). Longer batches are cheaper: a publish to a topic already in the
   * batch costs the engine nothing more. What waits for the batch: a timer falling due in a
   * long synchronous run of fast publishes fires when it is recorded.
   */
  const MAX_BATCH = 16 * SEGMENT;
  /**
   * Most `(handle, count)` pairs in one batch: runs of publishes on one topic (trace ring on) or
   * routes (off). A batch whose pairs are all used is recorded before the next publish.
   */
  const MAX_BATCH_TOPICS = 1024;
  /** Inline cell layout (see `InlineCell` in inline.rs). */
  const CELL_STAMP = 0;
  const CELL_MANUAL_NOW = 1;
  const CELL_ORDERED = 2;
  const CELL_BATCH = 4;
  const CELL_SLOTS = CELL_BATCH + 2 * MAX_BATCH_TOPICS;
  /** Most topics whose routes are cached per bus (the cache is cleared past this). */
  const MAX_ROUTES = 1024;
  /**
   * An empty route cache: topic → route entry. A prototype-less object rather than a `Map`:
   * V8 creates it in dictionary mode, and using a string as a property key internalizes it
   * (the caller's string then forwards to the internalized copy), so a lookup hashes nothing
   * and compares keys by identity. A `Map` of many string keys hashes and compares characters
   * on every `get` (with 1 000 topics it was the largest JavaScript cost of a publish that
   * changes topic). Only strings are ever used as keys (see `publish`).
   */
  const noRoutes = () => Object.create(null);
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
        routes: noRoutes(),
        routeCount: 0,
        // The route filled last (what a loop over one topic hits).
        lastTopic: undefined,
        lastEntry: undefined,
        nextId: 0,
        // The batch (see `writeRuns`). The route of the current run of publishes on one topic
        // and its length (no current route: the batch is empty).
        lastRun: undefined,
        runCount: 0,
        // Whether the batch keeps publish order (the trace ring is on): then the runs before
        // the current one are in the cell as `(handle, count)` pairs, `pairs` of them.
        // Otherwise `touched[..pairs]` are the routes published to (each counting its
        // publishes before the current run in `pending`), the current one included.
        ordered: false,
        pairs: 0,
        touched: [],
        // Publishes the short path of `publish` may still add before `publishOther` must look
        // (the segment ends, or the batch is full), publishes up to the end of the segment,
        // and the bus-clock instant of the segment (`publishedAt`; the batch is recorded at the
        // last one).
        room: 0,
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
   * Records every batched publish with one engine call (see `writeRuns` for what the cell holds:
   * the engine's ids, sequence numbers and trace follow what the handlers saw).
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
   * Completes the batch in the cell as `(handle, count)` pairs, empties it and returns how many
   * pairs there are. The caller records them at once: the engine may run handlers that publish.
   *
   * With the trace ring on, a pair is a run of publishes on one topic, in publish order, so
   * the engine gives each message the id its handlers saw and traces it under that id. With
   * it off, a pair sums a route's publishes over the whole batch (the engine's counters, next
   * id and sequence numbers come out the same: see `Bus::inline_runs_ordered`), so a batch
   * costs the engine one record per topic, however often each was published. Either way the
   * message being dispatched is the last publish of the last pair, as `__inlineEnter` expects.
   */
  function writeRuns(state) {
    let pairs;
    if (state.ordered) {
      pairs = endRun(state);
    } else {
      const cell = cellOf(state);
      const current = state.lastRun;
      const last = current.pending + state.runCount;
      const touched = state.touched;
      let at = CELL_BATCH;
      for (let i = 0; i < state.pairs; i++) {
        const entry = touched[i];
        if (entry !== current) {
          cell[at] = entry.handle;
          cell[at + 1] = entry.pending;
          at += 2;
        }
        entry.pending = 0;
      }
      cell[at] = current.handle;
      cell[at + 1] = last;
      pairs = state.pairs;
    }
    state.pairs = 0;
    state.lastRun = undefined;
    state.runCount = 0;
    state.room = 0;
    state.batched = 0;
    return pairs;
  }

  /**
   * Writes the current run into the cell as the batch's next `(handle, count)` pair (trace ring
   * on) and returns the pairs written. Through `cellOf`: a method call between two publishes
   * (a new bus, say) may have grown wasm memory, which detaches the old view (the pairs already
   * written are in the memory, not the view).
   */
  function endRun(state) {
    const cell = cellOf(state);
    const at = CELL_BATCH + 2 * state.pairs;
    cell[at] = state.lastRun.handle;
    cell[at + 1] = state.runCount;
    return ++state.pairs;
  }

  /**
   * Starts a run of publishes on `entry`'s topic: the previous run is complete, or this is the
   * first publish of a batch (see `startBatch`). When this takes the batch's last pair, the
   * publish being counted is its last one (`room` drops to 0 once the caller counts it).
   */
  function startRun(state, entry) {
    const previous = state.lastRun;
    if (previous === undefined) {
      startBatch(state, entry);
    } else if (state.ordered) {
      // The pairs written and this run's, which is written when it ends.
      if (endRun(state) + 1 === MAX_BATCH_TOPICS) state.room = 1;
    } else {
      previous.pending += state.runCount;
      // A route not yet in the batch (none of its runs ended, and it is not the current one).
      if (entry.pending === 0) {
        state.touched[state.pairs] = entry;
        if (++state.pairs === MAX_BATCH_TOPICS) state.room = 1;
      }
    }
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
      if (state.routes[topic] !== undefined) {
        delete state.routes[topic];
        state.routeCount--;
      }
      state.lastTopic = undefined;
      state.lastEntry = undefined;
      return null;
    }
    if (state.routes[topic] === undefined) {
      if (state.routeCount >= MAX_ROUTES) {
        state.routes = noRoutes();
        state.routeCount = 0;
      }
      state.routeCount++;
    }
    const entry = {
      handle: answer[0],
      // The last sequence number handed out on the topic (recorded, or in the batch).
      seq: answer[2],
      // Its publishes in the batch before the current run (see `touched` in `stateOf`).
      pending: 0,
      handlers: answer[3],
      epoch: cellOf(state)[CELL_STAMP],
      generation,
    };
    state.nextId = answer[1];
    state.routes[topic] = entry;
    state.lastTopic = topic;
    state.lastEntry = entry;
    return entry;
  }

  /**
   * The segment of `SEGMENT` publishes ended: with the trace ring on, or when the batch is full,
   * it is recorded (the caller then validates its route, as recording may fire timers);
   * otherwise the batch goes on under a fresh clock reading.
   */
  function endSegment(state) {
    if (state.ordered || state.batched >= MAX_BATCH || state.pairs >= MAX_BATCH_TOPICS) {
      flush(state);
    } else {
      state.at = clockNow(state);
      state.room = Math.min(SEGMENT, MAX_BATCH - state.batched);
      state.batched += state.room;
    }
  }

  function clockNow(state) {
    const manual = state.cell[CELL_MANUAL_NOW];
    const ms = manual >= 0 ? manual : performance.now();
    // The engine keeps whole microseconds.
    return ms > 0 ? Math.floor(ms * 1000) / 1000 : 0;
  }

  /**
   * Starts a batch with a publish on `entry`: a clock read and a microtask that records it at
   * the end of the task. Never calls into the engine, so a route validated just before stays
   * valid: the batch always has room, because a full batch (`MAX_BATCH` publishes, or every
   * pair used) is recorded before the next publish is looked at.
   */
  function startBatch(state, entry) {
    state.ordered = cellOf(state)[CELL_ORDERED] !== 0;
    state.at = clockNow(state);
    state.room = SEGMENT;
    state.batched = SEGMENT;
    if (!state.ordered) {
      state.touched[0] = entry;
      state.pairs = 1;
    }
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
    // `?.`: a detached call (`this` undefined) reaches `publishOther` and its receiver check.
    const state = this?.[STATE];
    if (options === undefined && state !== undefined && !state.dispatching && state.room !== 0) {
      // Only string topics are ever cached (and only strings may be used as keys: another
      // value would be converted, which can run user code). A loop publishing one topic finds
      // its route without a lookup.
      const entry =
        topic === state.lastTopic
          ? state.lastEntry
          : typeof topic === 'string'
            ? state.routes[topic]
            : undefined;
      if (entry !== undefined && entry.generation === generation && entry.epoch === state.cell[CELL_STAMP]) {
        // The route of the run in progress is already in the batch.
        if (state.lastRun === entry) state.runCount++;
        else startRun(state, entry);
        state.room--;
        const seq = ++entry.seq;
        const id = state.nextId++;
        dispatch(state, entry, topic, payload, id, seq);
        return { id, seq, matched: entry.handlers.length };
      }
    }
    return publishOther(this, topic, payload, options);
  }

  /** Every publish the short path of `publish` does not take. */
  function publishOther(bus, topic, payload, options) {
    if (freedBuses.has(bus)) throw freedError('publish');
    checkBus(bus, 'publish');
    if (options !== undefined || typeof topic !== 'string') return publishSlow(bus, topic, payload, options);
    const state = stateOf(bus);
    if (state.dispatching) return publishSlow(bus, topic, payload, options);
    // Record a full batch before validating the route: recording may fire timers (a retry
    // falling due) that make the route ineligible.
    if (state.room === 0 && state.lastRun !== undefined) endSegment(state);
    let entry = state.routes[topic];
    // A stamp read from a detached view (wasm memory grew) is `undefined`: a refill.
    if (entry === undefined || entry.generation !== generation || entry.epoch !== state.cell[CELL_STAMP]) {
      entry = refill(state, topic);
      if (entry === null) return publishSlow(bus, topic, payload, options);
    }
    // The same steps as the short path in `publish`, which keeps them inline for speed.
    if (state.lastRun === entry) state.runCount++;
    else startRun(state, entry);
    state.room--;
    const seq = ++entry.seq;
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
            if (freedBuses.has(this)) throw freedError(name);
            checkBus(this, name);
            before();
            return original.apply(this, args);
          },
        }[name];
      } else if (typeof descriptor.get === 'function') {
        const original = descriptor.get;
        // A freed bus is closed (`closed`); its other getters throw as its methods do.
        const ifFreed = name === 'closed' ? () => true : () => { throw freedError(name); };
        descriptor.get = function () {
          if (freedBuses.has(this)) return ifFreed();
          checkBus(this, name);
          before();
          return original.call(this);
        };
        if (typeof descriptor.set === 'function') {
          const originalSet = descriptor.set;
          descriptor.set = function (value) {
            checkBus(this, name);
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
  // `subscribe` and `getSubscription` are wrapped by hand below (subscribing is hot in apps
  // that subscribe per component); the id-based bindings behind `Subscription` are called
  // only by its methods, which sync themselves.
  const proto = EventBus.prototype;
  const bindingsSubscribe = proto.__subscribe;
  const takeName = proto.__takeSubscriptionName;
  const bindingsGetSubscription = proto.getSubscription;
  const { Subscription, newSubscription } = defineSubscription(proto, syncAll, syncAllForRead);
  // `free` is wrapped by hand below (`close`, which it calls first, records the batches).
  const freeBus = proto.free;
  wrapAll(proto, ['constructor', '__destroy_into_raw', 'free', 'publish', 'waitFor', 'stream', 'subscribe', 'getSubscription', ...SUBSCRIPTION_BINDINGS], READERS.bus);
  // A subscription's AbortSignal unsubscribes from inside the bindings, not through a wrapped
  // method. This listener is added before theirs, so on abort the pending batches are recorded
  // and a message being dispatched is handed to the engine first: a later subscription aborted
  // by a running handler is not called, and the trace keeps publish order. Fixed parameters
  // (no rest array) and one wrapper, not two, keep the call cheap.
  Object.defineProperty(EventBus.prototype, 'subscribe', {
    configurable: true,
    writable: true,
    value: function subscribe(pattern, handler, options) {
      if (freedBuses.has(this)) throw freedError('subscribe');
      checkBus(this, 'subscribe');
      if (options !== undefined) {
        const signal = signalOf(options);
        // A signal whose addEventListener throws is refused by the bindings, which call it too.
        if (signal !== undefined) listenAbort(signal, syncAll);
      }
      syncAll();
      // The bindings validated `pattern` (a string) and answer the id; only options can
      // name a subscription.
      const id = bindingsSubscribe.call(this, pattern, handler, options);
      // A handler run by the subscribe (replay) may have freed the bus: the name is then lost
      // with the subscription, which is inactive.
      const name = options === undefined || freedBuses.has(this) ? null : takeName.call(this);
      return newSubscription(this, id, pattern, name);
    },
  });
  Object.defineProperty(EventBus.prototype, 'getSubscription', {
    configurable: true,
    writable: true,
    value: function getSubscription(id) {
      if (freedBuses.has(this)) throw freedError('getSubscription');
      checkBus(this, 'getSubscription');
      syncAllForRead();
      const found = bindingsGetSubscription.call(this, id);
      if (found === undefined) return undefined;
      const subscription = newSubscription(this, found.id, found.pattern, found.name);
      found.free();
      return subscription;
    },
  });
  // Closing ends what waits on the bus's subscriptions (`waitFor`, `stream`).
  const closeBus = proto.close;
  Object.defineProperty(EventBus.prototype, 'close', {
    configurable: true,
    writable: true,
    value: function close() {
      if (freedBuses.has(this)) return;
      checkBus(this, 'close');
      closeBus.call(this);
      notifyClosed(this, 'the bus was closed');
    },
  });
  // A freed bus's cell is freed memory: forget its routes and read the cell as "slow path"
  // from then on, so a later publish reaches the bindings (and their error), never a handler.
  Object.defineProperty(EventBus.prototype, 'free', {
    configurable: true,
    writable: true,
    /**
     * Closes the bus, then releases it: at once, or, when called from inside one of its own
     * calls (a handler, a filter, an option getter...), as soon as that call returns. Every
     * later call throws E_CLOSED; freeing again does nothing.
     */
    value: function free() {
      if (freedBuses.has(this)) return;
      checkBus(this, 'free');
      // Closed first, so that a handler freeing its bus stops the dispatch on either path.
      this.close();
      const state = this[STATE];
      if (state !== undefined) {
        // Record the pending batch while the cell is still this bus's memory.
        sync(state);
        state.freed = true;
        state.routes = noRoutes();
        state.routeCount = 0;
        state.lastTopic = undefined;
        state.lastEntry = undefined;
        state.cell = new Float64Array(CELL_SLOTS).fill(-1);
      }
      freedBuses.add(this);
      try {
        freeBus.call(this);
      } catch (error) {
        // wasm-bindgen gave up JavaScript's reference to a bus still borrowed by a call on the
        // stack (this `free()` runs inside it) and reports it; the bus is dropped when that
        // call returns. That is the deferred free asked for.
        if (error?.message !== BORROWED_FREE) throw error;
      }
    },
  });
  const restore = EventBus.restore;
  if (typeof restore === 'function') {
    EventBus.restore = function (...args) {
      syncAll();
      return restore.apply(this, args);
    };
  }
  return Subscription;
}

/** The bus's id-based bindings behind `Subscription` (see `defineSubscription`). */
const SUBSCRIPTION_BINDINGS = [
  '__subscribe',
  '__takeSubscriptionName',
  '__unsubscribe',
  '__subscriptionActive',
  '__pause',
  '__resume',
  '__flush',
  '__setDelivery',
  '__subscriptionStats',
];

/** Buses whose `free()` was called: their memory is gone, their subscriptions are inactive. */
const freedBuses = new WeakSet();

/** The `EventBus` class of this package (set by `install`), for `isBus`. */
let BusClass;

/**
 * Whether `value` is an `EventBus` this package made, live or freed. No proxy trap or getter
 * it runs can throw past it: a revoked or throwing proxy is simply not a bus.
 */
function isBus(value) {
  if (freedBuses.has(value)) return true;
  try {
    return value instanceof BusClass && typeof value.__wbg_ptr === 'number' && value.__wbg_ptr !== 0;
  } catch {
    return false;
  }
}

/**
 * Throws E_INVALID_RECEIVER unless `value` is a bus: `EventBus.prototype.metrics.call({})`
 * and detached methods (`const { publish } = bus; publish('a')`) get an error that says so.
 */
function checkBus(value, method) {
  if (!isBus(value)) {
    const kind = typeof value;
    const what =
      value == null ? String(value) : kind === 'object' || kind === 'function' ? 'an object that is not an EventBus' : `a ${kind}`;
    throw new SwitchyardError('E_INVALID_RECEIVER', `${method}() was called on ${what}; call it on a bus (\`bus.${method}(...)\`)`);
  }
}

/** What wasm-bindgen throws when `free()` runs while the bus is borrowed by a call under way. */
const BORROWED_FREE = 'attempted to take ownership of Rust value while it was borrowed';

/** The error of a call on a freed bus. */
function freedError(method) {
  return new SwitchyardError('E_CLOSED', `${method}: the bus was freed`);
}

/**
 * Per bus: subscription id → what to call (with the reason, as text) when that subscription is
 * removed or the bus closed. `waitFor` and `stream` watch their subscriptions this way, so a
 * promise waiting on one settles when it can no longer receive anything.
 */
const removalWatchers = new WeakMap();

function watchRemoval(bus, subscription, onRemoved) {
  let watchers = removalWatchers.get(bus);
  if (watchers === undefined) {
    watchers = new Map();
    removalWatchers.set(bus, watchers);
  }
  watchers.set(subscription.id, onRemoved);
}

function unwatchRemoval(bus, subscription) {
  if (subscription !== undefined) removalWatchers.get(bus)?.delete(subscription.id);
}

/** Subscription `id` of `bus` was removed (`unsubscribe()` answered true). */
function notifyRemoved(bus, id) {
  const watchers = removalWatchers.get(bus);
  const onRemoved = watchers?.get(id);
  if (onRemoved === undefined) return;
  watchers.delete(id);
  onRemoved('its subscription was removed');
}

/** `bus` was closed: every watched subscription is gone. */
function notifyClosed(bus, why) {
  const watchers = removalWatchers.get(bus);
  if (watchers === undefined) return;
  removalWatchers.delete(bus);
  for (const onRemoved of watchers.values()) onRemoved(why);
}

/**
 * The `Subscription` class: plain JavaScript over the bus's id-based bindings. Creating one
 * allocates no wasm memory and registers no finalizer (a wasm-bindgen object per subscription
 * did both, and the registry's bookkeeping was a quarter of a subscribe + unsubscribe). It
 * holds its bus, so the engine lives as long as a subscription is kept. Each method records
 * pending fast-path batches first (`syncAll`, or `syncAllForRead` for those that only read),
 * as the bus's methods do; once the bus was freed it answers as a removed subscription.
 */
function defineSubscription(proto, syncAll, syncAllForRead) {
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
    #bus;
    #id;
    #pattern;
    #name;

    /**
     * Throws E_INVALID_RECEIVER unless `value` is a Subscription (a detached method or
     * `Subscription.prototype.x.call(other)` would otherwise fail on a private field).
     */
    static #check(value, member) {
      if (typeof value !== 'object' || value === null || !(#bus in value)) {
        throw new SwitchyardError('E_INVALID_RECEIVER', `${member} was called on something that is not a Subscription; call it on one (\`sub.${member}\`)`);
      }
    }

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
     */
    #onBus(sync, byId, ifFreed, argument) {
      if (freedBuses.has(this.#bus)) return ifFreed;
      sync();
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

    /** Swaps the delivery strategy, keeping queued messages. False if removed. */
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

  const newSubscription = (bus, id, pattern, name) => new Subscription(CONSTRUCT, bus, id, pattern, name ?? null);
  return { Subscription, newSubscription };
}

function install(wasm) {
  BusClass = wasm.EventBus;
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
    hold: (value) => {
      heldResult = value;
    },
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
  const { EventBus } = wasm;
  returnHeldResults(EventBus.prototype);
  const Subscription = installFastPath(wasm, EventBus);

  Object.defineProperty(Subscription.prototype, disposeSymbol, {
    value: function dispose() {
      this.unsubscribe();
    },
    configurable: true,
    writable: true,
  });

  // `using bus = new EventBus()`: leaving the scope closes the bus (later calls throw
  // E_CLOSED); `free()` also releases its memory (disposing a freed bus does nothing).
  Object.defineProperty(EventBus.prototype, disposeSymbol, {
    value: function dispose() {
      if (freedBuses.has(this)) return;
      checkBus(this, '[Symbol.dispose]');
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
     * rejects with E_TIMEOUT after `timeoutMs` (bus clock), with the signal's reason, or with
     * E_CLOSED when the bus is closed (or freed) or its subscription removed first.
     */
    value: function waitFor(pattern, options) {
      return new Promise((resolve, reject) => {
        checkBus(this, 'waitFor');
        if (typeof pattern !== 'string') {
          throw new SwitchyardError('E_INVALID_PATTERN', 'waitFor(): `pattern` must be a string');
        }
        const { signal, timeoutMs, filter } = readOptions('waitFor', options, ['signal', 'timeoutMs', 'filter']);
        // Checked before subscribing, so that a refusal leaves no subscription behind.
        if (timeoutMs !== undefined && !(typeof timeoutMs === 'number' && timeoutMs >= 0 && timeoutMs < Infinity)) {
          throw new SwitchyardError(
            'E_INVALID_OPTION',
            'option `timeoutMs` must be a finite number of milliseconds, not negative',
          );
        }
        if (signalAborted(signal)) {
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
        const subscribeOptions = { once: true, name };
        if (filter !== undefined) subscribeOptions.filter = filter;
        subscription = this.subscribe(pattern, (payload) => finish(() => resolve(payload)), subscribeOptions);
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

  Object.defineProperty(EventBus.prototype, 'stream', {
    configurable: true,
    writable: true,
    /**
     * A pull-based async iterator of `{ payload, meta }`. At most one message waits in
     * JavaScript; the rest wait in the subscription's bounded queue under its overflow policy.
     * It ends (`done: true`) on `return()`, on abort, and when the bus is closed (or freed) or
     * its subscription removed, also for a `next()` already waiting.
     */
    value: function stream(pattern, options) {
      checkBus(this, 'stream');
      if (typeof pattern !== 'string') {
        throw new SwitchyardError('E_INVALID_PATTERN', 'stream(): `pattern` must be a string');
      }
      const known = ['capacity', 'overflow', 'filter', 'priority', 'name', 'group', 'replay', 'signal'];
      const { signal, ...rest } = readOptions('stream', options, known);
      const aborted = signalAborted(signal);
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
