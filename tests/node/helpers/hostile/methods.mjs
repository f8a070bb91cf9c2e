// The table of the package's public methods for tests/node/hostile.test.mjs: each method's
// argument slots (valid values and the hostile values that slot must refuse or survive) and the
// result its documentation promises. A case makes one slot hostile and keeps the others valid,
// so every failure is a minimal reproduction.

import {
  ACTIONS, CALLBACKS, CASCADING, FUNCTIONS, GENERIC, NUMBERS, OBJECTS, PRIMITIVES, REENTRANT, REVOKED, STRINGS, TRAPPED,
  TRAPS, effects, hostileFor, int, pick, value,
} from './values.mjs';

// ---- slots ---------------------------------------------------------------------------------

/** A slot: `valid` sources (the first is the default) and its own `hostile` values. */
const slot = (valid, hostile = []) => ({ valid, hostile });
const strs = (...list) => list.map((s) => value(s));

const count = (...valid) => slot(valid, strs("'2'", '[2]', '{ valueOf() { return 2 } }', '2n', '1.0000001', 'true', "new Number(2)"));
const ms = () => count('0', '10', '1000');
const bool = () => slot(['true', 'false'], strs('1', '0', "'true'", "'false'", 'new Boolean(false)'));
const oneOf = (...names) => slot(names.map((n) => `'${n}'`), strs(...names.map((n) => `'${n.toUpperCase()}'`), ...names.map((n) => `' ${n}'`)));
const text = (...valid) => slot(valid, []);
const callback = (valid = '() => true') => slot([valid], [...CALLBACKS, ...FUNCTIONS]);
/** An options object slot: `keys` maps each known option to its slot; `base` is always given. */
const options = (keys, base = {}, validSrc) => ({ keys, base, valid: [validSrc ?? render(base)], options: true });

const RETRY = options({ attempts: count('1', '3'), backoffMs: ms(), maxBackoffMs: ms(), factor: count('1', '2', '1.5'), jitter: slot(['true', "'full'", "'none'", '0.5', 'false'], strs('2', '-0.5', "'half'")) }, {}, '{ attempts: 2 }');
const BUS_KEYS = {
  capacity: count('1', '1024', '16777216'),
  overflow: oneOf('reject', 'drop-oldest', 'drop-newest'),
  retry: RETRY,
  deadLetterCapacity: count('0', '1', '1000'),
  maxListeners: count('0', '1', '100'),
  traceCapacity: count('0', '1', '4096'),
  maxCascadeDepth: count('0', '1', '32'),
  timeoutMs: ms(),
  retain: count('0', '1', '8'),
  maxTopics: count('1', '10', '10000'),
  idleAfterMs: slot(['1', '10', '1000'], strs('0', '-1', "'10'", '[10]', '10n', 'true')),
  trendWindowMs: slot(['1', '10', '1000'], strs('0', '-1', "'10'", '[10]', '10n', 'true')),
  trendWindows: count('1', '5'),
  captureStacks: bool(),
  clock: oneOf('manual', 'real'),
};
const DELIVERY = slot(["'immediate'", '{ batch: { size: 2 } }', '{ batch: { size: 1, maxWaitMs: 0 } }'], [
  ...strs("'batch'", "'batched'", '{ batch: 2 }', '{ batch: null }', '{ batchx: {} }', '{ batch: { size: 2 }, extra: 1 }'),
  ...['0', '-1', 'NaN', '2 ** 32', '1.5', "'2'", REVOKED, TRAPS].map((n) => value(`{ batch: { size: ${n} } }`)),
  ...['-1', 'NaN', 'Infinity', '2 ** 53', "'1'", REVOKED].map((n) => value(`{ batch: { size: 2, maxWaitMs: ${n} } }`)),
  value(`{ batch: ${REVOKED} }`),
  value("{ get batch() { bus.free(); return { size: 2 } } }", 'free'),
  value("{ batch: { get size() { bus.close(); return 2 } } }", 'close'),
]);
const SIGNAL = slot(['new AbortController().signal', 'AbortSignal.abort()'], [
  value("{ aborted: false, addEventListener() { throw new Error('add') }, removeEventListener() {} }"),
  value("{ get aborted() { throw new Error('aborted getter') }, addEventListener() {} }"),
  value("{ get aborted() { bus.close(); return false }, addEventListener() {}, removeEventListener() {} }", 'close'),
  value("{ get aborted() { bus.free(); return false }, addEventListener() {}, removeEventListener() {} }", 'free'),
  value("{ aborted: 'no', addEventListener() {} }"),
  value('new EventTarget()'),
  value("AbortSignal.abort(" + REVOKED + ')'),
  value("Object.create(AbortSignal.prototype)"),
]);
const SUBSCRIBE_KEYS = {
  priority: count('0', '1', '-5'),
  once: bool(),
  filter: callback(),
  capacity: count('1', '64'),
  overflow: oneOf('reject', 'drop-oldest', 'drop-newest'),
  delivery: DELIVERY,
  concurrency: count('1', '4'),
  ordering: oneOf('strict', 'relaxed'),
  retry: RETRY,
  timeoutMs: ms(),
  breaker: options({ failures: count('1', '5'), cooldownMs: ms() }, {}, '{ failures: 2 }'),
  group: text("'g'"),
  replay: count('0', '1', '2'),
  name: text("'n'"),
  owner: slot(['{}', 'globalThis'], []),
  weak: bool(),
  signal: SIGNAL,
};
const PATTERN = slot(["'canary.t'", "'canary.*'", "'**'"], [...STRINGS, ...REENTRANT]);
/** waitFor / stream wait on a topic nobody publishes, so closing the bus must end the wait. */
const WAIT_PATTERN = slot(["'w.t'", "'w.*'"], PATTERN.hostile);
const TOPIC = slot(["'canary.t'", "'nobody.here'"], [...STRINGS, ...REENTRANT]);
const HANDLER = slot(['() => {}'], [...CALLBACKS, ...CASCADING, ...FUNCTIONS]);
const ANY = slot(['1'], []);
const PAYLOAD = slot(['1'], [...GENERIC]);
const NONE = slot(['undefined'], []);
const HEADERS = slot(["{ a: 'b' }", '{}'], strs(
  '{ a: 1 }', "{ a: '\\ud800' }", "{ '\\ud800': 'x' }", "{ '': 'x' }", "{ a: 'x'.repeat(100000) }",
  "Object.fromEntries(Array.from({ length: 65 }, (_, i) => ['h' + i, 'v']))", "{ [Symbol('s')]: 'x' }",
  "{ a: { toString() { return 'b' } } }", "Object.create({ inherited: 'x' })", "new Map([['a', 'b']])",
  "{ get a() { throw new Error('header getter') } }", "{ a: null }", "{ a: undefined }", "[['a', 'b']]",
));
const RESTORE_HANDLERS = slot(['{ canary: () => {} }', "{ canary: { handler: () => {}, filter: () => true } }", '{}'], [
  ...strs('{ canary: 5 }', '{ canary: { handler: 5 } }', '{ canary: { handler: () => {}, filter: 5 } }', '{ canary: {} }',
    '{ nobody: () => {} }', '{ 0: () => {} }', `{ canary: ${REVOKED} }`, `{ canary: { handler: ${REVOKED} } }`,
    "{ canary: { handler: () => {}, extra: 1 } }", "{ get canary() { throw new Error('handlers getter') } }"),
  value("{ get canary() { bus.free(); return () => {} } }", 'free'),
  ...CALLBACKS.map((c) => value(`{ canary: ${c.src}, x: ${c.src} }`, c.effect)),
]);
const IDS = slot(['undefined', 'bus.deadLetters().map((d) => d.id)', '[]'], strs(
  '[1.5]', '[-1]', '[NaN]', '[2 ** 53]', '[2 ** 32]', "['1']", '[1n]', '[null]', '[1, , 2]', 'new Array(2 ** 32 - 1)',
  'Object.assign([], { length: 2 ** 32 - 1 })', '{ length: 2 ** 32 - 1 }', `[${REVOKED}]`, 'new Set([1])',
  'new Uint32Array([1, 2])', 'new Float64Array([NaN])', 'Array(100000).fill(1)', "[{ valueOf() { bus.free(); return 1 } }]",
));
const KIND = slot(["'delivered'", "'*'", "'published'", "'subscriber_added'"], strs("'nope'", "'Delivered'", "'delivered '", "'dead_lettered'", "'**'"));
const LISTENER = slot(['() => {}'], [...CALLBACKS, value("() => { bus.publish('canary.t', 'from listener') }", 'mutate'), ...FUNCTIONS]);
const NAME = slot(["'hostile-test'"], [...STRINGS]);
const MS = slot(['0', '5', '1000'], []);
const WAIT_KEYS = { signal: SIGNAL, timeoutMs: ms(), filter: callback() };
const STREAM_KEYS = {
  capacity: count('1', '8'), overflow: oneOf('reject', 'drop-oldest', 'drop-newest'), filter: callback(), priority: count('0', '2'),
  name: text("'s'"), group: text("'g'"), replay: count('0', '1'), signal: SIGNAL,
};
const SNAPSHOT = { snapshot: true, valid: ['snap', 'structuredClone(snap)', 'Object.freeze(snap)'], hostile: [] };

// ---- methods -------------------------------------------------------------------------------

const isInt = (n) => Number.isSafeInteger(n) && n >= 0;
const expect = {
  bus: (r, k) => (r instanceof k.EventBus ? null : 'not an EventBus'),
  subscription: (r, k) => (r instanceof k.Subscription && isInt(r.id) ? null : 'not a Subscription'),
  published: (r) => (r && isInt(r.id) && isInt(r.seq) && isInt(r.matched) ? null : `not { id, seq, matched }: ${String(r)}`),
  promise: (r) => (r instanceof Promise ? null : 'not a Promise'),
  iterator: (r, k) => (r && typeof r.next === 'function' && r.subscription instanceof k.Subscription ? null : 'not a stream'),
  boolean: (r) => (typeof r === 'boolean' ? null : `not a boolean: ${String(r)}`),
  number: (r) => (typeof r === 'number' && Number.isFinite(r) ? null : `not a finite number: ${String(r)}`),
  count: (r) => (isInt(r) ? null : `not a count: ${String(r)}`),
  nothing: (r) => (r === undefined ? null : `returned ${String(r)}`),
  array: (r) => (Array.isArray(r) ? null : 'not an array'),
  function: (r) => (typeof r === 'function' ? null : 'not a function'),
  metrics: (r) => (r && typeof r.totals === 'object' && isInt(r.totals.published) ? null : 'not Metrics'),
  trace: (r) => (r && Array.isArray(r.events) && isInt(r.cursor) && isInt(r.missed) ? null : 'not a TraceBatch'),
  snapshot: (r) => (r && r.format === 'switchyard.snapshot' && r.bytes instanceof Uint8Array && Array.isArray(r.payloads) ? null : 'not a BusSnapshot'),
  maybeSubscription: (r, k) => (r === undefined || r instanceof k.Subscription ? null : 'neither undefined nor a Subscription'),
  stats: (r) => (r === null || (typeof r === 'object' && isInt(r.id)) ? null : 'neither null nor SubscriptionInfo'),
  any: () => null,
};

const m = (name, call, args, result, extra = {}) => ({ name, call, args, result, ...extra });
const busMethod = (name, args, result, extra) => m(name, (a) => `bus.${name}(${a.join(', ')})`, args, result, extra);

/**
 * Every public method. `call` renders the call from its argument sources; `closes` says the
 * method itself legitimately ends the bus; `async` that it answers a promise to settle.
 */
export const METHODS = [
  m('new EventBus', (a) => `new EventBus(${a[0]})`, [options(BUS_KEYS, { clock: "'manual'" })], expect.bus, { owns: true }),
  busMethod('subscribe', [PATTERN, HANDLER, options(SUBSCRIBE_KEYS)], expect.subscription),
  busMethod('publish', [TOPIC, PAYLOAD, options({ headers: HEADERS, correlationId: text("'c'"), ttlMs: ms() })], expect.published),
  busMethod('waitFor', [WAIT_PATTERN, options(WAIT_KEYS)], expect.promise, { async: true }),
  busMethod('stream', [WAIT_PATTERN, options(STREAM_KEYS)], expect.iterator, { stream: true }),
  busMethod('idle', [NONE], expect.promise, { async: true }),
  busMethod('isIdle', [NONE], expect.boolean),
  busMethod('now', [NONE], expect.number),
  busMethod('advance', [MS], expect.nothing),
  busMethod('metrics', [NONE], expect.metrics),
  busMethod('subscriptions', [NONE], expect.array),
  busMethod('getSubscription', [slot(['sub.id', 'held.id', '12345'], strs('sub', "String(sub.id)", 'sub.id + 0.5', '-sub.id', '2 ** 53'))], expect.maybeSubscription),
  busMethod('deadLetters', [NONE], expect.array),
  busMethod('redrive', [IDS], expect.count),
  busMethod('purgeDeadLetters', [NONE], expect.count),
  busMethod('leaks', [NONE], expect.array),
  busMethod('trace', [slot(['undefined', '0', '3'], [])], expect.trace),
  busMethod('on', [KIND, LISTENER], expect.function, { remover: true }),
  busMethod('expose', [NAME], expect.function, { remover: true }),
  busMethod('snapshot', [NONE], expect.snapshot),
  m('EventBus.restore', (a) => `EventBus.restore(${a.join(', ')})`, [SNAPSHOT, options({ ...BUS_KEYS, handlers: RESTORE_HANDLERS }, { clock: "'manual'" })], expect.bus, { owns: true }),
  busMethod('close', [NONE], expect.nothing, { closes: 'close' }),
  m('[Symbol.dispose]', (a) => `bus[Symbol.dispose](${a[0]})`, [NONE], expect.nothing, { closes: 'close' }),
  busMethod('free', [NONE], expect.nothing, { closes: 'free' }),
  m('closed', () => 'bus.closed', [], expect.boolean),
  m('sub.unsubscribe', (a) => `sub.unsubscribe(${a[0]})`, [NONE], expect.boolean),
  m('sub.pause', (a) => `sub.pause(${a[0]})`, [NONE], expect.boolean),
  m('sub.resume', (a) => `held.resume(${a[0]})`, [NONE], expect.boolean),
  m('sub.setDelivery', (a) => `sub.setDelivery(${a[0]})`, [DELIVERY], expect.boolean),
  m('sub.flush', (a) => `sub.flush(${a[0]})`, [NONE], expect.boolean),
  m('sub.stats', (a) => `sub.stats(${a[0]})`, [NONE], expect.stats),
  m('sub[Symbol.dispose]', (a) => `sub[Symbol.dispose](${a[0]})`, [NONE], expect.nothing),
  m('sub.free', (a) => `sub.free(${a[0]})`, [NONE], expect.nothing),
  m('sub.active', () => 'sub.active', [], expect.boolean),
  m('getSubscription().pause', (a) => `bus.getSubscription(held.id)?.pause(${a[0]})`, [NONE], (r) => (r === undefined ? null : expect.boolean(r))),
];

// ---- generating one case -------------------------------------------------------------------

function render(entries) {
  const parts = Object.entries(entries).map(([k, src]) => (k.startsWith('get ') ? src : `${k}: ${src}`));
  return parts.length === 0 ? '{}' : `{ ${parts.join(', ')} }`;
}

/** A hostile value for an options slot: the whole object, one option, or a getter. */
function hostileOptions(rng, spec) {
  const keys = Object.keys(spec.keys);
  const key = pick(rng, keys);
  const keySlot = spec.keys[key];
  const base = Object.fromEntries(Object.entries(spec.base).filter(([k]) => k !== key));
  const validOf = (s) => pick(rng, s.valid);
  const roll = rng();
  if (roll < 0.12) {
    const whole = [
      ...GENERIC.filter((g) => g.src !== 'undefined' && g.src !== 'null' && g.src !== '{}'),
      value(`Object.create({ ${key}: ${validOf(keySlot)} })`),
      value(`Object.freeze(${render({ ...base, [key]: validOf(keySlot) })})`),
      value(`Object.defineProperty(${render(base)}, '${key}', { value: ${validOf(keySlot)}, enumerable: false })`),
      value(`${render({ ...base, [`[Symbol('${key}')]`]: '1' })}`),
      value(`${render({ ...base, [`${key}x`]: validOf(keySlot) })}`),
      value(`new Proxy(${render({ ...base, [key]: validOf(keySlot) })}, { get() { throw new Error('options get trap') } })`),
      value(`new Proxy(${render({ ...base, [key]: validOf(keySlot) })}, { getOwnPropertyDescriptor() { throw new Error('descriptor trap') } })`),
    ];
    return pick(rng, whole);
  }
  if (roll < 0.55) {
    const v = generateSlot(rng, keySlot);
    return value(render({ ...base, [key]: v.src }), v.effect);
  }
  if (roll < 0.67) {
    return value(render({ ...base, [`get ${key}`]: `get ${key}() { throw new Error('option getter') }` }));
  }
  if (roll < 0.88) {
    const action = pick(rng, ACTIONS);
    return value(render({ ...base, [`get ${key}`]: `get ${key}() { ${action.src}; return ${validOf(keySlot)} }` }), action.effect);
  }
  // A valid edge value: accepted, or refused with a SwitchyardError.
  return value(render({ ...base, [key]: validOf(keySlot) }));
}

/** Snapshot mutations: bit flips, truncations, appended bytes, wrong types in each field. */
function hostileSnapshot(rng, info) {
  const n = info.snapLength;
  const at = () => (rng() < 0.4 ? int(rng, Math.min(n, 24)) : int(rng, n));
  const withBytes = (body) => value(`(() => { const b = snap.bytes.slice(); ${body}; return { ...snap, bytes: b } })()`);
  const kinds = [
    () => withBytes(`b[${at()}] ^= ${1 << int(rng, 8)}`),
    () => withBytes(`b[${at()}] ^= ${1 << int(rng, 8)}; b[${at()}] ^= ${1 << int(rng, 8)}`),
    () => withBytes(`b[${at()}] = ${pick(rng, [0, 0xff, 0x7f, 0x80, int(rng, 256)])}`),
    () => value(`{ ...snap, bytes: snap.bytes.slice(0, ${int(rng, n)}) }`),
    () => value(`{ ...snap, bytes: Uint8Array.of(...snap.bytes, ${Array.from({ length: 1 + int(rng, 6) }, () => int(rng, 256)).join(', ')}) }`),
    () => value(`{ ...snap, bytes: Uint8Array.of(...snap.bytes.slice(0, ${at()}), ${int(rng, 256)}, ...snap.bytes.slice(${at()})) }`),
    () => { const i = at(); return value(`{ ...snap, bytes: Uint8Array.of(...snap.bytes.slice(0, ${i}), ...snap.bytes.slice(${i + 1})) }`); },
    () => value(`{ ...snap, version: ${pick(rng, [...NUMBERS, ...STRINGS.slice(0, 4), ...PRIMITIVES]).src} }`),
    () => value(`{ ...snap, format: ${pick(rng, ["'switchyard.snapshot '", "'Switchyard.snapshot'", 'undefined', REVOKED, "'switchyard.\\ud800'"])} }`),
    () => value(`{ ...snap, payloads: ${pick(rng, ['snap.payloads.slice(0, -1)', '[...snap.payloads, 1]', '[]', 'new Array(2 ** 32 - 1)', '{ length: 2 ** 32 - 1 }', REVOKED, TRAPS, '[, , ,]', 'Object.freeze([...snap.payloads])', '{ ...snap.payloads }', 'new Set(snap.payloads)'])} }`),
    () => value(`{ ...snap, bytes: ${pick(rng, [
      'Array.from(snap.bytes)', 'snap.bytes.buffer', 'new DataView(snap.bytes.buffer)', 'Buffer.from(snap.bytes)',
      'new Uint8ClampedArray(snap.bytes)', 'new Int8Array(snap.bytes)', 'new Uint16Array(snap.bytes)',
      'new Uint8Array([0, ...snap.bytes]).subarray(1)', 'new Proxy(snap.bytes, {})', REVOKED, TRAPS,
      '(() => { const b = snap.bytes.slice(); structuredClone(b.buffer, { transfer: [b.buffer] }); return b })()',
      '(() => { const b = new Uint8Array(new SharedArrayBuffer(snap.bytes.length)); b.set(snap.bytes); return b })()',
      'new Uint8Array(0)', 'new Uint8Array(1 << 20)', '{ length: snap.bytes.length, ...snap.bytes }',
    ])} }`),
    () => pick(rng, [
      value("new Proxy(snap, { get(t, k) { bus.free(); return t[k] } })", 'free'),
      value("new Proxy(snap, { get(t, k) { bus.publish('canary.t', 'p'); return t[k] } })", 'mutate'),
      value("{ ...snap, get bytes() { throw new Error('bytes getter') } }"),
      value("{ ...snap, get payloads() { bus.close(); return snap.payloads } }", 'close'),
      value('Object.create(snap)'),
      value('{ ...snap, extra: 1 }'),
      value('{ format: snap.format, version: snap.version }'),
    ]),
  ];
  return pick(rng, kinds)();
}

function generateSlot(rng, s, info) {
  if (s.snapshot) return hostileSnapshot(rng, info);
  if (s.options) return rng() < 0.85 ? hostileOptions(rng, s) : hostileFor(rng, []);
  return hostileFor(rng, s.hostile);
}

const validSlot = (s) => s.valid[0];

/** Methods with real arguments are drawn 6 times as often as those that take none. */
const weightOf = (method) => (method.args.some((s) => s !== NONE) ? 6 : 1);
function weighted(rng, methods) {
  const total = methods.reduce((sum, x) => sum + weightOf(x), 0);
  let at = rng() * total;
  for (const method of methods) {
    at -= weightOf(method);
    if (at < 0) return method;
  }
  return methods[methods.length - 1];
}

/**
 * Case `rng` over `methods`: one method, one hostile slot (`slot`, else a random one; a
 * method without arguments gets a hostile extra argument), the other slots valid.
 */
export function generateCase(rng, info, { methods = METHODS, slot: only } = {}) {
  const method = weighted(rng, methods);
  const args = method.args.map(validSlot);
  let effect = 'none';
  if (method.args.length > 0) {
    const index = only ?? int(rng, method.args.length);
    const s = method.args[index];
    const hostile = s === NONE ? hostileFor(rng, []) : generateSlot(rng, s, info);
    args[index] = hostile.src;
    effect = hostile.effect;
  }
  // Trailing `undefined`s are the same call without them: drop them for a shorter repro.
  while (args.length > 0 && args[args.length - 1] === 'undefined') args.pop();
  return { method, src: method.call(args), effect: effects(effect) };
}

/** The restore cases only, all on mutated snapshots. */
export const RESTORE = METHODS.find((x) => x.name === 'EventBus.restore');

/** Receivers that are not a live bus, for `EventBus.prototype[name].call(receiver, ...)`. */
export const RECEIVERS = [
  '{}', 'null', 'undefined', 'Object.create(EventBus.prototype)', 'sub', REVOKED, TRAPS, 'canary',
  '(() => { const b = new EventBus({ clock: "manual" }); b.free(); return b })()',
];
