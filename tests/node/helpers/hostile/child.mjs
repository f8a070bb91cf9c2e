// The process that runs hostile cases (started by harness.mjs), so that a process abort or a
// call that never returns is reported with its case instead of taking the test runner down.
//
// Job (env HOSTILE_JOB, JSON): { suite, seed, from, to, log }. Every line it appends to `log`
// (synchronously, so it survives an abort) is JSON: { t: 'start', i }, { t: 'fail', i, ... },
// { t: 'done' }.

import { appendFileSync } from 'node:fs';

import { importSnapshotPackage } from '../package.mjs';
import { fixtureInfo, generate, makeOther, runCase } from './cases.mjs';
import { METHODS } from './methods.mjs';
import { SCRIPTS, runScript, runSoak, soakOps, soakScript, topicScript } from './scripts.mjs';

const job = JSON.parse(process.env.HOSTILE_JOB);
const write = (record) => appendFileSync(job.log, `${JSON.stringify(record)}\n`);

// Listeners that throw are reported with console.error (documented); keep the output readable.
console.error = () => {};
console.warn = () => {};

let current = job.from;
const late = (kind) => (error) => {
  let detail;
  try {
    detail = `${error?.constructor?.name ?? typeof error}: ${String(error?.message ?? error).split('\n')[0]}`;
  } catch {
    detail = 'an unprintable value';
  }
  write({ t: 'fail', i: current, check: kind, detail, late: true });
};
process.on('unhandledRejection', late('unhandled rejection'));
process.on('uncaughtException', late('uncaught exception'));

// The entry with snapshots: the suites call every method, `snapshot()` and `restore()` included.
const pkg = await importSnapshotPackage();

/** Each suite prepares case `i` as `{ src, run }`: its reproduction first, then the run. */
const suites = {
  /** One call per case: one method, one hostile argument. */
  methods(i, extra) {
    const kase = { index: i, ...generate(job.suite, job.seed, i, extra.info) };
    return { src: kase.src, fixture: kase.fixture, method: kase.method.name, run: () => runCase(pkg, kase, extra.other) };
  },
  /** Fixed calls: every method with its arguments valid (the baseline the table assumes). */
  baseline(i, extra) {
    const method = METHODS[i % METHODS.length];
    const fixture = i < METHODS.length ? 'fast' : 'observed';
    const args = method.args.map((s) => s.valid[0]);
    while (args.length > 0 && args[args.length - 1] === 'undefined') args.pop();
    const kase = { index: i, fixture, method, src: method.call(args), effect: 'none', rng: () => 0 };
    return { src: kase.src, fixture, method: method.name, run: () => runCase(pkg, kase, extra.other) };
  },
  /** Every method (valid arguments) on a bus closed or freed just before. */
  afterClose(i, extra) {
    const method = METHODS[i % METHODS.length];
    const mode = Math.floor(i / METHODS.length) % 2 === 0 ? 'close' : 'free';
    const fixture = Math.floor(i / (2 * METHODS.length)) % 2 === 0 ? 'fast' : 'observed';
    const args = method.args.map((s) => s.valid[0]);
    while (args.length > 0 && args[args.length - 1] === 'undefined') args.pop();
    const src = `(bus.${mode}(), ${method.call(args)})`;
    const kase = { index: i, fixture, method, src, effect: mode, rng: () => 0 };
    return { src, fixture, method: `${method.name} after ${mode}()`, run: () => runCase(pkg, kase, extra.other) };
  },
  scripts(i) {
    const [name, src] = SCRIPTS[i];
    return { src, method: name, run: async () => scriptFailure('script', await runScript(pkg, src)) };
  },
  topics(i) {
    const src = topicScript(job.seed, i);
    return { src, method: 'topics', run: async () => scriptFailure('topic identity', await runScript(pkg, src)) };
  },
  soak(i) {
    const ops = soakOps(job.seed, i, job.length ?? 150);
    return {
      src: soakScript(ops),
      method: 'soak',
      run: async () => {
        const found = await runSoak(pkg, ops, { shrink: shrinkFirst });
        if (found === null) return [];
        return [{ check: 'soak', detail: `${found.problem} (shrunk to ${found.steps} of ${found.of} steps)`, src: found.src }];
      },
    };
  },
};
suites.receivers = suites.methods;
suites.snapshots = suites.methods;

/** Shrinks the first two failures of each class in this process (shrinking costs seconds). */
const shrunk = new Map();
function shrinkFirst(kind) {
  shrunk.set(kind, (shrunk.get(kind) ?? 0) + 1);
  return shrunk.get(kind) <= 2;
}

function scriptFailure(check, problem) {
  return problem === null ? [] : [{ check, detail: problem }];
}

const prepare = suites[job.suite];
const extra = {};
if (['methods', 'receivers', 'snapshots', 'baseline', 'afterClose'].includes(job.suite)) {
  extra.info = fixtureInfo(pkg);
  extra.other = makeOther(pkg);
}
for (let i = job.from; i < job.to; i++) {
  current = i;
  const kase = prepare(i, extra);
  write({ t: 'start', i, src: kase.src, fixture: kase.fixture, method: kase.method });
  if (job.hung?.includes(kase.src)) {
    write({ t: 'fail', i, src: kase.src, fixture: kase.fixture, method: kase.method, check: 'hang', detail: 'not run again: the same call hung in an earlier case' });
    continue;
  }
  let failures;
  try {
    failures = await kase.run();
  } catch (error) {
    failures = [{ check: 'test bug', detail: String(error?.stack ?? error) }];
  }
  for (const failure of failures) {
    write({ t: 'fail', i, src: kase.src, fixture: kase.fixture, method: kase.method, ...failure });
  }
}
write({ t: 'done' });
process.exit(0);
