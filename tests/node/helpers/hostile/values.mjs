// Hostile values for tests/node/hostile.test.mjs, each written as JavaScript source.
//
// A value is `{ src, effect }`: `src` is an expression evaluated in a case's scope (`bus`,
// `canary`, `sub`, `held`, `snap`, `other`, `EventBus`), so a failing case prints the exact code
// that ran. `effect` says what evaluating or reading it may do to the bus, which decides what
// the case may check afterwards: 'none' (a refusal must leave everything unchanged), 'mutate'
// (it publishes, subscribes, ... itself), 'close' or 'free' (the bus may legitimately end).

/** mulberry32: a small deterministic PRNG; `rng()` is in [0, 1). */
export function prng(seed) {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/** The PRNG of case `index` of a run with `seed` (cases are independent of each other). */
export function caseRng(seed, index) {
  let h = (seed ^ Math.imul(index + 1, 0x9e3779b1)) >>> 0;
  h = Math.imul(h ^ (h >>> 16), 0x85ebca6b) >>> 0;
  h = Math.imul(h ^ (h >>> 13), 0xc2b2ae35) >>> 0;
  return prng(h ^ (h >>> 16));
}

export const pick = (rng, list) => list[Math.floor(rng() * list.length)];
export const int = (rng, below) => Math.floor(rng() * below);

const v = (src, effect = 'none') => ({ src, effect });
const all = (srcs, effect) => srcs.map((src) => v(src, effect));

/** A proxy whose target is revoked (every operation on it throws a TypeError). */
export const REVOKED = '(() => { const r = Proxy.revocable({}, {}); r.revoke(); return r.proxy })()';
const REVOKED_FN = '(() => { const r = Proxy.revocable(() => {}, {}); r.revoke(); return r.proxy })()';
const REVOKED_ARRAY = '(() => { const r = Proxy.revocable([1], {}); r.revoke(); return r.proxy })()';
/** A proxy every trap of which throws. */
export const TRAPS = "new Proxy({}, new Proxy({}, { get: (_, trap) => () => { throw new Error('trap ' + String(trap)) } }))";
const TRAPS_FN = "new Proxy(() => {}, new Proxy({}, { get: (_, trap) => () => { throw new Error('trap ' + String(trap)) } }))";
const TRAPS_ARRAY = "new Proxy([1], new Proxy({}, { get: (_, trap) => () => { throw new Error('trap ' + String(trap)) } }))";

export const NUMBERS = all([
  '0', '-0', '-1', '1.5', '-1.5', 'NaN', 'Infinity', '-Infinity', '2 ** 31', '2 ** 31 - 1', '-(2 ** 31)',
  '2 ** 32', '2 ** 32 - 1', '2 ** 53', '2 ** 53 + 2', 'Number.MAX_SAFE_INTEGER', '1e308', 'Number.MIN_VALUE',
  '16777216', '16777217', '0.1 + 0.2', '-Number.MAX_VALUE',
]);

export const STRINGS = all([
  "''", "' '", "'\\t'", "'\\n'", "' canary.t'", "'canary.t '", "'canary. t'", "'\\ud800'", "'canary.\\udbff'",
  "'\\udc00x'", "'canary.t\\ud800'", "'a\\u0000b'", "'x'.repeat(300)", "'x.'.repeat(40) + 'x'", "'x'.repeat(100000)",
  "'__proto__'", "'constructor'", "'toString'", "'*'", "'**'", "'canary.*'", "'**.**'", "'a..b'", "'.'", "'a.'",
  "'\\u200b'", "'1'", "'NaN'", "'e\\u0301'", "'\\ufeffcanary.t'", "'canary.t\\r\\n'", "'\\u{1F600}'",
]);

export const PRIMITIVES = all([
  'undefined', 'null', 'true', 'false', "Symbol('s')", 'Symbol.iterator', '10n', '-1n', '2n ** 64n',
]);

export const OBJECTS = all([
  '{}', '[]', '[1, , 3]', 'Object.create(null)', 'Object.freeze({})', 'Object.freeze([1])', 'new Date(NaN)',
  'new Map([[1, 2]])', 'new Set([1])', '/re/g', 'new Uint8Array(4)', 'new ArrayBuffer(8)', 'Promise.resolve(1)',
  "new Error('e')", 'globalThis', 'new Array(2 ** 32 - 1)', '{ length: 2 ** 32 - 1 }', '{ length: -1 }',
  '{ length: Infinity, 0: 1 }', 'new Proxy([], {})', 'new Proxy({}, {})', 'Object.create(Array.prototype)',
  "new String('canary.t')", 'new Number(1)', 'new Boolean(false)', 'new WeakRef({})',
]);

export const FUNCTIONS = all([
  '() => {}', 'function () {}', 'async () => {}', 'class {}', 'function* () {}', 'async function* () {}',
  'Math.max', 'Function.prototype', 'Object.assign(() => {}, { then() {} })', '(() => {}).bind(null)',
]);

export const TRAPPED = all([
  REVOKED, REVOKED_FN, REVOKED_ARRAY, TRAPS, TRAPS_FN, TRAPS_ARRAY,
  "({ [Symbol.toPrimitive]() { throw new Error('toPrimitive') } })",
  "({ toString() { throw new Error('toString') } })",
  '({ toString() { return {} }, valueOf() { return {} } })',
  "Object.defineProperty([], 0, { get() { throw new Error('index getter') }, enumerable: true })",
  "({ get length() { throw new Error('length getter') } })",
]);

/** Values that act on the bus when the callee converts or inspects them. */
export const REENTRANT = [
  v("({ toString() { bus.close(); return 'canary.t' } })", 'close'),
  v("({ [Symbol.toPrimitive]() { bus.free(); return 1 } })", 'free'),
  v("({ get length() { bus.free(); return 1 }, 0: 1 })", 'free'),
  v("({ get length() { bus.close(); return 1 }, 0: 1 })", 'close'),
  v("new Proxy({}, { get() { bus.publish('canary.t', 'trap'); return undefined } })", 'mutate'),
  v("new Proxy({ a: 1 }, { ownKeys() { bus.close(); return [] } })", 'close'),
  v("new Proxy({ a: 1 }, { ownKeys() { bus.free(); return [] } })", 'free'),
  v("new Proxy([1], { get(t, k) { if (k === 'length') bus.subscribe('canary.t', () => {}); return Reflect.get(t, k) } })", 'mutate'),
];

/** Every value above: what any argument slot also gets besides its own hostile values. */
export const GENERIC = [...NUMBERS, ...STRINGS, ...PRIMITIVES, ...OBJECTS, ...FUNCTIONS, ...TRAPPED, ...REENTRANT];

/** Statements a re-entrant getter runs before returning a valid value, with their effect. */
export const ACTIONS = [
  v('bus.close()', 'close'),
  v('bus.free()', 'free'),
  v("bus.publish('canary.t', 'getter')", 'mutate'),
  v("bus.subscribe('canary.t', () => {})", 'mutate'),
  v('sub.unsubscribe()', 'mutate'),
  v('held.resume()', 'mutate'),
  v('bus.purgeDeadLetters()', 'mutate'),
  v('bus.redrive()', 'mutate'),
  v("sub.setDelivery({ batch: { size: 2 } })", 'mutate'),
  v('bus.snapshot(), bus.metrics(), bus.subscriptions()', 'none'),
  v("bus.on('*', () => {})", 'mutate'),
  v('EventBus.restore(snap).free()', 'none'),
  v("bus.stream('canary.t').next()", 'mutate'),
];

/** Functions given as handlers, filters or listeners that misbehave when they are called. */
export const CALLBACKS = [
  v('() => { bus.close() }', 'close'),
  v('() => { bus.free() }', 'free'),
  v("() => { throw new Error('callback') }", 'mutate'),
  v('() => { throw undefined }', 'mutate'),
  v("() => { throw Symbol('thrown') }", 'mutate'),
  v(`() => { throw ${REVOKED} }`, 'mutate'),
  v("() => { bus.publish('canary.t', 'again') }", 'mutate'),
  v("() => { bus.publish('x.y', 'again'); return true }", 'mutate'),
  v(`() => Promise.reject(${REVOKED})`, 'mutate'),
  v("() => ({ then() { throw new Error('then') } })", 'mutate'),
  v("() => ({ get then() { throw new Error('then getter') } })", 'mutate'),
  v(`() => ${REVOKED}`, 'mutate'),
  v("() => ({ [Symbol.toPrimitive]() { throw new Error('truthiness?') } })", 'mutate'),
  v('() => { sub.unsubscribe(); held.resume(); return 1 }', 'mutate'),
  v('() => { bus.snapshot(); bus.metrics(); return true }', 'none'),
  v("() => { bus.subscribe('canary.t', () => {}); return true }", 'mutate'),
  v("() => { EventBus.restore(bus.snapshot()).free(); return true }", 'none'),
];

/** Callbacks that republish the topic they were called for (an unbounded cascade). */
export const CASCADING = [
  v("() => { bus.publish('canary.t', 'loop'); return true }", 'mutate'),
];

/**
 * A hostile value for a slot: mostly the slot's own `hostile` values, else any generic one.
 * `own` values come first because they are the ones the slot must tell apart.
 */
export function hostileFor(rng, own = []) {
  if (own.length > 0 && rng() < 0.55) return pick(rng, own);
  return pick(rng, GENERIC);
}

export const effects = (...values) => {
  const order = ['none', 'mutate', 'close', 'free'];
  return values.reduce((worst, e) => (order.indexOf(e) > order.indexOf(worst) ? e : worst), 'none');
};

export { v as value };
