// The benchmark cases: one measurable operation per (case, implementation) pair.
//
// Two families. The realistic cases (`app-*`, in app-cases.mjs) look like an app's code: distinct
// listener functions, a payload allocated per emit, polymorphic and cold emit sites; the goals are
// judged on them. The cases in this file are each library's **best case (JIT)**: listeners that are
// closures of one function and one shared payload, in a hot monomorphic loop, which lets the JIT
// inline the listeners into the emitter's loop and drop what it allocates.
//
// Every case is written out per implementation, with its own loop, so that each loop's call sites
// only ever see one library (a shared `for (...) op()` loop would turn megamorphic after the first
// few libraries and penalise whichever ran last). Every listener writes into `sink`, and the runner
// reports the sink at the end, so no engine can prove the work dead and drop it.
//
// A case instance is `{ run(n), dispose(), warmOps? }`: `run(n)` performs the operation `n` times (the
// runner picks `n` so that one sample lasts about a millisecond, far above the timer's resolution);
// `warmOps` is how many operations visit every topic or site of a rotating case (run once first).

import { addCompatCases } from './cases-compat.mjs';
import { sink } from './sink.mjs';
import { addAppCases, appThroughputSubjects, makeSitesMegamorphic } from './app-cases.mjs';

export { makeSitesMegamorphic };

export { sink };

/** The payload every emit carries; allocated once, so no case pays for allocating it. */
const payload = { n: 1 };

/** Listener counts of the plain emit cases. */
export const EMIT_LISTENER_COUNTS = [1, 3, 10];

/** Pattern counts of the wildcard routing cases (each publish matches exactly one pattern). */
export const WILDCARD_PATTERN_COUNTS = [10, 1000];

/** Options that switch on switchyard's optional features, used by the `features` and throughput cases. */
export const SWITCHYARD_FEATURES = Object.freeze({
  traceCapacity: 4096,
  retry: { attempts: 3, backoffMs: 10, maxBackoffMs: 1000, jitter: 0 },
});

const noDispose = () => {};

function plainListener(p) {
  sink.n = (sink.n + p.n) | 0;
}

function listeners(count, make) {
  return Array.from({ length: count }, () => make());
}

/** A fresh closure per listener, so an emitter cannot dedupe them and each call is a real call. */
const makePlain = () => (p) => {
  sink.n = (sink.n + p.n) | 0;
};
const makeDomListener = () => (e) => {
  sink.n = (sink.n + e.detail.n) | 0;
};
const makeAsync = () => async (p) => {
  sink.n = (sink.n + p.n) | 0;
};
/** emittery 2 hands listeners an event object `{ name, data }`. */
const makeEmitteryListener = () => async ({ data }) => {
  sink.n = (sink.n + data.n) | 0;
};

// ---------------------------------------------------------------------------------------------
// emit with k listeners

const emitImpls = {
  switchyard: ({ switchyard }, k, options = {}) => {
    const bus = new switchyard.EventBus(options);
    for (const fn of listeners(k, makePlain)) bus.subscribe('orders.created', fn);
    return {
      run(n) {
        for (let i = 0; i < n; i++) bus.publish('orders.created', payload);
      },
      dispose: () => bus.close(),
    };
  },
  eventemitter3: ({ peers }, k) => {
    const ee = new peers.EventEmitter3();
    for (const fn of listeners(k, makePlain)) ee.on('orders.created', fn);
    return {
      run(n) {
        for (let i = 0; i < n; i++) ee.emit('orders.created', payload);
      },
      dispose: noDispose,
    };
  },
  tseep: ({ peers }, k) => {
    const ee = new peers.Tseep();
    for (const fn of listeners(k, makePlain)) ee.on('orders.created', fn);
    return {
      run(n) {
        for (let i = 0; i < n; i++) ee.emit('orders.created', payload);
      },
      dispose: noDispose,
    };
  },
  mitt: ({ peers }, k) => {
    const ee = peers.mitt();
    for (const fn of listeners(k, makePlain)) ee.on('orders.created', fn);
    return {
      run(n) {
        for (let i = 0; i < n; i++) ee.emit('orders.created', payload);
      },
      dispose: noDispose,
    };
  },
  eventemitter2: ({ peers }, k) => {
    const ee = new peers.EventEmitter2();
    for (const fn of listeners(k, makePlain)) ee.on('orders.created', fn);
    return {
      run(n) {
        for (let i = 0; i < n; i++) ee.emit('orders.created', payload);
      },
      dispose: noDispose,
    };
  },
  'rxjs-subject': ({ peers }, k) => {
    const subject = new peers.Subject();
    for (const fn of listeners(k, makePlain)) subject.subscribe(fn);
    return {
      run(n) {
        for (let i = 0; i < n; i++) subject.next(payload);
      },
      dispose: () => subject.complete(),
    };
  },
  'event-target': (_libs, k) => {
    const target = new EventTarget();
    for (const fn of listeners(k, makeDomListener)) target.addEventListener('orders.created', fn);
    return {
      run(n) {
        for (let i = 0; i < n; i++) {
          target.dispatchEvent(new CustomEvent('orders.created', { detail: payload }));
        }
      },
      dispose: noDispose,
    };
  },
};

// ---------------------------------------------------------------------------------------------
// wildcard routing: `count` patterns `svc<i>.*.created`; each publish goes to `svc<j>.eu.created`,
// which matches exactly one of them. In `wildcard-1-of-N`, `j` walks over all patterns, so a
// per-topic route cache must hold `N` entries; `wildcard-hot-1-of-1000` publishes one topic only.

function wildcardTopics(count) {
  // A stride coprime with the count visits every pattern in a scrambled order.
  const stride = count % 7 === 0 ? 11 : 7;
  return Array.from({ length: count }, (_, i) => `svc${(i * stride) % count}.eu.created`);
}

const wildcardImpls = {
  switchyard: ({ switchyard }, count, topics) => {
    const bus = new switchyard.EventBus();
    for (let i = 0; i < count; i++) bus.subscribe(`svc${i}.*.created`, makePlain());
    let next = 0;
    return {
      run(n) {
        for (let i = 0; i < n; i++) {
          bus.publish(topics[next], payload);
          next = next + 1 === topics.length ? 0 : next + 1;
        }
      },
      dispose: () => bus.close(),
      warmOps: 2 * topics.length,
    };
  },
  eventemitter2: ({ peers }, count, topics) => {
    const ee = new peers.EventEmitter2({ wildcard: true, delimiter: '.', maxListeners: 0 });
    for (let i = 0; i < count; i++) ee.on(`svc${i}.*.created`, makePlain());
    let next = 0;
    return {
      run(n) {
        for (let i = 0; i < n; i++) {
          ee.emit(topics[next], payload);
          next = next + 1 === topics.length ? 0 : next + 1;
        }
      },
      dispose: noDispose,
      warmOps: 2 * topics.length,
    };
  },
};

// ---------------------------------------------------------------------------------------------
// subscribe + unsubscribe churn: one listener added and removed on an event that already has 3.

const churnImpls = {
  switchyard: ({ switchyard }) => {
    const bus = new switchyard.EventBus();
    for (const fn of listeners(3, makePlain)) bus.subscribe('orders.created', fn);
    return {
      run(n) {
        for (let i = 0; i < n; i++) bus.subscribe('orders.created', plainListener).unsubscribe();
      },
      dispose: () => bus.close(),
    };
  },
  eventemitter3: ({ peers }) => {
    const ee = new peers.EventEmitter3();
    for (const fn of listeners(3, makePlain)) ee.on('orders.created', fn);
    return {
      run(n) {
        for (let i = 0; i < n; i++) {
          ee.on('orders.created', plainListener);
          ee.off('orders.created', plainListener);
        }
      },
      dispose: noDispose,
    };
  },
  tseep: ({ peers }) => {
    const ee = new peers.Tseep();
    for (const fn of listeners(3, makePlain)) ee.on('orders.created', fn);
    return {
      run(n) {
        for (let i = 0; i < n; i++) {
          ee.on('orders.created', plainListener);
          ee.off('orders.created', plainListener);
        }
      },
      dispose: noDispose,
    };
  },
  mitt: ({ peers }) => {
    const ee = peers.mitt();
    for (const fn of listeners(3, makePlain)) ee.on('orders.created', fn);
    return {
      run(n) {
        for (let i = 0; i < n; i++) {
          ee.on('orders.created', plainListener);
          ee.off('orders.created', plainListener);
        }
      },
      dispose: noDispose,
    };
  },
  eventemitter2: ({ peers }) => {
    const ee = new peers.EventEmitter2();
    for (const fn of listeners(3, makePlain)) ee.on('orders.created', fn);
    return {
      run(n) {
        for (let i = 0; i < n; i++) {
          ee.on('orders.created', plainListener);
          ee.off('orders.created', plainListener);
        }
      },
      dispose: noDispose,
    };
  },
  'rxjs-subject': ({ peers }) => {
    const subject = new peers.Subject();
    for (const fn of listeners(3, makePlain)) subject.subscribe(fn);
    return {
      run(n) {
        for (let i = 0; i < n; i++) subject.subscribe(plainListener).unsubscribe();
      },
      dispose: () => subject.complete(),
    };
  },
  'event-target': () => {
    const target = new EventTarget();
    for (const fn of listeners(3, makeDomListener)) target.addEventListener('orders.created', fn);
    return {
      run(n) {
        for (let i = 0; i < n; i++) {
          target.addEventListener('orders.created', plainListener);
          target.removeEventListener('orders.created', plainListener);
        }
      },
      dispose: noDispose,
    };
  },
};

// ---------------------------------------------------------------------------------------------
// async handlers: 3 listeners returning promises; every emit is awaited until all have settled.

const asyncImpls = {
  switchyard: ({ switchyard }) => {
    const bus = new switchyard.EventBus();
    for (const fn of listeners(3, makeAsync)) bus.subscribe('orders.created', fn);
    return {
      async run(n) {
        for (let i = 0; i < n; i++) {
          bus.publish('orders.created', payload);
          await bus.idle();
        }
      },
      dispose: () => bus.close(),
    };
  },
  emittery: ({ peers }) => {
    const emitter = new peers.Emittery();
    for (const fn of listeners(3, makeEmitteryListener)) emitter.on('orders.created', fn);
    return {
      async run(n) {
        for (let i = 0; i < n; i++) await emitter.emit('orders.created', payload);
      },
      dispose: () => emitter.clearListeners(),
    };
  },
};

/**
 * The two families of cases, each measured in its own process (Node) or page load (browsers): the
 * realistic cases make every library's dispatch call sites see many different listener functions
 * (megamorphic, as in an app), which a later best case in the same process would inherit.
 */
export const FAMILIES = ['app', 'best'];

/**
 * The family of a case or throughput name: `app` for the realistic cases (`app-*`, and the
 * `compat-*` cases, which use distinct listeners and a payload per emit too), else `best`.
 */
export function familyOf(name) {
  return name.startsWith('app-') || name.startsWith('compat-') ? 'app' : 'best';
}

/**
 * The cases this run measures.
 *
 * `libs` is `{ peers, switchyard }`; `switchyard` is the package's module namespace, or `null` when
 * the harness runs without the package (its cases are then left out, not faked).
 * `only` optionally restricts the cases to those whose name starts with one of its prefixes;
 * `family` (`app` or `best`) to one family.
 *
 * @returns {Array<{ case: string, impl: string, async: boolean, make: () => { run(n: number): unknown, dispose(): void } }>}
 */
export function buildCases(libs, { only = [], family } = {}) {
  const cases = [];
  const add = (name, impl, make, isAsync = false) => {
    if (impl.startsWith('switchyard') && !libs.switchyard) return;
    if (only.length > 0 && !only.some((prefix) => name.startsWith(prefix))) return;
    if (family !== undefined && familyOf(name) !== family) return;
    cases.push({ case: name, impl, async: isAsync, make });
  };
  // The realistic cases first (a run that is cut short has measured what the goals are judged on).
  addAppCases(libs, add, SWITCHYARD_FEATURES);
  addCompatCases(libs, add, sink);
  for (const k of EMIT_LISTENER_COUNTS) {
    for (const [impl, make] of Object.entries(emitImpls)) add(`emit-${k}`, impl, () => make(libs, k));
  }
  for (const count of WILDCARD_PATTERN_COUNTS) {
    for (const [impl, make] of Object.entries(wildcardImpls)) {
      add(`wildcard-1-of-${count}`, impl, () => make(libs, count, wildcardTopics(count)));
    }
  }
  // The same 1 000 patterns, every publish to one hot topic: the best case of a route cache.
  for (const [impl, make] of Object.entries(wildcardImpls)) {
    add('wildcard-hot-1-of-1000', impl, () => make(libs, 1000, ['svc7.eu.created']));
  }
  for (const [impl, make] of Object.entries(churnImpls)) add('churn', impl, () => make(libs));
  add('features-3', 'switchyard', () => emitImpls.switchyard(libs, 3));
  add('features-3', 'switchyard+features', () => emitImpls.switchyard(libs, 3, SWITCHYARD_FEATURES));
  for (const [impl, make] of Object.entries(asyncImpls)) add('async-3', impl, () => make(libs), true);
  return cases;
}

// ---------------------------------------------------------------------------------------------
// throughput: many messages through 10 subscriptions, timed in chunks.

/** Patterns of the 10 throughput subscriptions: exact and wildcard, all matching `orders.eu.created`. */
export const THROUGHPUT_PATTERNS = [
  'orders.eu.created',
  'orders.eu.created',
  'orders.eu.created',
  'orders.eu.created',
  'orders.eu.created',
  'orders.*.created',
  'orders.*.created',
  'orders.eu.*',
  'orders.**',
  '**',
];

/**
 * Publishers for the throughput measurement: each is `{ case, impl, make() → { publishMany(n), dispose() } }`
 * with 10 subscriptions that all receive every message. `app-throughput` (distinct listeners, a
 * fresh payload per publish) comes first; `throughput` is the best case (closures of one function,
 * one shared payload).
 */
export function throughputSubjects(libs, { family } = {}) {
  return allThroughputSubjects(libs).filter((s) => family === undefined || familyOf(s.case) === family);
}

function allThroughputSubjects(libs) {
  const subjects = appThroughputSubjects(libs, THROUGHPUT_PATTERNS, SWITCHYARD_FEATURES);
  if (libs.switchyard) {
    const make = (options) => () => {
      const bus = new libs.switchyard.EventBus(options);
      for (const pattern of THROUGHPUT_PATTERNS) bus.subscribe(pattern, makePlain());
      return {
        publishMany(n) {
          for (let i = 0; i < n; i++) bus.publish('orders.eu.created', payload);
        },
        dispose: () => bus.close(),
      };
    };
    subjects.push({ case: 'throughput', impl: 'switchyard+features', make: make(SWITCHYARD_FEATURES) });
    subjects.push({ case: 'throughput', impl: 'switchyard', make: make({}) });
  }
  subjects.push({
    case: 'throughput',
    impl: 'eventemitter3',
    make: () => {
      const ee = new libs.peers.EventEmitter3();
      for (const fn of listeners(THROUGHPUT_PATTERNS.length, makePlain)) ee.on('orders.eu.created', fn);
      return {
        publishMany(n) {
          for (let i = 0; i < n; i++) ee.emit('orders.eu.created', payload);
        },
        dispose: noDispose,
      };
    },
  });
  return subjects;
}
