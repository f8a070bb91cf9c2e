// Hostile cases that are whole scripts rather than one call: named regressions for each class
// of issue #18, lone-surrogate topic pairs, and the random-operations soak. A script is an async
// function body over `EventBus`, `SwitchyardError` and the helpers below; it returns `null` or a
// problem string, so its source is its own reproduction.

import { describe as describeThrown, within } from './checks.mjs';
import { caseRng, int, pick } from './values.mjs';

const AsyncFunction = (async () => {}).constructor;
const SCRIPT_SCOPE = ['EventBus', 'SwitchyardError', 'within', 'show', 'refusedWith', 'ticks'];

/** A settled `within()` result or a thrown value, in words. */
function show(result) {
  if (result && typeof result === 'object' && 'status' in result) {
    if (result.status === 'timeout') return 'still pending';
    return `${result.status} with ${result.status === 'rejected' ? describeThrown(result.value) : safeJson(result.value)}`;
  }
  return describeThrown(result);
}
function safeJson(value) {
  try {
    return JSON.stringify(value) ?? String(value);
  } catch {
    return String(value);
  }
}

/** Runs `script` (an async function body); answers its problem, or null. */
export async function runScript(pkg, src) {
  const { EventBus, SwitchyardError } = pkg;
  const refusedWith = (fn, code) => {
    try {
      fn();
      return `returned instead of throwing ${code}`;
    } catch (error) {
      if (error instanceof SwitchyardError && error.code === code) return null;
      return `threw ${describeThrown(error)}, expected a SwitchyardError ${code}`;
    }
  };
  const ticks = async (n = 3) => {
    for (let i = 0; i < n; i++) await new Promise((resolve) => setImmediate(resolve));
  };
  let fn;
  try {
    fn = new AsyncFunction(...SCRIPT_SCOPE, src);
  } catch (error) {
    return `test bug: does not compile: ${describeThrown(error)}`;
  }
  try {
    const problem = await within(fn(EventBus, SwitchyardError, within, show, refusedWith, ticks), 2500);
    if (problem.status === 'timeout') return 'the script did not finish within 2.5 s';
    if (problem.status === 'rejected') return `the script threw ${describeThrown(problem.value)}`;
    return problem.value ?? null;
  } catch (error) {
    return `the script threw ${describeThrown(error)}`;
  }
}

// ---- named regressions ---------------------------------------------------------------------

/** A script: `setup`, then `trigger`, which frees the bus (`free()` records what it threw). */
const closedAfter = (setup, trigger) => `const bus = new EventBus({ clock: 'manual' });
const thrownByFree = [];
const free = () => { try { bus.free() } catch (e) { thrownByFree.push(e); throw e } };
${setup}
let thrown;
try { ${trigger} } catch (e) { thrown = e }
if (thrownByFree.length > 0) return 'free() threw ' + show(thrownByFree[0]);
if (thrown !== undefined && !(thrown instanceof SwitchyardError)) return 'the call threw ' + show(thrown);
return refusedWith(() => bus.publish('a', 1), 'E_CLOSED') ?? refusedWith(() => bus.metrics(), 'E_CLOSED');`;

/** `[name, script]`: each known failure class as a script that returns its problem. */
export const SCRIPTS = [
  ['waitFor settles with E_CLOSED when the bus closes', `const bus = new EventBus({ clock: 'manual' });
const p = bus.waitFor('w.t');
bus.close();
const r = await within(p, 1000);
return r.status === 'rejected' && r.value instanceof SwitchyardError && r.value.code === 'E_CLOSED' ? null : 'waitFor after close(): ' + show(r);`],
  ['waitFor settles with E_CLOSED when the bus is freed', `const bus = new EventBus({ clock: 'manual' });
const p = bus.waitFor('w.t');
bus.free();
const r = await within(p, 1000);
return r.status === 'rejected' && r.value instanceof SwitchyardError && r.value.code === 'E_CLOSED' ? null : 'waitFor after free(): ' + show(r);`],
  ['a waiting stream.next() ends when the bus closes', `const bus = new EventBus({ clock: 'manual' });
const it = bus.stream('w.t');
const next = it.next();
bus.close();
const r = await within(next, 1000);
return r.status === 'fulfilled' && r.value.done === true ? null : 'stream.next() after close(): ' + show(r);`],
  ['a waiting stream.next() ends when its subscription is unsubscribed', `const bus = new EventBus({ clock: 'manual' });
const it = bus.stream('w.t');
const next = it.next();
it.subscription.unsubscribe();
const r = await within(next, 1000);
return r.status === 'fulfilled' && r.value.done === true ? null : 'stream.next() after unsubscribe(): ' + show(r);`],
  ['a for-await loop over a stream ends when the bus closes from a handler', `const bus = new EventBus({ clock: 'manual' });
bus.subscribe('w.t', () => bus.close());
const seen = [];
const loop = (async () => { for await (const item of bus.stream('w.*')) seen.push(item.payload) })();
await ticks();
bus.publish('w.t', 1);
const r = await within(loop, 1000);
return r.status === 'fulfilled' ? null : 'for await after close(): ' + show(r);`],
  ['a filter that publishes its own topic cannot loop forever', `const bus = new EventBus({ clock: 'manual' });
bus.subscribe('r', () => {}, { filter: () => { bus.publish('r', 1); return true } });
try { bus.publish('r', 0) } catch (e) { if (!(e instanceof SwitchyardError)) return 'publish threw ' + show(e) }
return null; // Reaching this line is the test: it used to never return.`],
  ["an on('delivered') listener that publishes cannot loop forever", `const bus = new EventBus({ clock: 'manual' });
bus.subscribe('r', () => {});
bus.on('delivered', () => bus.publish('r', 1));
try { bus.publish('r', 0) } catch (e) { if (!(e instanceof SwitchyardError)) return 'publish threw ' + show(e) }
return null;`],
  ["an on('published') listener that publishes cannot loop forever", `const bus = new EventBus({ clock: 'manual' });
bus.on('published', () => bus.publish('r', 1));
try { bus.publish('r', 0) } catch (e) { if (!(e instanceof SwitchyardError)) return 'publish threw ' + show(e) }
return null;`],
  ['after free() every call throws a SwitchyardError E_CLOSED', closedAfter('', 'free()')],
  ['free() from a queued handler frees the bus', closedAfter("bus.on('*', () => {});\nbus.subscribe('a', () => free());", "bus.publish('a', 0)")],
  ['free() from a handler on the fast path frees the bus', closedAfter("bus.subscribe('a', () => free());", "bus.publish('a', 0)")],
  ['free() from a filter frees the bus', closedAfter("bus.subscribe('a', () => {}, { filter: () => { free(); return true } });", "bus.publish('a', 0)")],
  ['free() from a batch handler frees the bus', closedAfter("const s = bus.subscribe('a', () => free(), { delivery: { batch: { size: 5 } } });\nbus.publish('a', 0);", 's.flush()')],
  ['free() from a retried handler frees the bus', closedAfter("let n = 0;\nbus.subscribe('a', () => { if (n++ === 0) throw new Error('first'); free() }, { retry: { attempts: 2, backoffMs: 5 } });\nbus.publish('a', 0);", 'bus.advance(10)')],
  ['free() from an option getter frees the bus', closedAfter('', "bus.subscribe('a', () => {}, { get priority() { free(); return 1 } })")],
  ['free() from a publish option getter frees the bus', closedAfter('', "bus.publish('a', 1, { get headers() { free(); return {} } })")],
  ['free() from a waitFor filter frees the bus', closedAfter("bus.waitFor('a', { filter: () => { free(); return true } }).catch(() => {});", "bus.publish('a', 0)")],
  ["free() from an on('delivered') listener frees the bus", closedAfter("bus.subscribe('a', () => {});\nbus.on('delivered', () => free());", "bus.publish('a', 0)")],
  ['a priority getter that closes the bus does not subscribe', `const bus = new EventBus({ clock: 'manual' });
let sub;
try { sub = bus.subscribe('a', () => {}, { get priority() { bus.close(); return 1 } }) } catch (e) { return e instanceof SwitchyardError && e.code === 'E_CLOSED' ? null : 'threw ' + show(e) }
return sub.active ? 'an active subscription on a closed bus' : null;`],
  ['a headers getter that closes the bus does not publish', `const bus = new EventBus({ clock: 'manual' });
try { bus.publish('a', 1, { get headers() { bus.close(); return {} } }) } catch (e) { return e instanceof SwitchyardError && e.code === 'E_CLOSED' ? null : 'threw ' + show(e) }
return bus.metrics().totals.published === 0 ? null : 'counted as published on a closed bus';`],
  ['a bus restores from its own snapshot with a full queue behind a pending delivery', `const bus = new EventBus({ clock: 'manual' });
bus.subscribe('t', () => new Promise(() => {}), { name: 's', capacity: 2 });
for (let i = 0; i < 3; i++) { try { bus.publish('t', i) } catch (e) { if (e.code !== 'E_BACKPRESSURE') throw e } }
try { EventBus.restore(bus.snapshot()).free() } catch (e) { return 'restore(bus.snapshot()) threw ' + show(e) }
return null;`],
  ['a bus restores from its own snapshot while a failed delivery waits for its retry', `const bus = new EventBus({ clock: 'manual' });
bus.subscribe('t', () => Promise.reject(new Error('no')), { name: 's', capacity: 2, concurrency: 2, retry: { attempts: 3, backoffMs: 50 } });
for (let i = 0; i < 4; i++) { try { bus.publish('t', i) } catch (e) { if (e.code !== 'E_BACKPRESSURE') throw e } await ticks(1) }
await ticks();
try { EventBus.restore(bus.snapshot()).free() } catch (e) { return 'restore(bus.snapshot()) threw ' + show(e) }
return null;`],
  ['every matched delivery is accounted for with a batch in flight', `const bus = new EventBus({ clock: 'manual' });
bus.subscribe('b', () => new Promise(() => {}), { delivery: { batch: { size: 2 } } });
const matched = bus.publish('b', 1).matched + bus.publish('b', 2).matched;
await ticks();
const m = bus.metrics();
const t = m.totals;
const sum = t.delivered + t.filtered + t.dropped + t.deadLettered + m.queued + m.inFlight;
return sum === matched ? null : 'matched ' + matched + ' but delivered + filtered + dropped + deadLettered + queued + inFlight = ' + sum;`],
  ['a subscriber on a lone high surrogate does not receive another lone surrogate', `const bus = new EventBus({ clock: 'manual' });
const got = [];
try { bus.subscribe('s.\\ud800', (p, m) => got.push(m.topic)) } catch (e) { return e instanceof SwitchyardError ? null : 'threw ' + show(e) }
try { bus.publish('s.\\udbff', 1) } catch (e) { return e instanceof SwitchyardError ? null : 'threw ' + show(e) }
return got.length === 0 ? null : 'a publish to s.\\\\udbff reached the subscriber of s.\\\\ud800';`],
];

// ---- topics that must stay distinct ---------------------------------------------------------

const SEGMENTS = [
  "'\\ud800'", "'\\udbff'", "'\\udc00'", "'\\udfff'", "'\\ufffd'", "'\\ud800\\udc00'", "'x\\ud800'", "'x\\udc00'",
  "'e\\u0301'", "'\\u00e9'", "'a'", "'a '", "' a'", "'a\\u00a0'", "'a\\u200b'", "'a\\u0000'", "'A'", "'\\uff41'",
  "'a\\t'", "'\\u{1F600}'",
];

/** Topic pair `index`: a subscriber on one topic, a publish on another (or the same). */
export function topicScript(seed, index) {
  const rng = caseRng(seed, index);
  const a = pick(rng, SEGMENTS);
  const b = rng() < 0.3 ? a : pick(rng, SEGMENTS);
  return `const bus = new EventBus({ clock: 'manual' });
const A = 's.' + ${a}, B = 's.' + ${b};
const got = [];
let subscribed = true, published = true;
try { bus.subscribe(A, (p, m) => got.push(m.topic)) } catch (e) { if (!(e instanceof SwitchyardError)) return 'subscribe threw ' + show(e); subscribed = false }
try { bus.publish(B, 1) } catch (e) { if (!(e instanceof SwitchyardError)) return 'publish threw ' + show(e); published = false }
if (subscribed !== published && A === B) return 'the same string is ' + (subscribed ? 'a valid pattern but not a valid topic' : 'a valid topic but not a valid pattern');
if (A !== B && got.length > 0) return 'a publish to ' + JSON.stringify(B) + ' reached the subscriber of ' + JSON.stringify(A);
if (A === B && subscribed && published && (got.length !== 1 || got[0] !== B)) return 'meta.topic ' + JSON.stringify(got) + ' is not the published ' + JSON.stringify(B);
if (published) { const t = bus.metrics().topics.map((x) => x.topic); if (!t.includes(B)) return 'metrics().topics ' + JSON.stringify(t) + ' lost ' + JSON.stringify(B) }
bus.free();
return null;`;
}

// ---- soak: random operations, invariants after each ----------------------------------------

const SOAK_PRELUDE = `let bus = new EventBus({ clock: 'manual', retry: { attempts: 2, backoffMs: 5 } });
const acc = { matched: 0, redriven: 0 }, waiting = [], hs = {}, subs = [];
const h = { sync: () => {}, throws: () => { throw new Error('h') }, async: () => new Promise((resolve, reject) => waiting.push({ resolve, reject })) };
const add = (name, pattern, kind, options) => { hs[name] = h[kind]; subs.push(bus.subscribe(pattern, h[kind], { name, ...options })) };
const pub = (topic, options) => { try { acc.matched += bus.publish(topic, acc.matched, options).matched } catch (e) { if (e.code !== 'E_BACKPRESSURE') throw e } };
const settle = (ok) => { const w = waiting.shift(); if (w) ok ? w.resolve() : w.reject(new Error('async fail')) };
const restore = () => { const next = EventBus.restore(bus.snapshot(), { clock: 'manual', handlers: hs }); bus.free(); bus = next; subs.length = 0; for (const s of bus.subscriptions()) subs.push(bus.getSubscription(s.id)) };`;

/** Checks run after every soak operation: conservation (from metrics()) and restorability. */
export const SOAK_CHECK = `const m = bus.metrics(), t = m.totals;
const sum = t.delivered + t.filtered + t.dropped + t.deadLettered + m.queued + m.inFlight;
if (sum !== acc.matched + acc.redriven) throw new Error('INVARIANT conservation: matched ' + acc.matched + ' + redriven ' + acc.redriven + ' but delivered ' + t.delivered + ' + filtered ' + t.filtered + ' + dropped ' + t.dropped + ' + deadLettered ' + t.deadLettered + ' + queued ' + m.queued + ' + inFlight ' + m.inFlight + ' = ' + sum);
try { EventBus.restore(bus.snapshot()).free() } catch (e) { throw new Error('INVARIANT own snapshot refused: ' + (e && e.message)) }`;

const PATTERNS = ["'a'", "'b'", "'a.*'", "'*'", "'**'", "'a.x'"];
const TOPICS = ["'a'", "'b'", "'a.x'", "'b.y'"];

function soakOption(rng) {
  return pick(rng, [
    `capacity: ${1 + int(rng, 3)}`, `overflow: '${pick(rng, ['reject', 'drop-oldest', 'drop-newest'])}'`,
    'delivery: { batch: { size: 2 } }', 'delivery: { batch: { size: 3, maxWaitMs: 10 } }', `concurrency: ${1 + int(rng, 2)}`,
    "ordering: 'relaxed'", `retry: { attempts: ${1 + int(rng, 3)}, backoffMs: 5 }`, 'filter: (p) => p % 2 === 0', 'once: true',
    "group: 'g'", 'timeoutMs: 20', 'breaker: { failures: 2, cooldownMs: 30 }', `priority: ${int(rng, 3)}`,
  ]);
}

/** Operation lines of soak episode `index`. */
export function soakOps(seed, index, length) {
  const rng = caseRng(seed, index);
  const ops = [];
  let names = 0;
  const sub = () => `subs[${int(rng, 6)}]?`;
  for (let k = 0; k < length; k++) {
    const roll = rng();
    if (roll < 0.1 || names === 0) {
      const options = Array.from({ length: int(rng, 3) }, () => soakOption(rng));
      ops.push(`add('s${names++}', ${pick(rng, PATTERNS)}, '${pick(rng, ['sync', 'sync', 'throws', 'async', 'async'])}', { ${[...new Set(options)].join(', ')} })`);
    } else if (roll < 0.4) {
      ops.push(rng() < 0.15 ? `pub(${pick(rng, TOPICS)}, { ttlMs: 15 })` : `pub(${pick(rng, TOPICS)})`);
    } else if (roll < 0.55) ops.push(`settle(${rng() < 0.7})`);
    else if (roll < 0.63) ops.push('ticks(1)');
    else if (roll < 0.71) ops.push(`bus.advance(${1 + int(rng, 40)})`);
    else if (roll < 0.74) ops.push(`${sub()}.pause()`);
    else if (roll < 0.78) ops.push(`${sub()}.resume()`);
    else if (roll < 0.81) ops.push(`${sub()}.setDelivery(${rng() < 0.5 ? "'immediate'" : '{ batch: { size: 2 } }'})`);
    else if (roll < 0.84) ops.push(`${sub()}.flush()`);
    else if (roll < 0.86) ops.push(`${sub()}.unsubscribe()`);
    else if (roll < 0.9) ops.push('acc.redriven += bus.redrive()');
    else if (roll < 0.92) ops.push('bus.purgeDeadLetters()');
    else if (roll < 0.94) ops.push('restore()');
    else ops.push('bus.subscriptions(), bus.deadLetters(), bus.trace()');
  }
  return ops;
}

/** The step at which episode `ops` fails first (the shortest failing prefix), if any. */
async function failingStep(pkg, ops) {
  let low = 0;
  let high = ops.length - 1;
  if ((await runScript(pkg, soakScript(ops))) === null) return undefined;
  while (low < high) {
    const mid = (low + high) >> 1;
    if ((await runScript(pkg, soakScript(ops.slice(0, mid + 1)))) !== null) high = mid;
    else low = mid + 1;
  }
  return low;
}

/** The script of a soak episode over `ops`: each op, then the checks (a SwitchyardError from an op is a refusal). */
export function soakScript(ops) {
  return `${SOAK_PRELUDE}
const check = () => { ${SOAK_CHECK.replace(/\n/g, '\n  ')} };
const step = async (op) => { try { await op() } catch (e) { if (!(e instanceof SwitchyardError)) throw e } check() };
${ops.map((op) => `await step(() => (${op}));`).join('\n')}
bus.free();
return null;`;
}

/** The check a soak failure broke, for shrinking: same class, any step. */
export function soakClass(problem) {
  const invariant = /INVARIANT ([a-z ]+):/.exec(problem ?? '');
  return invariant ? invariant[1] : (problem ?? '').slice(0, 60).replace(/\d+/g, 'N');
}

/**
 * Runs episode `ops`; on failure removes ops one by one (last first) while the same class
 * still fails, within `budgetMs`, and answers the problem with the shortest script found.
 */
export async function runSoak(pkg, ops, { budgetMs = 3000, shrink = () => true } = {}) {
  const problem = await runScript(pkg, soakScript(ops));
  if (problem === null) return null;
  const target = soakClass(problem);
  if (!shrink(target)) return { problem, src: soakScript(ops), steps: ops.length, of: ops.length };
  const deadline = Date.now() + budgetMs;
  // The ops after the failing step never ran: drop them first.
  const failedAt = await failingStep(pkg, ops);
  let kept = failedAt === undefined ? ops : ops.slice(0, failedAt + 1);
  for (let pass = 0; pass < 2; pass++) {
    for (let i = kept.length - 1; i >= 0 && Date.now() < deadline; i--) {
      const fewer = kept.filter((_, j) => j !== i);
      const again = await runScript(pkg, soakScript(fewer));
      if (again !== null && soakClass(again) === target) kept = fewer;
    }
  }
  const final = await runScript(pkg, soakScript(kept));
  return { problem: final ?? problem, src: soakScript(kept), steps: kept.length, of: ops.length };
}
