// @ts-check
// `EventEmitter` with the semantics of Node's `events` module, on a Switchyard bus.
//
// The emitter keeps its listener lists and calls the listeners itself, as Node does (depth-first,
// `this` the emitter, a throw leaves `emit`, the listeners of an emit fixed when it starts). Each
// listener is also a subscription on the emitter's bus (`emitter.bus`), named after the event, and
// each emit one publish of the event's topic (see mirror.js and topics.js): `subscriptions()`,
// `leaks()`, `metrics()`, `expose()` and the visualiser see what the code does.

import { SwitchyardError } from 'switchyard';

import { compileAfter, setCompileAfter } from '../src/compiling.js';
import { compileCaller } from './callers.js';
import { emitChecked, epoch, markDirty, newBus, register, unregister } from './mirror.js';
import { displayName, Topics } from './topics.js';

/** Each emitter's state (created on first use, so `EventEmitter.call(this)` is optional too). */
const STATE = Symbol('switchyard.compat.emitter');

/**
 * `EventEmitter.errorMonitor`: its listeners see `'error'` emits before the `'error'` listeners.
 * In Node it is Node's own symbol (`events.errorMonitor`), so code that still imports it from
 * `node:events` works on compat emitters too; elsewhere a symbol of its own.
 */
export const errorMonitor = /** @type {symbol} */ (
  /** @type {any} */ (globalThis).process?.getBuiltinModule?.('node:events')?.errorMonitor ?? Symbol('events.errorMonitor')
);

let defaultMaxListeners = 10;

/**
 * One event name's listeners: `listeners` is replaced, never changed, so an emit keeps calling
 * the list it started with; `subs[i]` is the bus registration of `listeners[i]` (null if the bus
 * was closed). The rest is its bus channel (see mirror.js).
 * @typedef {{
 *   listeners: Function[],
 *   subs: (import('switchyard').Subscription | null)[],
 *   warned: boolean,
 *   bus: import('switchyard').EventBus,
 *   topic: string,
 *   pending: number,
 *   epoch: number,
 *   emits: number,
 *   caller: import('./callers.js').Caller | null,
 *   callerFor: Function[] | null,
 * }} Entry
 */

/**
 * @typedef {{
 *   events: Record<string | symbol, Entry | undefined>,
 *   eventCount: number,
 *   maxListeners: number | undefined,
 *   bus: import('switchyard').EventBus | undefined,
 *   busOptions: import('switchyard').EventBusOptions | undefined,
 *   topics: Topics,
 * }} State
 */

/** @returns {State} */
function stateOf(/** @type {any} */ emitter) {
  const state = emitter[STATE];
  return state === undefined ? newState(emitter) : state;
}

/** Gives `emitter` a state of its own (no listeners, no bus yet). */
function newState(/** @type {any} */ emitter) {
  /** @type {State} */
  const state = { events: newEvents(), eventCount: 0, maxListeners: undefined, bus: undefined, busOptions: undefined, topics: new Topics() };
  Object.defineProperty(emitter, STATE, { value: state, writable: true, configurable: true });
  return state;
}

/**
 * An empty listener table: a prototype-less object keyed by event name, as Node's `_events` (and
 * eventemitter3's): a property load with the emit's name, which engines cache per call site, where
 * a `Map` would hash the name on every emit. `Reflect.ownKeys` gives Node's `eventNames()` order.
 * @returns {Record<string | symbol, Entry | undefined>}
 */
function newEvents() {
  return Object.create(null);
}

/** The emitter's bus, made on first use. */
function busOf(/** @type {any} */ emitter, /** @type {State} */ state) {
  if (state.bus === undefined) state.bus = newBus(state.busOptions, maxOf(state));
  return state.bus;
}

function maxOf(/** @type {State} */ state) {
  return state.maxListeners === undefined ? defaultMaxListeners : state.maxListeners;
}

/**
 * The key an event name is kept under: strings and symbols as they are, anything else as a
 * string (`1` → `'1'`), as Node keeps listeners in an object (`on(1)` and `emit('1')` meet, and
 * `eventNames()` lists `'1'`).
 * @param {unknown} type
 * @returns {string | symbol}
 */
function keyOf(type) {
  return typeof type === 'string' || typeof type === 'symbol' ? type : String(type);
}

function checkListener(/** @type {unknown} */ listener) {
  if (typeof listener !== 'function') {
    throw new SwitchyardError('E_INVALID_HANDLER', `The "listener" argument must be a function (got ${describe(listener)})`);
  }
}

function checkCount(/** @type {unknown} */ n, /** @type {string} */ what) {
  if (typeof n !== 'number' || Number.isNaN(n) || n < 0) {
    throw new SwitchyardError('E_INVALID_OPTION', `${what} must be a non-negative number (got ${describe(n)})`);
  }
}

/** Node's `util.inspect` where there is one (Node 20.16+), for messages worded as Node's. */
const inspect = /** @type {((value: unknown, options?: object) => string) | undefined} */ (
  /** @type {any} */ (globalThis).process?.getBuiltinModule?.('node:util')?.inspect
);

/** A short, safe description of a value for messages: `util.inspect`'s, else an approximation. */
function describe(/** @type {unknown} */ value) {
  try {
    if (inspect !== undefined) return inspect(value);
    if (typeof value === 'string') return `'${value}'`;
    if (typeof value === 'symbol' || typeof value === 'function') return value.toString().split('\n')[0];
    if (value === null || typeof value !== 'object') return String(value);
    const json = JSON.stringify(value);
    return json === undefined ? Object.prototype.toString.call(value) : json;
  } catch {
    return Object.prototype.toString.call(value);
  }
}

/**
 * Node's `MaxListenersExceededWarning`, through `process.emitWarning` where there is one (Node),
 * else `console.warn` (browsers).
 */
function warnMaxListeners(/** @type {object} */ emitter, /** @type {string | symbol} */ type, /** @type {number} */ count, /** @type {number} */ max) {
  const warning = Object.assign(
    new Error(
      `Possible EventEmitter memory leak detected. ${count} ${String(type)} listeners added to ` +
        `[${emitter.constructor?.name ?? 'EventEmitter'}]. MaxListeners is ${max}. Use emitter.setMaxListeners() to increase limit`,
    ),
    { name: 'MaxListenersExceededWarning', emitter, type, count },
  );
  const proc = /** @type {any} */ (globalThis).process;
  if (typeof proc?.emitWarning === 'function') proc.emitWarning(warning);
  else console.warn(`${warning.name}: ${warning.message}`);
}

/**
 * Adds `listener` for `type` (first with `prepend`), after the `'newListener'` event, then
 * warns once if the list grew past the limit.
 * @param {any} emitter
 * @param {string | symbol} type
 * @param {Function} listener
 * @param {boolean} prepend
 */
function addListener(emitter, type, listener, prepend) {
  checkListener(listener);
  const state = stateOf(emitter);
  // Before the listener is added (so a 'newListener' listener is not told about itself).
  if (state.events.newListener !== undefined) {
    emitter.emit('newListener', type, /** @type {any} */ (listener).listener ?? listener);
  }
  const bus = busOf(emitter, state);
  type = keyOf(type);
  let entry = state.events[type];
  const topic = entry === undefined ? state.topics.of(type) : entry.topic;
  // Subscribed first: a bus that refuses leaves the emitter as it was (a closed one gives null:
  // the listener is added without a registration).
  const sub = register(bus, topic, displayName(type));
  if (entry === undefined) {
    state.events[type] = {
      listeners: [listener],
      subs: [sub],
      warned: false,
      bus,
      topic,
      pending: 0,
      epoch: -1,
      // Emits of the current list, and its compiled caller once hot (see callers.js).
      emits: 0,
      caller: null,
      callerFor: null,
    };
    state.eventCount++;
    return emitter;
  }
  if (prepend) {
    entry.listeners = [listener, ...entry.listeners];
    entry.subs.unshift(sub);
  } else {
    entry.listeners = [...entry.listeners, listener];
    entry.subs.push(sub);
  }
  dropCaller(entry);
  const max = maxOf(state);
  const count = entry.listeners.length;
  if (max > 0 && count > max && !entry.warned) {
    entry.warned = true;
    warnMaxListeners(emitter, type, count, max);
  }
  return emitter;
}

/**
 * Forgets the compiled caller of `entry`'s previous list (it holds that list's listeners, which
 * a removed one must not outlive) and its count of emits.
 * @param {Entry} entry
 */
function dropCaller(entry) {
  entry.caller = null;
  entry.callerFor = null;
  // Count the new list's own emits: a list that changes every few emits (a `once` per request)
  // never turns hot, so it is never compiled for nothing.
  entry.emits = 0;
}

/**
 * Drops `type`'s entry (its last listener is gone) and its topic.
 * @param {State} state
 * @param {string | symbol} type
 */
function forget(state, type) {
  delete state.events[type];
  state.eventCount--;
  state.topics.forget(type);
}

/**
 * Removes `entry.listeners[index]` and its registration (the entry when it was the last).
 * @param {State} state
 * @param {string | symbol} type
 * @param {Entry} entry
 * @param {number} index
 */
function removeAt(state, type, entry, index) {
  const listeners = entry.listeners;
  if (listeners.length === 1) {
    forget(state, type);
  } else {
    entry.listeners = listeners.slice(0, index).concat(listeners.slice(index + 1));
    dropCaller(entry);
    // Node forgets it warned when the list goes back to one listener.
    if (entry.listeners.length === 1) entry.warned = false;
  }
  const [sub] = entry.subs.splice(index, 1);
  unregister(sub);
}

/**
 * Once wrappers as Node makes them: `rawListeners()` returns the wrapper, whose `listener` is
 * the original; calling the wrapper removes it and calls the listener (once).
 * @param {any} target
 * @param {string | symbol} type
 * @param {Function} listener
 */
function onceWrap(target, type, listener) {
  const state = { fired: false, wrapFn: /** @type {any} */ (undefined), target, type, listener };
  const wrapped = onceWrapper.bind(state);
  /** @type {any} */ (wrapped).listener = listener;
  state.wrapFn = wrapped;
  return wrapped;
}

/** @this {{ fired: boolean, wrapFn: Function, target: any, type: string | symbol, listener: Function }} */
function onceWrapper() {
  if (!this.fired) {
    this.target.removeListener(this.type, this.wrapFn);
    this.fired = true;
    if (arguments.length === 0) return this.listener.call(this.target);
    return this.listener.apply(this.target, arguments);
  }
}

/**
 * The `'error'` emit nobody listens to: throws the error itself, or, for anything that is not an
 * `Error`, an `Error` with code `ERR_UNHANDLED_ERROR` and the value as `context`, as Node does.
 * @param {unknown[]} args the emit's arguments after the name
 */
function unhandledError(args) {
  const er = args[0];
  if (er instanceof Error) throw er; // Unhandled 'error' event
  throw Object.assign(new Error(`Unhandled error. (${describe(er)})`), {
    code: 'ERR_UNHANDLED_ERROR',
    context: er,
  }); // Unhandled 'error' event
}

/**
 * Node's `EventEmitter` (see docs/API.md, "switchyard/compat"). A function rather than a class,
 * as in Node, so that `EventEmitter.call(this)` in pre-class code works; `class X extends
 * EventEmitter` works too.
 * @constructor
 * @param {{ captureRejections?: boolean, bus?: import('switchyard').EventBusOptions }} [options]
 *   `bus`: options of the emitter's `EventBus` (made on first use).
 */
export function EventEmitter(options) {
  if (!new.target && (this === undefined || /** @type {unknown} */ (this) === globalThis)) {
    throw new SwitchyardError('E_INVALID_RECEIVER', 'EventEmitter must be called with `new` (or as `EventEmitter.call(this)`)');
  }
  // A state of its own, not one inherited from a prototype that is an emitter itself
  // (`Legacy.prototype = new EventEmitter()`), as Node's `init` gives each instance its own
  // `_events`; a second call on the same object keeps its listeners.
  const state = Object.prototype.hasOwnProperty.call(this, STATE) ? stateOf(this) : newState(this);
  if (options !== undefined && options !== null) {
    if (typeof options !== 'object') throw new SwitchyardError('E_INVALID_OPTION', 'EventEmitter options must be an object');
    if (options.captureRejections) {
      throw new SwitchyardError('E_INVALID_OPTION', 'option `captureRejections` is not supported by switchyard/compat');
    }
    if (options.bus !== undefined) {
      if (options.bus === null || typeof options.bus !== 'object') throw new SwitchyardError('E_INVALID_OPTION', 'option `bus` must be an object of EventBus options');
      state.busOptions = options.bus;
      // Made now, so bad bus options are refused here (E_INVALID_OPTION) and not by a later `on()`.
      if (state.bus === undefined) state.bus = newBus(state.busOptions, maxOf(state));
    }
  }
}

const proto = EventEmitter.prototype;

Object.defineProperties(proto, {
  /**
   * The emitter's `EventBus` (made on first use): one subscription per listener, one publish per
   * emit. For `subscriptions()`, `leaks()`, `metrics()`, `expose()`; not for publishing to the
   * emitter's listeners (they are called by `emit` only).
   */
  bus: {
    configurable: true,
    get() {
      return busOf(this, stateOf(this));
    },
  },
});

/**
 * Calls the listeners of `type` with the arguments after it, in order, with `this` the emitter;
 * returns whether there were any. A listener that throws ends the emit (the later ones are not
 * called) and the error leaves `emit`. An `'error'` nobody listens to throws.
 * @param {string | symbol} type
 * @param {unknown} [a1]
 * @param {unknown} [a2]
 * @param {unknown} [a3]
 */
proto.emit = function emit(type, a1, a2, a3) {
  // `arguments` is only read by length and index (never passed on), so optimising compilers
  // need not allocate it.
  const len = arguments.length;
  const state = this[STATE];
  if (type === 'error') {
    const args = [];
    for (let i = 1; i < len; i++) args.push(arguments[i]);
    emitError(this, state, args);
  }
  // Names other than strings and symbols are kept as strings (see `keyOf`).
  const entry = state?.events[keyOf(type)];
  if (entry === undefined) return false;
  const listeners = entry.listeners;
  // The bus side (see mirror.js): counted, or checked and maybe published with the payload.
  if (entry.epoch === epoch) {
    if (entry.pending++ === 0) markDirty(entry);
  } else {
    let payload = len === 2 ? a1 : undefined;
    if (len > 2) {
      payload = [];
      for (let i = 1; i < len; i++) /** @type {unknown[]} */ (payload).push(arguments[i]);
    }
    emitChecked(entry, payload);
  }
  // The list's compiled caller once it is hot (callers.js: a call site per listener); lists
  // are copy-on-write, so a caller made for this array calls exactly its listeners.
  if (entry.callerFor === listeners) {
    if (/** @type {import('./callers.js').Caller} */ (entry.caller)(this, len, a1, a2, a3)) return true;
  } else if (++entry.emits === compileAfter) {
    entry.emits = 0;
    const made = compileCaller(listeners);
    // Not now (another compile just ran): again after as many emits.
    if (made !== undefined) {
      entry.callerFor = listeners;
      entry.caller = made ?? keepTheLoop;
    }
  }
  const n = listeners.length;
  switch (len) {
    case 0: // `emit()`: the name is `undefined`, as in Node
    case 1:
      for (let i = 0; i < n; i++) listeners[i].call(this);
      break;
    case 2:
      for (let i = 0; i < n; i++) listeners[i].call(this, a1);
      break;
    case 3:
      for (let i = 0; i < n; i++) listeners[i].call(this, a1, a2);
      break;
    case 4:
      for (let i = 0; i < n; i++) listeners[i].call(this, a1, a2, a3);
      break;
    default: {
      const args = new Array(len - 1);
      for (let i = 1; i < len; i++) args[i - 1] = arguments[i];
      for (let i = 0; i < n; i++) listeners[i].apply(this, args);
    }
  }
  return true;
};

/** The caller of a list that keeps `emit`'s loop (too long, or nothing can be compiled here). */
const keepTheLoop = () => false;

/**
 * The `'error'` part of an emit, before the listeners: the `errorMonitor` listeners see it first,
 * then, if nobody listens to `'error'`, it throws (see `unhandledError`).
 * @param {any} emitter
 * @param {State | undefined} state
 * @param {unknown[]} args
 */
function emitError(emitter, state, args) {
  if (state?.events[errorMonitor] !== undefined) emitter.emit(errorMonitor, ...args);
  if (state?.events.error === undefined) unhandledError(args);
}

/**
 * Adds `listener` at the end of `type`'s list (the same function may be added several times).
 * @param {string | symbol} type
 * @param {Function} listener
 */
proto.addListener = function addListener_(type, listener) {
  return addListener(this, type, listener, false);
};
proto.on = proto.addListener;

/** Adds `listener` at the start of `type`'s list. */
proto.prependListener = function prependListener(/** @type {string | symbol} */ type, /** @type {Function} */ listener) {
  return addListener(this, type, listener, true);
};

/** Adds a listener removed before its first call. */
proto.once = function once(/** @type {string | symbol} */ type, /** @type {Function} */ listener) {
  checkListener(listener);
  return addListener(this, type, onceWrap(this, type, listener), false);
};

/** `once`, at the start of the list. */
proto.prependOnceListener = function prependOnceListener(/** @type {string | symbol} */ type, /** @type {Function} */ listener) {
  checkListener(listener);
  return addListener(this, type, onceWrap(this, type, listener), true);
};

/**
 * Removes the most recently added registration of `listener` (or of a `once` wrapper of it) for
 * `type`, then emits `'removeListener'`. An emit in progress still calls it.
 * @param {string | symbol} type
 * @param {Function} listener
 */
proto.removeListener = function removeListener(type, listener) {
  checkListener(listener);
  const state = this[STATE];
  const key = keyOf(type);
  const entry = state?.events[key];
  if (entry === undefined) return this;
  const list = entry.listeners;
  let position = -1;
  for (let i = list.length - 1; i >= 0; i--) {
    if (list[i] === listener || /** @type {any} */ (list[i]).listener === listener) {
      position = i;
      break;
    }
  }
  if (position < 0) return this;
  const removed = list[position];
  removeAt(state, key, entry, position);
  if (state.events.removeListener !== undefined) {
    // Node's two cases: a lone listener is reported unwrapped, one of several as passed.
    this.emit('removeListener', type, list.length === 1 ? /** @type {any} */ (removed).listener || listener : listener);
  }
  return this;
};
proto.off = proto.removeListener;

/**
 * Removes every listener of `type` (newest first, each with its `'removeListener'` event), or of
 * every event when called with no argument (`'removeListener'` listeners last).
 * @param {string | symbol} [type]
 */
proto.removeAllListeners = function removeAllListeners(type) {
  const state = this[STATE];
  if (state === undefined || state.eventCount === 0) return this;
  if (arguments.length === 0) {
    for (const key of Reflect.ownKeys(state.events)) {
      if (key !== 'removeListener') this.removeAllListeners(key);
    }
    this.removeAllListeners('removeListener');
    return this;
  }
  const key = keyOf(type);
  const entry = state.events[key];
  if (entry === undefined) return this;
  if (state.events.removeListener === undefined) {
    forget(state, key);
    for (const sub of entry.subs) unregister(sub);
    return this;
  }
  const listeners = entry.listeners;
  for (let i = listeners.length - 1; i >= 0; i--) this.removeListener(type, listeners[i]);
  return this;
};

/** Sets the listener count per event above which a warning is given (0 or Infinity: never). */
proto.setMaxListeners = function setMaxListeners(/** @type {number} */ n) {
  checkCount(n, 'setMaxListeners(n)');
  stateOf(this).maxListeners = n;
  return this;
};

/** The limit of `setMaxListeners`, else `EventEmitter.defaultMaxListeners`. */
proto.getMaxListeners = function getMaxListeners() {
  return maxOf(stateOf(this));
};

/** A copy of `type`'s listeners (`once` listeners unwrapped). */
proto.listeners = function listeners(/** @type {string | symbol} */ type) {
  const entry = this[STATE]?.events[keyOf(type)];
  if (entry === undefined) return [];
  if (entry.listeners.length === 1) {
    const only = entry.listeners[0];
    return [/** @type {any} */ (only).listener || only];
  }
  return entry.listeners.map((/** @type {Function} */ l) => (typeof (/** @type {any} */ (l).listener) === 'function' ? /** @type {any} */ (l).listener : l));
};

/** A copy of `type`'s listeners with `once` wrappers as they are. */
proto.rawListeners = function rawListeners(/** @type {string | symbol} */ type) {
  const entry = this[STATE]?.events[keyOf(type)];
  return entry === undefined ? [] : entry.listeners.slice();
};

/**
 * How many listeners `type` has (of `listener`, or a `once` wrapper of it, when given).
 * @param {string | symbol} type
 * @param {Function} [listener]
 */
proto.listenerCount = function listenerCount(type, listener) {
  const entry = this[STATE]?.events[keyOf(type)];
  if (entry === undefined) return 0;
  if (listener == null) return entry.listeners.length;
  let matching = 0;
  for (const l of entry.listeners) if (l === listener || /** @type {any} */ (l).listener === listener) matching++;
  return matching;
};

/** The names with listeners, in Node's order (integer-like names, other strings, symbols). */
proto.eventNames = function eventNames() {
  const state = this[STATE];
  return state === undefined ? [] : Reflect.ownKeys(state.events);
};


/**
 * `await EventEmitter.once(emitter, name)`: the arguments of the next `name` emit; rejects with
 * the error of an `'error'` emit first (when `name` is not `'error'`) or when `signal` aborts.
 * @param {any} emitter
 * @param {string | symbol} name
 * @param {{ signal?: AbortSignal }} [options]
 * @returns {Promise<unknown[]>}
 */
export function once(emitter, name, options) {
  const signal = options?.signal;
  return new Promise((resolve, reject) => {
    if (signal?.aborted) {
      reject(abortError(signal));
      return;
    }
    const onEvent = (/** @type {unknown[]} */ ...args) => {
      cleanup();
      resolve(args);
    };
    const onError = (/** @type {unknown} */ error) => {
      cleanup();
      reject(error);
    };
    const onAbort = () => {
      cleanup();
      reject(abortError(/** @type {AbortSignal} */ (signal)));
    };
    function cleanup() {
      emitter.removeListener(name, onEvent);
      if (name !== 'error') emitter.removeListener('error', onError);
      signal?.removeEventListener('abort', onAbort);
    }
    emitter.on(name, onEvent);
    if (name !== 'error') emitter.on('error', onError);
    signal?.addEventListener('abort', onAbort, { once: true });
  });
}

function abortError(/** @type {AbortSignal} */ signal) {
  return Object.assign(new Error('The operation was aborted', { cause: signal.reason }), { name: 'AbortError', code: 'ABORT_ERR' });
}

/** `EventEmitter.listenerCount(emitter, name)` (deprecated in Node, kept for old code). */
function staticListenerCount(/** @type {any} */ emitter, /** @type {string | symbol} */ name) {
  return emitter.listenerCount(name);
}

Object.defineProperties(EventEmitter, {
  EventEmitter: { value: EventEmitter, enumerable: true, writable: true, configurable: true },
  once: { value: once, enumerable: true, writable: true, configurable: true },
  listenerCount: { value: staticListenerCount, enumerable: true, writable: true, configurable: true },
  errorMonitor: { value: errorMonitor, enumerable: true, writable: false, configurable: false },
  __compileAfter: { value: setCompileAfter },
  /** Listener count per event above which new emitters warn (default 10). */
  defaultMaxListeners: {
    enumerable: true,
    configurable: true,
    get: () => defaultMaxListeners,
    set(n) {
      checkCount(n, 'EventEmitter.defaultMaxListeners');
      defaultMaxListeners = n;
    },
  },
});
