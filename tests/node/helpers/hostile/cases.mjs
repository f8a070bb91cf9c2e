// One hostile case: build a fixture bus, make one call with one hostile argument, check
// everything `checks.mjs` promises. Returns the failures, each with the call's source.

import {
  buildFixture, checkClosedContract, checker, compile, describe, exerciseOwnedBus, fingerprint, isSwitchyardError, peek,
  statusOf, within,
} from './checks.mjs';
import { generateCase, METHODS, RECEIVERS, RESTORE } from './methods.mjs';
import { caseRng, int, pick } from './values.mjs';

/** How long a pending promise may take to settle once its bus closed (real time). */
const SETTLE_MS = 500;
/** Once a kind of wait was seen never settling twice, later ones get a short wait (bounded runtime). */
const SETTLE_MS_SEEN = 20;
const neverSettled = new Map();
const FIXTURE_NAMES = ['fast', 'observed'];

/** The state of the long-lived second bus every case must leave working. */
export function makeOther(pkg) {
  const other = new pkg.EventBus({ clock: 'manual' });
  const seen = [];
  other.subscribe('canary.t', (p) => seen.push(p));
  return { other, seen };
}

/** Generates case `index` of `suite` (deterministic in seed and index). */
export function generate(suite, seed, index, info) {
  const rng = caseRng(seed, index);
  const fixture = FIXTURE_NAMES[index % FIXTURE_NAMES.length];
  if (suite === 'snapshots') {
    // A mutated snapshot, valid options.
    return { fixture, rng, ...generateCase(rng, info[fixture], { methods: [RESTORE], slot: 0 }) };
  }
  if (suite === 'receivers') {
    const method = pick(rng, METHODS.filter((x) => /^[a-z][a-zA-Z]*$/.test(x.name) && x.name !== 'closed'));
    const receiver = pick(rng, RECEIVERS);
    const args = method.args.map((s) => s.valid[0]).filter((a) => a !== 'undefined');
    const src = `EventBus.prototype.${method.name}.call(${[receiver, ...args].join(', ')})`;
    // The fixture bus is not the receiver: the call must not close it, nor answer a promise.
    const onOther = { ...method, name: `EventBus.prototype.${method.name}`, closes: undefined, async: false, stream: false, owns: false, remover: false, result: () => null };
    return { fixture, rng, method: onOther, src, effect: 'none' };
  }
  return { fixture, rng, ...generateCase(rng, info[fixture]) };
}

/** Sizes of each fixture's snapshot bytes (mutations pick positions inside them). */
export function fixtureInfo(pkg) {
  const info = {};
  for (const name of FIXTURE_NAMES) {
    const env = buildFixture(pkg, name);
    info[name] = { snapLength: env.snap.bytes.length };
    env.bus.free();
  }
  return info;
}

/** Runs one generated case; answers its failures. */
export async function runCase(pkg, kase, otherState) {
  const c = checker(pkg);
  const { method, src, effect, rng } = kase;
  const env = buildFixture(pkg, kase.fixture);
  const { bus } = env;
  let fn;
  try {
    fn = compile(src);
  } catch (error) {
    c.fail('test bug', `does not compile: ${describe(error)}`);
    return c.failures;
  }
  const before = fingerprint(env);

  // The call.
  let outcome;
  try {
    outcome = { status: 'fulfilled', value: fn(...env.scope) };
  } catch (error) {
    outcome = { status: 'rejected', value: error };
  }
  let pending; // A promise the case holds that must settle once the bus closes.
  let stream;
  if (outcome.status === 'fulfilled' && method.async && outcome.value instanceof Promise) {
    const p = outcome.value;
    const settled = await peek(p);
    if (settled.status === 'pending') pending = p;
    else outcome = settled.status === 'rejected' ? settled : { status: 'fulfilled', value: outcome.value };
  }
  if (outcome.status === 'fulfilled' && method.stream && outcome.value && typeof outcome.value.next === 'function') {
    stream = outcome.value;
    const next = c.guard('stream.next()', () => stream.next());
    if (next.ok) {
      const settled = await peek(next.value);
      if (settled.status === 'pending') pending = next.value;
      else if (settled.status === 'rejected') c.fail('raw error', `stream.next() rejected with ${describe(settled.value)}`);
    }
  }

  // A refusal: a SwitchyardError with a documented code, and nothing changed.
  if (outcome.status === 'rejected') {
    const error = outcome.value;
    const abortReason = method.name === 'waitFor' && src.includes('AbortSignal.abort(');
    if (!isSwitchyardError(pkg, error) && !abortReason) {
      c.fail('raw error', `threw ${describe(error)}`);
    } else if (effect === 'none' && !method.closes) {
      let after;
      try {
        after = fingerprint(env);
      } catch (e) {
        after = `unreadable: ${describe(e)}`;
      }
      if (after !== before) c.fail('changed after refusal', `${describe(error)}; state before ${before}, after ${after}`);
    }
  } else if (!method.async || outcome.value instanceof Promise) {
    const problem = method.result(outcome.value, pkg);
    if (problem) c.fail('undocumented result', problem);
  }

  // What the call did to the bus.
  let status = statusOf(pkg, bus, c, 'bus.closed after the call');
  if (status !== 'open' && status !== 'broken' && effect !== 'close' && effect !== 'free' && !method.closes) {
    c.fail('closed unexpectedly', `the bus is ${status} after a call that does not close it`);
  }
  if (method.closes && status === 'open') c.fail('still open', `the bus is open after ${method.name}()`);
  if (status === 'broken' && !method.closes && effect === 'none') c.fail('broken', 'the bus is unusable after the call');
  if (status === 'closed' || status === 'freed') {
    // A getter that closed the bus mid-call must not let the call take effect.
    if (outcome.status === 'fulfilled' && (effect === 'close' || effect === 'free')) {
      const value = outcome.value;
      if (method.name === 'subscribe' && value instanceof pkg.Subscription && safeActive(value)) {
        c.fail('took effect on a closed bus', 'subscribe() returned an active subscription on a bus closed during the call');
      }
      if (method.name === 'stream' && value?.subscription instanceof pkg.Subscription && safeActive(value.subscription)) {
        c.fail('took effect on a closed bus', 'stream() returned an active stream on a bus closed during the call');
      }
      if (method.name === 'publish' && status === 'closed') {
        const published = c.guard('bus.metrics()', () => bus.metrics().totals.published);
        if (published.ok && published.value !== JSON.parse(before).totals.published) {
          c.fail('took effect on a closed bus', 'publish() counted a message on a bus closed during the call');
        }
      }
    }
  }

  // Follow-ups on what the call returned.
  if (outcome.status === 'fulfilled') {
    const value = outcome.value;
    if (method.owns && value instanceof pkg.EventBus) exerciseOwnedBus(pkg, value, c, 'returned bus');
    if (method.remover && typeof value === 'function') {
      c.guard('remover()', () => value());
      c.guard('remover() again', () => value());
    }
  }

  // The bus still works: a publish reaches the canary (unless the bus was closed meanwhile).
  if (status === 'open') {
    const marker = `canary-${kase.index}`;
    const r = c.guard("bus.publish('canary.t', marker)", () => bus.publish('canary.t', marker), ['E_CLOSED']);
    status = statusOf(pkg, bus, c, 'bus.closed after the canary publish');
    if (r.ok && status === 'open' && !env.canary.includes(marker)) {
      c.fail('bus dead', 'a publish to the canary topic did not reach the canary subscriber');
    }
    if (!r.ok && status === 'open') c.fail('bus dead', `the canary publish threw ${describe(r.error)} on an open bus`);
  }
  // The bus restores from its own snapshot.
  if (status === 'open') {
    const snap = c.guard('bus.snapshot()', () => bus.snapshot());
    if (snap.ok) {
      const restored = c.guard('EventBus.restore(bus.snapshot())', () => pkg.EventBus.restore(snap.value, { clock: 'manual' }));
      if (!restored.ok) c.fail('own snapshot refused', `EventBus.restore(bus.snapshot()) threw ${describe(restored.error)}`);
      else c.guard('restored.free()', () => restored.value.free());
    }
  }

  // A pending waitFor / stream.next() / idle() settles when the bus closes or the stream ends.
  if (pending) {
    // The canary publish may have been its message: then wait for the next one.
    let settled = await peek(pending);
    if (settled.status === 'fulfilled' && stream && settled.value?.done === false) {
      const next = c.guard('stream.next()', () => stream.next());
      pending = next.ok ? next.value : undefined;
      settled = pending ? await peek(pending) : settled;
    }
    if (pending && settled.status === 'pending') {
      let how = 'bus.close()';
      if (status === 'open') {
        if (stream && int(rng, 2) === 0) {
          how = 'stream.subscription.unsubscribe()';
          c.guard(how, () => stream.subscription.unsubscribe());
        } else {
          c.guard(how, () => bus.close());
          status = statusOf(pkg, bus, c);
        }
      }
      const kind = `${method.name}|${how}|${status}`;
      settled = await within(pending, (neverSettled.get(kind) ?? 0) >= 2 ? SETTLE_MS_SEEN : SETTLE_MS);
      if (settled.status === 'timeout') {
        neverSettled.set(kind, (neverSettled.get(kind) ?? 0) + 1);
        c.fail('never settles', `${method.name === 'stream' ? 'stream.next()' : `${method.name}()`} still pending after ${status === 'open' ? how : 'the bus closed'}`);
      } else if (settled.status === 'rejected' && !isSwitchyardError(pkg, settled.value) && !src.includes('AbortSignal.abort(')) {
        c.fail('raw error', `${method.name} rejected with ${describe(settled.value)} after ${how}`);
      } else if (settled.status === 'fulfilled' && stream && settled.value?.done !== true) {
        c.fail('undocumented result', `stream.next() gave an item after ${how}`);
      }
    }
  }

  // A closed bus refuses work with E_CLOSED.
  if (status === 'closed' || status === 'freed') checkClosedContract(pkg, bus, status, c);

  // The untouched second bus still works.
  const { other, seen } = otherState;
  const mark = `other-${kase.index}`;
  const o = c.guard('other.publish', () => other.publish('canary.t', mark));
  if (!o.ok || seen[seen.length - 1] !== mark) c.fail('second bus dead', 'an untouched second bus stopped delivering');

  const mayHaveFreed = method.closes === 'free' || effect === 'free';
  if (status === 'open' || status === 'closed' || (status === 'broken' && !mayHaveFreed)) {
    c.guard('bus.free() at the end', () => bus.free());
  }
  return c.failures;
}

function safeActive(subscription) {
  try {
    return subscription.active === true;
  } catch {
    return false;
  }
}
