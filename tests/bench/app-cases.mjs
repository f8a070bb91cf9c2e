// The realistic ("app") cases: what an app's code looks like to the JIT, not its best case.
//
// - Every listener is its own function with its own code (`DISTINCT_LISTENERS`): an emitter's
//   dispatch loop calls several different functions, so no engine can inline "the" listener into it.
// - Every emit allocates its payload (`{ n: i }`), as an app's `emit('x', { ... })` does.
// - `app-polymorphic`: one emit site publishes several topics, each with its own listeners and its
//   own payload shape.
// - `app-cold`: many emit sites (each a different function, with its own topic and listeners), called
//   in turn, so each runs once per `COLD_SITES` emits and no site or listener call is monomorphic.
// - `app-wildcard-1000`: 1 000 wildcard patterns with distinct listeners, each publish to the next of
//   1 000 topics.
// - `app-features-3` and the `app-throughput` subjects: switchyard with its trace ring, metrics and
//   retry policy on, distinct listeners and fresh payloads.
//
// Each listener counts its call in `sink.n` (so the harness test can check deliveries) and folds the
// payload into another field of `sink` in its own way (so no emit is dead).
import { sink } from './sink.mjs';

/**
 * Factories of ten listeners with different code (each call makes a fresh function object, so an
 * emitter cannot dedupe them). App handlers do a little work each; these do a few loads and stores.
 */
export const DISTINCT_LISTENERS = [
  () =>
    function onOrderCreated(p) {
      sink.n = (sink.n + 1) | 0;
      sink.acc = (sink.acc + p.n) | 0;
    },
  () =>
    function auditEveryEighth(p) {
      sink.n = (sink.n + 1) | 0;
      if ((p.n & 7) === 0) sink.audit = (sink.audit ^ p.n) | 0;
    },
  () =>
    function showBadge(p) {
      sink.n = (sink.n + 1) | 0;
      sink.last = p.n;
    },
  () =>
    function addToTotal(p) {
      sink.n = (sink.n + 1) | 0;
      sink.total = (sink.total + (p.n << 1)) | 0;
    },
  () =>
    function trackMax(p) {
      sink.n = (sink.n + 1) | 0;
      if (p.n > sink.max) sink.max = p.n;
    },
  () =>
    function countOdd(p) {
      sink.n = (sink.n + 1) | 0;
      sink.odd = (sink.odd + (p.n & 1)) | 0;
    },
  () =>
    function hashIds(p) {
      sink.n = (sink.n + 1) | 0;
      sink.hash = Math.imul(sink.hash ^ p.n, 16777619) | 0;
    },
  () =>
    function histogram(p) {
      sink.n = (sink.n + 1) | 0;
      const b = p.n & 15;
      sink.buckets[b] = (sink.buckets[b] + 1) | 0;
    },
  () =>
    function rememberEven(p) {
      sink.n = (sink.n + 1) | 0;
      if ((p.n & 1) === 0) sink.even = p.n;
    },
  () =>
    function logSometimes(p) {
      sink.n = (sink.n + 1) | 0;
      if (p.n % 1000 === 999) sink.logged = (sink.logged + 1) | 0;
    },
];

/** `count` listeners, the `i`-th made by `DISTINCT_LISTENERS[(offset + i) % 10]`. */
export function distinctListeners(count, offset = 0) {
  return Array.from({ length: count }, (_, i) => DISTINCT_LISTENERS[(offset + i) % DISTINCT_LISTENERS.length]());
}

/** Listener counts of the realistic emit cases. */
export const APP_EMIT_LISTENER_COUNTS = [1, 3, 10];

// ---------------------------------------------------------------------------------------------
// The polymorphic site: four topics, each with its own payload shape and its own listeners (1, 2, 3
// and 4 of them, 10 different functions in all), published in turn from one emit site.

/** The topics of `app-polymorphic` and their listener counts (payload shapes: `polyPayload`). */
export const POLY_TOPICS = [
  { topic: 'cart.item.added', listeners: 1 },
  { topic: 'cart.item.removed', listeners: 2 },
  { topic: 'user.signed.in', listeners: 3 },
  { topic: 'route.changed', listeners: 4 },
];

/** Listener calls of `run(n)` in `app-polymorphic` (topics in turn, starting with the first). */
export function polymorphicDeliveries(n) {
  let total = 0;
  for (let i = 0; i < n; i++) total += POLY_TOPICS[i % POLY_TOPICS.length].listeners;
  return total;
}

/** The payload of the `i`-th emit of `app-polymorphic` (topic `i % 4`): one allocation, 4 shapes. */
function polyPayload(k, i) {
  switch (k) {
    case 0:
      return { n: i, sku: 'A-1', qty: 1 };
    case 1:
      return { reason: 'user', n: i };
    case 2:
      return { n: i, name: 'ada', admin: false, at: 0 };
    default:
      return { from: '/a', to: '/b', n: i };
  }
}

/** For each topic of `app-polymorphic`, its listeners (different functions across all topics). */
function polyListeners() {
  let offset = 0;
  return POLY_TOPICS.map(({ listeners }) => {
    const made = distinctListeners(listeners, offset);
    offset += listeners;
    return made;
  });
}

// ---------------------------------------------------------------------------------------------
// The cold case: `COLD_SITES` emit sites, each its own function (generated with its own source
// text, so no two share code or type feedback), each publishing its own topic to 3 listeners.

/** Emit sites of `app-cold`. */
export const COLD_SITES = 256;

/** Listeners per topic of `app-cold`. */
export const COLD_LISTENERS = 3;

/**
 * `COLD_SITES` functions `(target, i) => <call>`, where `call` is the library's emit written with
 * `T` for the target, `K` for the site's topic literal and `P` for the payload expression.
 */
function coldSites(call) {
  const sites = [];
  for (let j = 0; j < COLD_SITES; j++) {
    const body = call.replaceAll('K', `'site${j}.changed'`).replaceAll('P', `{ n: i, site: ${j} }`);
    // eslint-disable-next-line no-new-func
    sites.push(new Function('T', 'i', `/* emit site ${j} */ ${body};`));
  }
  return sites;
}

function coldTopics() {
  return Array.from({ length: COLD_SITES }, (_, j) => `site${j}.changed`);
}

/** Runs `n` emits over the cold sites in turn, `target(j)` giving each site's target. */
function coldRunner(sites, target) {
  let next = 0;
  return (n) => {
    for (let i = 0; i < n; i++) {
      sites[next](target(next), i);
      next = next + 1 === sites.length ? 0 : next + 1;
    }
  };
}

const noDispose = () => {};

/**
 * Emitters with string topics, set up per case. Each maker gets `(libs)` and returns
 * `{ on(topic, fn), target, emitCall, dispose }`: `emitCall` is the cold sites' call template.
 */
const emitters = {
  switchyard: ({ switchyard }, options = {}) => {
    const bus = new switchyard.EventBus(options);
    return {
      emitter: bus,
      on: (topic, fn) => bus.subscribe(topic, fn),
      call: 'T.publish(K, P)',
      dispose: () => bus.close(),
    };
  },
  eventemitter3: ({ peers }) => {
    const ee = new peers.EventEmitter3();
    return { emitter: ee, on: (topic, fn) => ee.on(topic, fn), call: 'T.emit(K, P)', dispose: noDispose };
  },
  tseep: ({ peers }) => {
    const ee = new peers.Tseep();
    return { emitter: ee, on: (topic, fn) => ee.on(topic, fn), call: 'T.emit(K, P)', dispose: noDispose };
  },
  mitt: ({ peers }) => {
    const ee = peers.mitt();
    return { emitter: ee, on: (topic, fn) => ee.on(topic, fn), call: 'T.emit(K, P)', dispose: noDispose };
  },
  eventemitter2: ({ peers }) => {
    const ee = new peers.EventEmitter2();
    return { emitter: ee, on: (topic, fn) => ee.on(topic, fn), call: 'T.emit(K, P)', dispose: noDispose };
  },
};

// ---------------------------------------------------------------------------------------------
// app-emit-k: k distinct listeners on one topic, `{ n: i }` per emit. Each library has its own
// loop (see cases.mjs), so the loop's call site only ever sees that library.

const appEmitImpls = {
  switchyard: (libs, k, options) => {
    const { emitter: bus, dispose } = emitters.switchyard(libs, options);
    for (const fn of distinctListeners(k)) bus.subscribe('orders.created', fn);
    return {
      run(n) {
        for (let i = 0; i < n; i++) bus.publish('orders.created', { n: i });
      },
      dispose,
    };
  },
  eventemitter3: ({ peers }, k) => {
    const ee = new peers.EventEmitter3();
    for (const fn of distinctListeners(k)) ee.on('orders.created', fn);
    return {
      run(n) {
        for (let i = 0; i < n; i++) ee.emit('orders.created', { n: i });
      },
      dispose: noDispose,
    };
  },
  tseep: ({ peers }, k) => {
    const ee = new peers.Tseep();
    for (const fn of distinctListeners(k)) ee.on('orders.created', fn);
    return {
      run(n) {
        for (let i = 0; i < n; i++) ee.emit('orders.created', { n: i });
      },
      dispose: noDispose,
    };
  },
  mitt: ({ peers }, k) => {
    const ee = peers.mitt();
    for (const fn of distinctListeners(k)) ee.on('orders.created', fn);
    return {
      run(n) {
        for (let i = 0; i < n; i++) ee.emit('orders.created', { n: i });
      },
      dispose: noDispose,
    };
  },
  eventemitter2: ({ peers }, k) => {
    const ee = new peers.EventEmitter2();
    for (const fn of distinctListeners(k)) ee.on('orders.created', fn);
    return {
      run(n) {
        for (let i = 0; i < n; i++) ee.emit('orders.created', { n: i });
      },
      dispose: noDispose,
    };
  },
  'rxjs-subject': ({ peers }, k) => {
    const subject = new peers.Subject();
    for (const fn of distinctListeners(k)) subject.subscribe(fn);
    return {
      run(n) {
        for (let i = 0; i < n; i++) subject.next({ n: i });
      },
      dispose: () => subject.complete(),
    };
  },
  'event-target': (_libs, k) => {
    const target = new EventTarget();
    // A DOM listener gets the event: each reads `detail` and hands it to its own function.
    for (const fn of distinctListeners(k)) target.addEventListener('orders.created', (e) => fn(e.detail));
    return {
      run(n) {
        for (let i = 0; i < n; i++) target.dispatchEvent(new CustomEvent('orders.created', { detail: { n: i } }));
      },
      dispose: noDispose,
    };
  },
};

// ---------------------------------------------------------------------------------------------
// app-polymorphic: one emit site, four topics in turn, four payload shapes.

function polyTopicNames() {
  return POLY_TOPICS.map((t) => t.topic);
}

/** A string-topic emitter's polymorphic case: `fire` is the one emit site. */
function polyCase(made, fire) {
  const lists = polyListeners();
  POLY_TOPICS.forEach(({ topic }, k) => lists[k].forEach((fn) => made.on(topic, fn)));
  const topics = polyTopicNames();
  let k = 0;
  return {
    run(n) {
      for (let i = 0; i < n; i++) {
        fire(topics[k], polyPayload(k, i));
        k = k + 1 === topics.length ? 0 : k + 1;
      }
    },
    dispose: made.dispose,
  };
}

const polymorphicImpls = {
  switchyard: (libs) => {
    const made = emitters.switchyard(libs);
    const bus = made.emitter;
    return polyCase(made, (topic, payload) => bus.publish(topic, payload));
  },
  eventemitter3: (libs) => {
    const made = emitters.eventemitter3(libs);
    const ee = made.emitter;
    return polyCase(made, (topic, payload) => ee.emit(topic, payload));
  },
  tseep: (libs) => {
    const made = emitters.tseep(libs);
    const ee = made.emitter;
    return polyCase(made, (topic, payload) => ee.emit(topic, payload));
  },
  mitt: (libs) => {
    const made = emitters.mitt(libs);
    const ee = made.emitter;
    return polyCase(made, (topic, payload) => ee.emit(topic, payload));
  },
  eventemitter2: (libs) => {
    const made = emitters.eventemitter2(libs);
    const ee = made.emitter;
    return polyCase(made, (topic, payload) => ee.emit(topic, payload));
  },
  'rxjs-subject': ({ peers }) => {
    // One Subject per topic, looked up by name at the one emit site.
    const subjects = Object.create(null);
    for (const topic of polyTopicNames()) subjects[topic] = new peers.Subject();
    const made = {
      on: (topic, fn) => subjects[topic].subscribe(fn),
      dispose: () => Object.values(subjects).forEach((s) => s.complete()),
    };
    return polyCase(made, (topic, payload) => subjects[topic].next(payload));
  },
  'event-target': () => {
    const target = new EventTarget();
    const made = {
      on: (topic, fn) => target.addEventListener(topic, (e) => fn(e.detail)),
      dispose: noDispose,
    };
    return polyCase(made, (topic, payload) => target.dispatchEvent(new CustomEvent(topic, { detail: payload })));
  },
};

// ---------------------------------------------------------------------------------------------
// app-cold: COLD_SITES sites, each its own function, topic and 3 listeners.

/** Subscribes 3 distinct listeners to each cold topic (a different trio for neighbouring topics). */
function subscribeCold(on) {
  coldTopics().forEach((topic, j) => distinctListeners(COLD_LISTENERS, j).forEach((fn) => on(topic, fn)));
}

/** Emits that visit every cold site twice (what the harness runs before calibrating). */
const COLD_WARM_OPS = 2 * COLD_SITES;

function coldStringCase(made) {
  subscribeCold(made.on);
  const emitter = made.emitter;
  return { run: coldRunner(coldSites(made.call), () => emitter), dispose: made.dispose, warmOps: COLD_WARM_OPS };
}

const coldImpls = {
  switchyard: (libs) => coldStringCase(emitters.switchyard(libs)),
  eventemitter3: (libs) => coldStringCase(emitters.eventemitter3(libs)),
  tseep: (libs) => coldStringCase(emitters.tseep(libs)),
  mitt: (libs) => coldStringCase(emitters.mitt(libs)),
  eventemitter2: (libs) => coldStringCase(emitters.eventemitter2(libs)),
  'rxjs-subject': ({ peers }) => {
    // A Subject per site (what an app would keep next to the code that emits).
    const subjects = coldTopics().map(() => new peers.Subject());
    subjects.forEach((subject, j) => distinctListeners(COLD_LISTENERS, j).forEach((fn) => subject.subscribe(fn)));
    return {
      run: coldRunner(coldSites('T.next(P)'), (j) => subjects[j]),
      dispose: () => subjects.forEach((s) => s.complete()),
      warmOps: COLD_WARM_OPS,
    };
  },
  'event-target': () => {
    const target = new EventTarget();
    subscribeCold((topic, fn) => target.addEventListener(topic, (e) => fn(e.detail)));
    return {
      run: coldRunner(coldSites('T.dispatchEvent(new CustomEvent(K, { detail: P }))'), () => target),
      dispose: noDispose,
      warmOps: COLD_WARM_OPS,
    };
  },
};

// ---------------------------------------------------------------------------------------------
// app-wildcard-1000: 1 000 patterns `svc<i>.*.created`, each with its own listener (10 different
// functions), each publish to the next of 1 000 topics `svc<j>.eu.created` with a fresh payload.

/** Patterns (and topics) of `app-wildcard-1000`. */
export const APP_WILDCARD_PATTERNS = 1000;

function appWildcardTopics() {
  // A stride coprime with the count visits every pattern in a scrambled order.
  return Array.from({ length: APP_WILDCARD_PATTERNS }, (_, i) => `svc${(i * 7) % APP_WILDCARD_PATTERNS}.eu.created`);
}

const appWildcardImpls = {
  switchyard: ({ switchyard }) => {
    const bus = new switchyard.EventBus();
    for (let i = 0; i < APP_WILDCARD_PATTERNS; i++) bus.subscribe(`svc${i}.*.created`, distinctListeners(1, i)[0]);
    const topics = appWildcardTopics();
    let next = 0;
    return {
      run(n) {
        for (let i = 0; i < n; i++) {
          bus.publish(topics[next], { n: i });
          next = next + 1 === topics.length ? 0 : next + 1;
        }
      },
      dispose: () => bus.close(),
      warmOps: 2 * APP_WILDCARD_PATTERNS,
    };
  },
  eventemitter2: ({ peers }) => {
    const ee = new peers.EventEmitter2({ wildcard: true, delimiter: '.', maxListeners: 0 });
    for (let i = 0; i < APP_WILDCARD_PATTERNS; i++) ee.on(`svc${i}.*.created`, distinctListeners(1, i)[0]);
    const topics = appWildcardTopics();
    let next = 0;
    return {
      run(n) {
        for (let i = 0; i < n; i++) {
          ee.emit(topics[next], { n: i });
          next = next + 1 === topics.length ? 0 : next + 1;
        }
      },
      dispose: noDispose,
      warmOps: 2 * APP_WILDCARD_PATTERNS,
    };
  },
};

/**
 * Adds the realistic cases through `add(name, impl, make)` (see `buildCases`). `features` are the
 * options that switch switchyard's trace ring and retry policy on.
 */
export function addAppCases(libs, add, features) {
  for (const k of APP_EMIT_LISTENER_COUNTS) {
    for (const [impl, make] of Object.entries(appEmitImpls)) add(`app-emit-${k}`, impl, () => make(libs, k));
  }
  for (const [impl, make] of Object.entries(polymorphicImpls)) add('app-polymorphic', impl, () => make(libs));
  for (const [impl, make] of Object.entries(coldImpls)) add('app-cold', impl, () => make(libs));
  for (const [impl, make] of Object.entries(appWildcardImpls)) add('app-wildcard-1000', impl, () => make(libs));
  add('app-features-3', 'switchyard+features', () => appEmitImpls.switchyard(libs, 3, features));
  add('app-features-3', 'switchyard', () => appEmitImpls.switchyard(libs, 3));
  add('app-features-3', 'eventemitter3', () => appEmitImpls.eventemitter3(libs, 3));
}

/**
 * Before the realistic cases are measured, every library's dispatch call sites see many different
 * listener functions, as in an app whose emitter serves many handlers over its lifetime: each
 * library delivers 10 distinct listeners and the polymorphic case's topics for a while. Without
 * this, the first cases of a run (1 and 3 listeners) would find call sites that had seen at most
 * 3 functions, which JIT compilers still inline (V8 up to 4 targets per site).
 */
export function makeSitesMegamorphic(libs, features) {
  const instances = [];
  for (const [impl, make] of Object.entries(appEmitImpls)) {
    if (impl === 'switchyard' && !libs.switchyard) continue;
    instances.push(make(libs, 10));
    if (impl === 'switchyard') instances.push(make(libs, 10, features));
  }
  for (const [impl, make] of Object.entries(polymorphicImpls)) {
    if (impl === 'switchyard' && !libs.switchyard) continue;
    instances.push(make(libs));
  }
  for (const instance of instances) {
    instance.run(2000);
    instance.dispose();
  }
  return instances.length;
}

/** Listener calls `run(n)` must make in a realistic case, or `undefined` for another case. */
export function appDeliveries(caseName, n) {
  const emit = /^app-(?:emit|features)-(\d+)$/.exec(caseName);
  if (emit) return n * Number(emit[1]);
  if (caseName === 'app-polymorphic') return polymorphicDeliveries(n);
  if (caseName === 'app-cold') return n * COLD_LISTENERS;
  if (caseName === 'app-wildcard-1000') return n;
  return undefined;
}

/**
 * The realistic throughput subject: 10 subscriptions (5 exact, 5 wildcard patterns for switchyard),
 * 10 different listener functions, a fresh payload per publish.
 */
export function appThroughputSubjects(libs, patterns, features) {
  const subjects = [];
  if (libs.switchyard) {
    const make = (options) => () => {
      const bus = new libs.switchyard.EventBus(options);
      distinctListeners(patterns.length).forEach((fn, i) => bus.subscribe(patterns[i], fn));
      return {
        publishMany(n) {
          for (let i = 0; i < n; i++) bus.publish('orders.eu.created', { n: i });
        },
        dispose: () => bus.close(),
      };
    };
    subjects.push({ case: 'app-throughput', impl: 'switchyard+features', make: make(features) });
    subjects.push({ case: 'app-throughput', impl: 'switchyard', make: make({}) });
  }
  subjects.push({
    case: 'app-throughput',
    impl: 'eventemitter3',
    make: () => {
      const ee = new libs.peers.EventEmitter3();
      for (const fn of distinctListeners(patterns.length)) ee.on('orders.eu.created', fn);
      return {
        publishMany(n) {
          for (let i = 0; i < n; i++) ee.emit('orders.eu.created', { n: i });
        },
        dispose: noDispose,
      };
    },
  });
  return subjects;
}
