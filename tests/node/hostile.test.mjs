// A hostile caller: every public method of the packed package called with wrong types, NaN,
// ±Infinity, -0, huge numbers, lone surrogates, whitespace, revoked proxies, proxies whose traps
// throw, getters that throw or publish, subscribe, close or free the bus in the middle of the
// call, Symbols, BigInts, frozen objects, arrays with holes, array-likes of length 2**32 - 1,
// mutated snapshots, and calls after close() / free(). After each call: a documented result or
// a SwitchyardError with a documented code; nothing changed after a refusal; the bus still
// delivers (unless it was legitimately closed) and restores from its own snapshot; a closed bus
// refuses work with E_CLOSED; a pending waitFor / stream settles when its bus closes; a second,
// untouched bus still works; the process neither aborts nor hangs.
//
// Seeded and deterministic: HOSTILE_SEED=<n> picks other cases; every failure prints its class,
// the seed and the case's source. The cases run in child processes (helpers/hostile/) so that
// an abort or a call that never returns is reported with its case. The method table is
// helpers/hostile/methods.mjs, the values helpers/hostile/values.mjs.

import assert from 'node:assert/strict';
import { before, describe, test } from 'node:test';

import { installDir } from './helpers/package.mjs';
import { rangeFromEnv, report, runSuite, seedFromEnv } from './helpers/hostile/harness.mjs';
import { SCRIPTS } from './helpers/hostile/scripts.mjs';
import { METHODS } from './helpers/hostile/methods.mjs';

const seed = seedFromEnv();
/** HOSTILE_SCALE=2 runs twice as many cases (longer local hunts); the default fits in ~1 min. */
const scale = Number(process.env.HOSTILE_SCALE ?? 1);
const cases = (n) => Math.max(1, Math.round(n * scale));

async function expectNoFailures(t, suite, options) {
  const [from, to] = rangeFromEnv(suite, options.count);
  if (from === to) return t.skip(`HOSTILE_ONLY=${process.env.HOSTILE_ONLY}`);
  const result = await runSuite(suite, { seed, ...options });
  if (result.failures.length > 0) assert.fail(report(suite, seed, result));
}

describe('a hostile caller', () => {
  // Install the tarball once, before the children (which share the installation) start.
  before(() => installDir());

  test('every public method with valid arguments gives its documented result (the baseline of the table)', async (t) => {
    await expectNoFailures(t, 'baseline', { count: METHODS.length * 2 });
  });

  test('every public method refuses hostile arguments with a SwitchyardError and changes nothing', async (t) => {
    await expectNoFailures(t, 'methods', { count: cases(3000) });
  });

  test('after close() or free(), every public method refuses with E_CLOSED or gives its documented result', async (t) => {
    await expectNoFailures(t, 'afterClose', { count: METHODS.length * 4 });
  });

  test('mutated snapshots (bit flips, truncations, appended bytes, wrong types) are refused with a SwitchyardError or restore to a working bus', async (t) => {
    await expectNoFailures(t, 'snapshots', { count: cases(1500) });
  });

  // `todo` until decided (built-ins throw a TypeError for an incompatible receiver): it runs and
  // reports its classes, but does not fail the file. (Reported to the lead as a new class.)
  test('a bus method called on something that is not a live bus throws a SwitchyardError', { todo: 'receivers are not validated yet' }, async (t) => {
    await expectNoFailures(t, 'receivers', { count: cases(200) });
  });

  test('topics that differ only in lone surrogates, whitespace or normalisation stay distinct', async (t) => {
    await expectNoFailures(t, 'topics', { count: cases(200) });
  });

  test('each failure class of issue #18 stays fixed (pending promises settle on close, no cascade loops, free() from callbacks, getters that close, own snapshots restore, batches accounted)', async (t) => {
    await expectNoFailures(t, 'scripts', { count: SCRIPTS.length });
  });

  test('random operations with metrics() after each keep the process alive, every matched message accounted for and every snapshot restorable', async (t) => {
    await expectNoFailures(t, 'soak', { count: cases(80), length: 150, hangMs: 15000 });
  });
});
