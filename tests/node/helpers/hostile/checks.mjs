// What every hostile case checks after its call (see tests/node/hostile.test.mjs): a documented
// result or a SwitchyardError with a documented code; nothing changed after a refusal; the bus
// still works unless it was legitimately closed; a closed bus refuses work; a pending promise
// settles when its bus closes; the bus's own snapshot restores.

export const CODES = [
  'E_INVALID_TOPIC', 'E_INVALID_PATTERN', 'E_INVALID_OPTION', 'E_INVALID_HANDLER', 'E_BACKPRESSURE', 'E_CASCADE',
  'E_CLOSED', 'E_TIMEOUT',
];

/** Source of the per-case bus, as printed in reproductions. Defines the case's scope. */
export const FIXTURES = {
  fast: `const bus = new EventBus({ clock: 'manual', retain: 2 });
const canary = [];
bus.subscribe('canary.t', (p) => { canary.push(p) }, { name: 'canary' });
const sub = bus.subscribe('x.*', () => {}, { name: 'x' });
const held = bus.subscribe('held.t', () => {}, { name: 'held' });
held.pause();
bus.publish('held.t', 'queued');
bus.subscribe('dl.t', () => { throw new Error('fail') }, { name: 'failing' });
bus.publish('dl.t', 'dead');
const snap = bus.snapshot();`,
  observed: `const bus = new EventBus({ clock: 'manual', traceCapacity: 8, retry: { attempts: 2, backoffMs: 5 } });
bus.on('*', () => {});
const canary = [];
bus.subscribe('canary.t', (p) => { canary.push(p) }, { name: 'canary' });
const sub = bus.subscribe('x.*', () => {}, { name: 'x', delivery: { batch: { size: 3 } } });
bus.publish('x.y', 'batched');
const held = bus.subscribe('held.*', () => {}, { name: 'held', capacity: 4, group: 'g' });
held.pause();
bus.publish('held.t', 'queued');
bus.subscribe('dl.t', () => { throw new Error('fail') }, { name: 'failing', retry: { attempts: 1 } });
bus.publish('dl.t', 'dead', { headers: { h: 'v' }, correlationId: 'c' });
const snap = bus.snapshot();`,
};
export const SCOPE = ['EventBus', 'SwitchyardError', 'Subscription', 'bus', 'canary', 'sub', 'held', 'snap'];

/** Builds a fixture: its scope values in `SCOPE` order, by name too. */
export function buildFixture(pkg, name) {
  const build = new Function('EventBus', 'SwitchyardError', 'Subscription', `${FIXTURES[name]}\nreturn { bus, canary, sub, held, snap };`);
  const env = build(pkg.EventBus, pkg.SwitchyardError, pkg.Subscription);
  return { ...env, scope: [pkg.EventBus, pkg.SwitchyardError, pkg.Subscription, env.bus, env.canary, env.sub, env.held, env.snap] };
}

/** Compiles an expression over the case scope. */
export const compile = (src) => new Function(...SCOPE, `return (${src});`);

/** A short description of anything thrown (never throws itself, even for a revoked proxy). */
export function describe(thrown) {
  try {
    if (thrown === null || (typeof thrown !== 'object' && typeof thrown !== 'function')) return `thrown ${typeof thrown}: ${String(thrown)}`;
    const name = thrown.constructor?.name ?? 'Object';
    const code = typeof thrown.code === 'string' ? ` [${thrown.code}]` : '';
    return `${name}${code}: ${String(thrown.message ?? thrown).split('\n')[0].slice(0, 200)}`;
  } catch {
    return 'an unprintable value (revoked proxy?)';
  }
}

/** Whether `thrown` is a SwitchyardError with a documented `E_` code. */
export function isSwitchyardError(pkg, thrown) {
  try {
    return thrown instanceof pkg.SwitchyardError && typeof thrown.code === 'string' && CODES.includes(thrown.code);
  } catch {
    return false;
  }
}

/** The cheap observable state a refused call must leave as it was. */
export function fingerprint(env) {
  const { bus } = env;
  const metrics = bus.metrics();
  return JSON.stringify({
    totals: metrics.totals,
    active: metrics.activeSubscriptions,
    queued: metrics.queued,
    inFlight: metrics.inFlight,
    deadLetters: bus.deadLetters().map((d) => d.id),
    subscriptions: bus.subscriptions().map((s) => [s.id, s.paused, s.depth, s.delivery, s.capacity, s.priority]),
    canary: env.canary.length,
    closed: bus.closed,
  });
}

/** Settles `promise` within `ms` of real time: `{ status, value }`, status 'timeout' if not. */
export function within(promise, ms) {
  let timer;
  const timeout = new Promise((resolve) => {
    timer = setTimeout(() => resolve({ status: 'timeout' }), ms);
  });
  const settled = Promise.resolve(promise).then(
    (value) => ({ status: 'fulfilled', value }),
    (value) => ({ status: 'rejected', value }),
  );
  return Promise.race([settled, timeout]).finally(() => clearTimeout(timer));
}

/** Where `promise` stands after the current macrotask: settled, or 'pending'. */
export function peek(promise) {
  const tick = new Promise((resolve) => setImmediate(() => resolve({ status: 'pending' })));
  const settled = Promise.resolve(promise).then(
    (value) => ({ status: 'fulfilled', value }),
    (value) => ({ status: 'rejected', value }),
  );
  return Promise.race([settled, tick]);
}

/**
 * A checker for one case: `fail(check, detail)` records a failure; `guard(label, fn)` runs a
 * follow-up call that may return or throw a SwitchyardError, and records anything else.
 */
export function checker(pkg) {
  const failures = [];
  const fail = (check, detail) => failures.push({ check, detail });
  const guard = (label, fn, allowed) => {
    try {
      return { ok: true, value: fn() };
    } catch (error) {
      if (!isSwitchyardError(pkg, error)) fail('raw error', `${label} threw ${describe(error)}`);
      else if (allowed && !allowed.includes(error.code)) fail('wrong code', `${label} threw ${describe(error)}`);
      return { ok: false, error };
    }
  };
  return { failures, fail, guard };
}

/** 'open', 'closed' or 'freed' (a closed bus reads `closed`, a freed one throws E_CLOSED). */
export function statusOf(pkg, bus, c, label = 'bus.closed') {
  try {
    return bus.closed ? 'closed' : 'open';
  } catch (error) {
    if (isSwitchyardError(pkg, error) && error.code === 'E_CLOSED') return 'freed';
    c.fail('raw error', `${label} threw ${describe(error)}`);
    return 'broken';
  }
}

/** A closed (or freed) bus refuses publish and subscribe with E_CLOSED, and reads stay safe. */
export function checkClosedContract(pkg, bus, status, c) {
  for (const [label, call] of [
    ["bus.publish('canary.t', 1) after close", () => bus.publish('canary.t', 1)],
    ["bus.subscribe('canary.t', () => {}) after close", () => bus.subscribe('canary.t', () => {})],
  ]) {
    const r = c.guard(label, call, ['E_CLOSED']);
    if (r.ok) c.fail('works after close', `${label} returned instead of throwing E_CLOSED (bus ${status})`);
  }
  for (const [label, call] of [
    ['bus.metrics() after close', () => bus.metrics()],
    ['bus.snapshot() after close', () => bus.snapshot()],
    ['bus.deadLetters() after close', () => bus.deadLetters()],
  ]) {
    c.guard(label, call, ['E_CLOSED']);
  }
}

/** A bus the case created (constructor, restore) works and frees like any other. */
export function exerciseOwnedBus(pkg, owned, c, label) {
  c.guard(`${label}.metrics()`, () => owned.metrics());
  c.guard(`${label}.subscriptions()`, () => owned.subscriptions());
  c.guard(`${label}.deadLetters()`, () => owned.deadLetters());
  const seen = [];
  const s = c.guard(`${label}.subscribe('owned.t', ...)`, () => owned.subscribe('owned.t', (p) => seen.push(p)));
  const p = c.guard(`${label}.publish('owned.t', 1)`, () => owned.publish('owned.t', 1));
  if (s.ok && p.ok && !owned.closed && seen.length !== 1) c.fail('bus dead', `${label}: a publish did not reach a new subscriber`);
  c.guard(`${label}.redrive()`, () => owned.redrive());
  c.guard(`${label}.advance(60000)`, () => owned.advance(60000), ['E_INVALID_OPTION']);
  const snapshot = c.guard(`${label}.snapshot()`, () => owned.snapshot());
  if (snapshot.ok) {
    const again = c.guard(`EventBus.restore(${label}.snapshot())`, () => pkg.EventBus.restore(snapshot.value, { clock: 'manual' }));
    if (!again.ok) c.fail('own snapshot refused', `EventBus.restore(${label}.snapshot()) threw ${describe(again.error)}`);
    else c.guard('restored.free()', () => again.value.free());
  }
  c.guard(`${label}.free()`, () => owned.free());
}
