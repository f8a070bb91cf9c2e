// @ts-check
/**
 * The inline fast path in JavaScript: `publish(topic, payload)` with no options, on a route the
 * engine declared inline-eligible, calls the handlers right here and counts the publish in a
 * batch that is recorded with one engine call (`__inlineRecord`) when the batch ends: any other
 * bus or subscription method, a full batch, or a microtask at the end of the current task. A
 * batch may span several topics (each cached route counts its own publishes), so publishes that
 * alternate between topics stay in JavaScript too. Routes are cached per topic and checked, with
 * no call, against the inline cell the engine writes in wasm memory (its inline epoch, or -1
 * while the fast path must not run) and the bus's generation, which every method able to change
 * that bus bumps (a change on one bus leaves the routes cached for every other bus valid).
 *
 * While a handler runs, the engine does not know about its message yet. If the handler calls any
 * bus or subscription method (publish, subscribe, metrics, snapshot...), throws or returns a
 * thenable, the glue first hands the message over (`__inlineEnter`): recorded as delivered to the
 * subscriptions whose handlers returned, in flight to the running one, queued for the rest,
 * exactly the slow path's state at that point, so whatever the method reads or writes sees the
 * truth. The glue then reports how the running handler ended (`__inlineOutcome`) and leaves the
 * rest of the message to the engine's dispatch loop (`__inlineExit`).
 */

import { compileAfter, setCompileAfter } from './compiling.js';
import { compileDispatcher } from './dispatchers.js';
import { CELL } from './generated.js';
import { NO_HEADERS, isThenable } from './hooks.js';
import { readsMeta } from './metareaders.js';
import { checkBus, freedBuses, freedError } from './receiver.js';

/**
 * A cached route (see `refill`). A route with owned subscriptions has `weak` (the engine's
 * functions and `WeakRef`s); its `handlers` and `reads` exist only while it is revived for the
 * current task, and its `generation` is -1 otherwise (see `revive`).
 * @typedef {{ handle: number, seq: number, pending: number, handlers: Function[], reads: boolean[],
 *   weak: Array<Function | WeakRef<Function>> | null, recordOnly: boolean | undefined,
 *   epoch: number, valid: number, generation: number, dispatches: number,
 *   compiled: import('./dispatchers.js').Dispatcher | null }} Route
 */

/**
 * One bus's fast-path state (see `stateOf`).
 * @typedef {{ bus: any, address: number, cell: Float64Array, routes: Record<string, Route>,
 *   routeCount: number, lastTopic: string | undefined, lastEntry: Route | undefined,
 *   nextId: number, lastRun: Route | undefined, runCount: number, ordered: boolean,
 *   pairs: number, runs: number[], touched: Route[], room: number, batched: number, at: number,
 *   scheduled: boolean, dispatching: boolean, payload: unknown, running: number,
 *   entered: boolean, freed: boolean, generation: number, revived: Route[],
 *   flushAtTaskEnd: () => void }} State
 */

/**
 * Installs `publish` on the bindings' `EventBus` prototype and answers what the other methods
 * call before they reach the engine (see facade.js).
 * @param {import('./bindings.js').Bindings} wasm
 * @param {import('./bindings.js').RawBusClass} EventBus
 */
export function installFastPath(wasm, EventBus) {
  const memory = wasm.__inlineMemory();
  /** Each bus's fast-path state, under a symbol (one inline-cached property load). */
  const STATE = Symbol('switchyard.inline');
  /** @type {Set<State>} Buses with a batch to record or a dispatch running (usually none or one). */
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
  const MAX_BATCH_TOPICS = CELL.MAX_BATCH_TOPICS;
  /** Inline cell layout (`CELL` in generated.js, from `InlineCell` in inline.rs). */
  const CELL_STAMP = CELL.STAMP;
  const CELL_MANUAL_NOW = CELL.MANUAL_NOW;
  const CELL_ORDERED = CELL.ORDERED;
  const CELL_SLOTS = CELL.SLOTS;
  /**
   * The batch area (one per instance, `BatchArea` in inline.rs): a batch's `(handle, count)`
   * pairs are written there right before the call that records them (see `writeRuns`).
   */
  const batchAddress = wasm.__inlineBatch();
  let batchView = new Float64Array(memory.buffer, batchAddress, 2 * MAX_BATCH_TOPICS);
  /** The batch area, re-viewed when wasm memory grew (which detaches the old view). */
  function batchArea() {
    if (batchView.length === 0) batchView = new Float64Array(memory.buffer, batchAddress, 2 * MAX_BATCH_TOPICS);
    return batchView;
  }
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
  const noRoutes = () => /** @type {Record<string, Route>} */ (Object.create(null));

  const slowPublish = EventBus.prototype.publish;

  /**
   * @param {any} bus
   * @returns {State}
   */
  function stateOf(bus) {
    let state = bus[STATE];
    if (state === undefined) {
      const address = bus.__inlineCell();
      state = /** @type {State} */ (/** @type {unknown} */ ({
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
        // the current one are in `runs` as `(handle, count)` pairs, `pairs` of them.
        // Otherwise `touched[..pairs]` are the routes published to (each counting its
        // publishes before the current run in `pending`), the current one included.
        ordered: false,
        pairs: 0,
        runs: [],
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
        // Bumped by every method that may change this bus: its cached routes must be re-read.
        generation: 0,
        // Cached routes with owned subscriptions revived in this task (see `revive`).
        revived: [],
      }));
      state.flushAtTaskEnd = () => flushAtTaskEnd(state);
      Object.defineProperty(bus, STATE, { value: state });
    }
    cellOf(state);
    return state;
  }

  /** The inline cell, re-viewed when wasm memory grew (which detaches the old view). */
  /**
   * @param {State} state
   */
  function cellOf(state) {
    if (state.cell.length === 0) state.cell = new Float64Array(memory.buffer, state.address, CELL_SLOTS);
    return state.cell;
  }

  /**
   * Records every batched publish with one engine call (see `writeRuns` for what the cell holds:
   * the engine's ids, sequence numbers and trace follow what the handlers saw).
   * @param {State} state
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
   * @param {State} state
   */
  function enter(state) {
    state.entered = true;
    const pairs = writeRuns(state);
    state.bus.__inlineEnter(pairs, state.at, state.running, state.payload);
  }

  /**
   * Completes the batch in the batch area as `(handle, count)` pairs, empties it and returns
   * how many pairs there are. The caller records them at once: the engine may run handlers that publish.
   *
   * With the trace ring on, a pair is a run of publishes on one topic, in publish order, so
   * the engine gives each message the id its handlers saw and traces it under that id. With
   * it off, a pair sums a route's publishes over the whole batch (the engine's counters, next
   * id and sequence numbers come out the same: see `Bus::inline_runs_ordered`), so a batch
   * costs the engine one record per topic, however often each was published. Either way the
   * message being dispatched is the last publish of the last pair, as `__inlineEnter` expects.
   * @param {State} state
   * @returns {number}
   */
  function writeRuns(state) {
    let pairs;
    const area = batchArea();
    if (state.ordered) {
      pairs = endRun(state);
      const runs = state.runs;
      for (let i = 0; i < 2 * pairs; i++) area[i] = runs[i];
      runs.length = 0;
    } else {
      const current = /** @type {Route} */ (state.lastRun);
      const last = current.pending + state.runCount;
      const touched = state.touched;
      let at = 0;
      for (let i = 0; i < state.pairs; i++) {
        const entry = touched[i];
        if (entry !== current) {
          area[at] = entry.handle;
          area[at + 1] = entry.pending;
          at += 2;
        }
        entry.pending = 0;
      }
      area[at] = current.handle;
      area[at + 1] = last;
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
   * Adds the current run to `runs` as the batch's next `(handle, count)` pair (trace ring on)
   * and returns the pairs there.
   * @param {State} state
   */
  function endRun(state) {
    const at = 2 * state.pairs;
    state.runs[at] = /** @type {Route} */ (state.lastRun).handle;
    state.runs[at + 1] = state.runCount;
    return ++state.pairs;
  }

  /**
   * Starts a run of publishes on `entry`'s topic: the previous run is complete, or this is the
   * first publish of a batch (see `startBatch`). When this takes the batch's last pair, the
   * publish being counted is its last one (`room` drops to 0 once the caller counts it).
   * @param {State} state
   * @param {Route} entry
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

  /**
   * Functions called before any bus or subscription method or getter runs: `switchyard/compat`
   * adds the one that records the emits it counted but has not told its buses about yet, so
   * that every method sees them. `EventBus.__inlineBeforeSync` (internal: `__` names are not
   * API, and wrapAll leaves `__inline` ones alone).
   * @type {Set<() => void>}
   */
  const beforeSync = new Set();
  Object.defineProperty(EventBus, '__inlineBeforeSync', { value: beforeSync });
  Object.defineProperty(EventBus, '__inlineCompileAfter', { value: setCompileAfter });
  function runBeforeSync() {
    for (const hook of beforeSync) hook();
  }

  /** Before any other engine call: record the batch; a message being dispatched is handed over. */
  /**
   * @param {State} state
   */
  function sync(state) {
    if (state.dispatching) {
      if (!state.entered) enter(state);
    } else {
      flush(state);
      live.delete(state);
    }
  }

  /**
   * Before a method that may change `bus` (undefined for a static method): record every batch,
   * invalidate the routes cached for `bus`.
   * @param {any} bus
   */
  function syncAll(bus) {
    if (beforeSync.size !== 0) runBeforeSync();
    const own = bus?.[STATE];
    if (own !== undefined) own.generation++;
    if (live.size === 0) return;
    for (const state of live) sync(state);
  }

  /** Before a method that only reads: record every batch (cached routes stay valid). */
  /**
   * @param {any} _bus
   */
  function syncAllForRead(_bus) {
    if (beforeSync.size !== 0) runBeforeSync();
    if (live.size === 0) return;
    for (const state of live) sync(state);
  }

  /**
   * @param {State} state
   */
  function flushAtTaskEnd(state) {
    state.scheduled = false;
    if (!state.dispatching) {
      flush(state);
      live.delete(state);
      if (state.revived.length !== 0) releaseRevived(state);
    }
  }

  /** A cached route for `topic` that is valid now, or `null` for the slow path. */
  /**
   * @param {State} state
   * @param {string} topic
   * @returns {Route | null}
   */
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
    /** @type {Array<Function | WeakRef<Function>>} */
    const functions = answer[3];
    const owned = functions.some((f) => typeof f !== 'function');
    /** @type {Route} */
    const entry = {
      handle: answer[0],
      // The last sequence number handed out on the topic (recorded, or in the batch).
      seq: answer[2],
      // Its publishes in the batch before the current run (see `touched` in `stateOf`).
      pending: 0,
      handlers: owned ? [] : /** @type {Function[]} */ (functions),
      // Per handler, whether it can read its meta (see metareaders.js).
      reads: owned ? [] : functions.map((f) => readsMeta(/** @type {Function} */ (f))),
      weak: owned ? functions : null,
      // Whether every handler is `switchyard/compat`'s registration handler (see
      // `recordPublishes`), computed on first use.
      recordOnly: undefined,
      epoch: cellOf(state)[CELL_STAMP],
      // The generation the route is valid in; `generation` is -1 while a route with owned
      // subscriptions is not revived, so the short path of `publish` never takes it.
      valid: state.generation,
      generation: owned ? -1 : state.generation,
      // Publishes dispatched by the shared loop, and the route's own dispatcher once it is hot
      // (see dispatchers.js; never for owned subscriptions, whose handlers change per task).
      dispatches: 0,
      compiled: null,
    };
    // A route refilled with the same handlers (after a throw, a publish with options, or a
    // change elsewhere on the bus) keeps its count of publishes and its compiled dispatcher.
    const previous = state.routes[topic];
    if (previous !== undefined && previous.weak === null && !owned && sameFunctions(previous.handlers, entry.handlers)) {
      entry.compiled = previous.compiled;
      entry.dispatches = previous.dispatches;
    }
    state.nextId = answer[1];
    state.routes[topic] = entry;
    state.lastTopic = topic;
    state.lastEntry = entry;
    if (owned && !revive(state, entry)) return null;
    return entry;
  }

  /**
   * Makes a cached route with owned subscriptions usable until the end of the task: its
   * handlers are dereferenced from their `WeakRef`s once and held by the entry until
   * `flushAtTaskEnd` lets go of them again, so the cache keeps an owner alive no longer than
   * `WeakRef.deref` itself does (to the end of the job). False when a handler was collected
   * with its owner: the publish then takes the slow path, which ends the subscription.
   * @param {State} state
   * @param {Route} entry
   * @returns {boolean}
   */
  function revive(state, entry) {
    const functions = /** @type {Array<Function | WeakRef<Function>>} */ (entry.weak);
    /** @type {Function[]} */
    const handlers = new Array(functions.length);
    for (let i = 0; i < functions.length; i++) {
      const f = functions[i];
      const handler = typeof f === 'function' ? f : f.deref();
      if (handler === undefined) return false;
      handlers[i] = handler;
    }
    entry.handlers = handlers;
    entry.reads = handlers.map(readsMeta);
    entry.generation = entry.valid;
    state.revived.push(entry);
    if (!state.scheduled) {
      state.scheduled = true;
      queueMicrotask(state.flushAtTaskEnd);
    }
    return true;
  }

  /**
   * The end of the task: revived routes let go of their owned handlers again.
   * @param {State} state
   */
  function releaseRevived(state) {
    for (const entry of state.revived) {
      entry.handlers = [];
      entry.reads = [];
      entry.generation = -1;
    }
    state.revived.length = 0;
  }

  /**
   * The segment of `SEGMENT` publishes ended: with the trace ring on, or when the batch is full,
   * it is recorded (the caller then validates its route, as recording may fire timers);
   * otherwise the batch goes on under a fresh clock reading.
   * @param {State} state
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

  /**
   * @param {State} state
   */
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
   * @param {State} state
   * @param {Route} entry
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
   * @param {State} state
   * @param {number} outcome
   * @param {unknown} value
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
   * @this {any}
   * @param {unknown} topic
   * @param {unknown} [payload]
   * @param {unknown} [options]
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
      if (entry !== undefined && entry.generation === state.generation && entry.epoch === state.cell[CELL_STAMP]) {
        // The route of the run in progress is already in the batch.
        if (state.lastRun === entry) state.runCount++;
        else startRun(state, entry);
        state.room--;
        const seq = ++entry.seq;
        const id = state.nextId++;
        dispatch(state, entry, /** @type {string} */ (topic), payload, id, seq);
        return { id, seq, matched: entry.handlers.length };
      }
    }
    return publishOther(this, topic, payload, options);
  }

  /** Every publish the short path of `publish` does not take. */
  /**
   * @param {any} bus
   * @param {unknown} topic
   * @param {unknown} payload
   * @param {unknown} options
   */
  function publishOther(bus, topic, payload, options) {
    if (freedBuses.has(bus)) throw freedError('publish');
    checkBus(bus, 'publish');
    if (options !== undefined || typeof topic !== 'string') return publishSlow(bus, topic, payload, options);
    const state = stateOf(bus);
    if (state.dispatching) return publishSlow(bus, topic, payload, options);
    // Record a full batch before validating the route: recording may fire timers (a retry
    // falling due) that make the route ineligible.
    if (state.room === 0 && state.lastRun !== undefined) endSegment(state);
    /** @type {Route | null | undefined} */
    let entry = state.routes[topic];
    // A stamp read from a detached view (wasm memory grew) is `undefined`: a refill.
    if (entry === undefined || entry.generation !== state.generation || entry.epoch !== state.cell[CELL_STAMP]) {
      // A route with owned subscriptions, still valid but not revived in this task, is revived.
      const revived =
        entry !== undefined &&
        entry.weak !== null &&
        entry.generation === -1 &&
        entry.valid === state.generation &&
        entry.epoch === state.cell[CELL_STAMP] &&
        revive(state, entry);
      if (!revived) {
        entry = refill(state, topic);
        if (entry === null) return publishSlow(bus, topic, payload, options);
      }
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
   * Calls the handlers of `entry` for message `id` (already counted in the batch), through the
   * route's compiled dispatcher once it has one (dispatchers.js: the same steps, a call site per
   * handler). This is the
   * common case, kept small (no `finally`) so that JIT compilers inline it into `publish`:
   * every handler returns normally and none calls the bus. The first handler that throws,
   * returns a thenable or called the bus ends the fast dispatch in `endDispatch`: the message
   * is handed over to the engine (see `handOver`), which delivers it to the subscriptions whose
   * handlers have not run (a subscription removed meanwhile gets nothing). Nothing in the loop
   * but a handler can throw, and handler throws are caught.
   * @param {State} state
   * @param {Route} entry
   * @param {string} topic
   * @param {unknown} payload
   * @param {number} id
   * @param {number} seq
   */
  function dispatch(state, entry, topic, payload, id, seq) {
    const compiled = entry.compiled;
    if (compiled !== null) {
      compiled(state, topic, payload, id, seq);
      return;
    }
    if (++entry.dispatches === compileAfter && entry.weak === null) {
      const made = compileDispatcher(entry.handlers, entry.reads, endDispatch);
      // Not now (another compile just ran): again after as many publishes.
      if (made === undefined) entry.dispatches = 0;
      else entry.compiled = made;
    }
    const handlers = entry.handlers;
    const reads = entry.reads;
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
        // A fresh meta per call, as the slow path gives (a handler may keep or change it), for
        // every handler that can read one (see metareaders.js: one that cannot is given none).
        returned = handler(
          payload,
          reads[i]
            ? { id, topic, seq, attempt: 1, publishedAt: at, causationId: null, correlationId: null, headers: NO_HEADERS, origin: null }
            : undefined,
        );
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
   * @param {State} state
   * @param {number} outcome
   * @param {unknown} value
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
        state.generation++;
      }
    }
  }

  /**
   * @param {any} bus
   * @param {unknown} topic
   * @param {unknown} payload
   * @param {unknown} options
   */
  function publishSlow(bus, topic, payload, options) {
    const state = bus[STATE];
    if (state !== undefined) {
      sync(state);
      state.generation++;
    }
    return slowPublish.call(bus, topic, payload, options);
  }

  /**
   * `bus` is being freed (its `close()` ran): records its pending batch while the cell is still
   * its memory, then forgets its routes and reads the cell as "slow path" from then on, so a
   * later publish reaches the bindings (and their error), never a handler.
   * @param {any} bus
   */
  function forget(bus) {
    const state = bus[STATE];
    if (state === undefined) return;
    sync(state);
    state.freed = true;
    state.routes = noRoutes();
    state.routeCount = 0;
    state.lastTopic = undefined;
    state.lastEntry = undefined;
    state.cell = new Float64Array(CELL_SLOTS).fill(-1);
  }

  /**
   * `bus.__inlineRecordPublishes(topic, handler, count)` (internal, not wrapped), for
   * `switchyard/compat`, whose emitters call their listeners themselves (with Node's or mitt's
   * semantics) and subscribe one `handler` that does nothing per listener, so that the bus sees
   * the registrations. Counts up to `count` publishes of `topic` in the fast-path batch exactly
   * as `publish` would (ids, sequence numbers, deliveries), without calling anything, while the
   * topic's cached route is valid and every handler on it is `handler` (calling them would do
   * nothing). Answers how many it counted; the caller publishes the rest.
   * @this {any}
   * @param {unknown} topic
   * @param {Function} handler
   * @param {number} count
   * @returns {number}
   */
  function recordPublishes(topic, handler, count) {
    /** @type {State | undefined} */
    const state = this?.[STATE];
    if (state === undefined || typeof topic !== 'string') return 0;
    let done = 0;
    while (done < count && !state.dispatching) {
      // As in `publishOther`: a full segment first (recording it may make the route stale).
      if (state.room === 0 && state.lastRun !== undefined) endSegment(state);
      const entry = state.routes[topic];
      if (entry === undefined || entry.generation !== state.generation || entry.epoch !== state.cell[CELL_STAMP]) break;
      let recordOnly = entry.recordOnly;
      if (recordOnly === undefined) recordOnly = entry.recordOnly = entry.handlers.every((h) => h === handler);
      if (!recordOnly) break;
      let take = 1;
      if (state.lastRun === entry) {
        take = Math.min(count - done, state.room);
        state.runCount += take;
      } else {
        startRun(state, entry);
      }
      state.room -= take;
      entry.seq += take;
      state.nextId += take;
      done += take;
    }
    return done;
  }

  Object.defineProperty(EventBus.prototype, 'publish', { value: publish, configurable: true, writable: true });
  Object.defineProperty(EventBus.prototype, '__inlineRecordPublishes', { value: recordPublishes, configurable: true, writable: true });
  return { syncAll, syncAllForRead, forget };
}

/**
 * Whether two handler lists hold the same functions in the same order.
 * @param {Function[]} a
 * @param {Function[]} b
 */
function sameFunctions(a, b) {
  if (a.length !== b.length) return false;
  for (let i = 0; i < a.length; i++) if (a[i] !== b[i]) return false;
  return true;
}
