// The runtime-agnostic part of the benchmark: runs the cases with tinybench and the throughput
// measurement with performance.now, and returns plain result rows. Node (node.mjs) and the browsers
// (browser.mjs, bundled by esbuild) call `runAll` with the same cases and settings.
import { Bench } from 'tinybench';
import { SWITCHYARD_FEATURES, buildCases, familyOf, makeSitesMegamorphic, sink, throughputSubjects } from './cases.mjs';

/** Settings of a full run and of a `--quick` smoke run. */
export const PROFILES = {
  full: {
    // Time budget per task in ms (tinybench keeps sampling until it is spent).
    time: 1500,
    warmupTime: 300,
    // Each sample runs the operation enough times to last about this long.
    sampleMs: 1,
    minSamples: 64,
    // The implementations of a case take turns this many times (see `measureGroup`), each turn
    // `time / rounds` ms after its own `roundWarmupTime` ms of warm-up.
    rounds: 6,
    roundWarmupTime: 50,
    throughputMessages: 1_000_000,
  },
  quick: { time: 60, warmupTime: 15, sampleMs: 0.5, minSamples: 16, rounds: 2, roundWarmupTime: 5, throughputMessages: 50_000 },
};

/** Fewest messages per timed chunk of the throughput measurement (more when the timer is coarse). */
export const THROUGHPUT_CHUNK = 100;

const now = () => performance.now();

/** Median of a sorted array of numbers. */
export function medianOfSorted(sorted) {
  const mid = sorted.length >> 1;
  return sorted.length % 2 === 1 ? sorted[mid] : (sorted[mid - 1] + sorted[mid]) / 2;
}

/** The value below which `q` (0..1) of a sorted array lies (nearest rank). */
export function quantileOfSorted(sorted, q) {
  const rank = Math.min(sorted.length - 1, Math.max(0, Math.ceil(q * sorted.length) - 1));
  return sorted[rank];
}

/** The smallest positive step between two readings of `performance.now()`, in ms. */
export function timerResolutionMs() {
  let best = Infinity;
  for (let i = 0; i < 50; i++) {
    const t0 = now();
    let t1 = now();
    while (t1 === t0) t1 = now();
    best = Math.min(best, t1 - t0);
  }
  return best;
}

/**
 * How many operations one sample must run to last about `sampleMs`. The first calls run cold
 * (interpreter, compilation), so the operation is first run `warmOps` times (a case that rotates
 * over many topics or sites says how many make one full turn, so every route and site has been
 * seen) and warmed for `warmMs`, then the count is estimated by doubling and confirmed with a
 * two more estimates from the warmed code; the largest count (the fastest rate) wins so no sample
 * is shorter than intended.
 */
async function calibrate(run, sampleMs, warmMs, warmOps = 0) {
  if (warmOps > 0) await run(warmOps);
  const estimate = async () => {
    for (let n = 1; ; n *= 2) {
      const t0 = now();
      await run(n);
      const elapsed = now() - t0;
      if (elapsed >= sampleMs / 2 || n >= 1 << 24) return (n * sampleMs) / Math.max(elapsed, 1e-3);
    }
  };
  const warmUntil = now() + warmMs;
  for (let n = 1; now() < warmUntil; n = Math.min(n * 2, 1 << 16)) await run(n);
  // A GC pause or a tier-up landing in a short early run makes one estimate far too small: the
  // largest of three wins.
  const estimates = [await estimate(), await estimate(), await estimate()];
  return Math.max(1, Math.round(Math.max(...estimates)));
}

/**
 * Measures every implementation of one case (`group`: the rows of `buildCases` sharing a case
 * name) with tinybench, in turn, over `profile.rounds` rounds (alternating the order), so a
 * machine that is busier for a while slows each implementation of the case alike: the ratios
 * between them compare like with like. Each tinybench sample runs the operation `perSample` times;
 * an implementation's rate is the median of its per-sample rates over all rounds, with the median
 * absolute deviation of those rates relative to the median as `spread`. Returns a row per
 * implementation measured, and `{ impl, error }` for each that threw (the others go on).
 */
async function measureGroup(group, profile) {
  const members = [];
  try {
    for (const c of group) {
      const member = { c, instance: null, rates: [], perSample: 0, error: null };
      members.push(member);
      try {
        const instance = (member.instance = c.make());
        member.perSample = await calibrate((n) => instance.run(n), profile.sampleMs, profile.warmupTime, instance.warmOps);
      } catch (error) {
        member.error = error;
      }
    }
    for (let round = 0; round < profile.rounds; round++) {
      const order = round % 2 === 0 ? members : [...members].reverse();
      for (const member of order) {
        if (member.error !== null) continue;
        try {
          member.rates.push(...(await sampleRates(member, profile)));
        } catch (error) {
          member.error = error;
        }
        // Let the event loop breathe (GC, pending I/O, the browser's own tasks) between turns.
        await new Promise((resolve) => setTimeout(resolve, 0));
      }
    }
    return members.map(({ c, rates, perSample, error }) => {
      if (error !== null) return { case: c.case, impl: c.impl, error };
      rates.sort((a, b) => a - b);
      const median = medianOfSorted(rates);
      const deviations = rates.map((r) => Math.abs(r - median)).sort((a, b) => a - b);
      return {
        case: c.case,
        impl: c.impl,
        opsPerSec: median,
        samples: rates.length,
        opsPerSample: perSample,
        spread: medianOfSorted(deviations) / median,
      };
    });
  } finally {
    for (const { instance } of members) {
      try {
        instance?.dispose();
      } catch {
        // A broken dispose must not hide the results (or the error) of the case.
      }
    }
  }
}

/** One round's turn of one implementation: tinybench samples of `perSample` operations, as rates. */
async function sampleRates({ c, instance, perSample }, profile) {
  const bench = new Bench({
    time: profile.time / profile.rounds,
    warmupTime: profile.roundWarmupTime,
    iterations: Math.ceil(profile.minSamples / profile.rounds),
    warmupIterations: 4,
    retainSamples: true,
    throws: true,
  });
  const run = instance.run;
  bench.add(c.case, c.async ? () => run(perSample) : () => void run(perSample), { async: c.async });
  await bench.run();
  const latency = bench.tasks[0].result.latency;
  return Array.from(latency.samples, (ms) => (perSample * 1000) / ms).filter(Number.isFinite);
}

/**
 * Publishes `messages` messages through 10 subscriptions, timing chunks of at least
 * `THROUGHPUT_CHUNK` publishes (enough to last 50 ticks of the timer). Returns messages/s over the
 * whole run and the p50 / p99 / max of the per-message time of each chunk (µs).
 */
async function measureThroughput(subject, messages, resolutionMs) {
  const instance = subject.make();
  try {
    // Warm the JIT and the route cache, and estimate the cost of one message.
    const warmMessages = Math.min(messages, 20_000);
    const warmStart = now();
    instance.publishMany(warmMessages);
    const perMessageMs = Math.max((now() - warmStart) / warmMessages, 1e-6);
    // A chunk must last at least 50 timer ticks, or its time is mostly rounding.
    const chunk = Math.min(10_000, Math.max(THROUGHPUT_CHUNK, Math.ceil((50 * resolutionMs) / perMessageMs)));
    const chunks = Math.max(1, Math.floor(messages / chunk));
    const perMessageUs = new Float64Array(chunks);
    const start = now();
    for (let c = 0; c < chunks; c++) {
      const t0 = now();
      instance.publishMany(chunk);
      perMessageUs[c] = ((now() - t0) * 1000) / chunk;
    }
    const seconds = (now() - start) / 1000;
    perMessageUs.sort();
    const sent = chunks * chunk;
    return {
      case: subject.case,
      impl: subject.impl,
      messages: sent,
      subscriptions: 10,
      messagesPerSec: sent / seconds,
      deliveriesPerSec: (sent * 10) / seconds,
      p50Us: quantileOfSorted(perMessageUs, 0.5),
      p99Us: quantileOfSorted(perMessageUs, 0.99),
      maxUs: perMessageUs[perMessageUs.length - 1],
      chunk,
    };
  } finally {
    instance.dispose();
  }
}

/**
 * Runs every case and the throughput measurement.
 *
 * @param {{ peers: object, switchyard: object | null }} libs
 * @param {{ quick?: boolean, only?: string[], family?: 'app' | 'best', log?: (line: string) => void }} options
 */
export async function runAll(libs, { quick = false, only = [], family, log = () => {} } = {}) {
  const profile = quick ? PROFILES.quick : PROFILES.full;
  const resolutionMs = timerResolutionMs();
  log(`timer resolution ${(resolutionMs * 1000).toFixed(1)} µs`);
  const results = [];
  const errors = [];
  const cases = buildCases(libs, { only, family });
  const subjects = throughputSubjects(libs, { family }).filter(
    (s) => only.length === 0 || only.some((prefix) => s.case.startsWith(prefix)),
  );
  if ([...cases, ...subjects].some((c) => familyOf(c.case) === 'app')) {
    log(`made the dispatch sites of ${makeSitesMegamorphic(libs, SWITCHYARD_FEATURES)} emitters megamorphic`);
  }
  // The implementations of one case are measured together (see `measureGroup`).
  const groups = new Map();
  for (const c of cases) {
    if (!groups.has(c.case)) groups.set(c.case, []);
    groups.get(c.case).push(c);
  }
  for (const group of groups.values()) {
    for (const row of await measureGroup(group, profile)) {
      if (row.error !== undefined) {
        // One broken case must not cost the whole run; it is reported, and the run fails at the end.
        errors.push({ case: row.case, impl: row.impl, error: String(row.error?.stack ?? row.error) });
        log(`${row.case.padEnd(20)} ${row.impl.padEnd(20)} FAILED: ${row.error}`);
        continue;
      }
      log(`${row.case.padEnd(20)} ${row.impl.padEnd(20)} ${formatRate(row.opsPerSec).padStart(8)} ops/s ±${(row.spread * 100).toFixed(1)}% (${row.samples} samples × ${row.opsPerSample})`);
      results.push(row);
    }
  }
  const throughput = [];
  for (const subject of subjects) {
    let row;
    try {
      row = await measureThroughput(subject, profile.throughputMessages, resolutionMs);
    } catch (error) {
      errors.push({ case: subject.case, impl: subject.impl, error: String(error?.stack ?? error) });
      log(`${subject.case} ${subject.impl.padEnd(20)} FAILED: ${error}`);
      continue;
    }
    log(`${subject.case.padEnd(14)} ${subject.impl.padEnd(20)} ${formatRate(row.messagesPerSec)} msg/s p50 ${row.p50Us.toFixed(3)} µs p99 ${row.p99Us.toFixed(3)} µs`);
    throughput.push(row);
    await new Promise((resolve) => setTimeout(resolve, 0));
  }
  return { results, throughput, errors, timerResolutionUs: resolutionMs * 1000, sink: sink.n };
}

/** `41234567` → `41.2M`. */
export function formatRate(value) {
  if (value >= 1e9) return `${(value / 1e9).toFixed(2)}G`;
  if (value >= 1e6) return `${(value / 1e6).toFixed(value >= 1e8 ? 0 : 1)}M`;
  if (value >= 1e3) return `${(value / 1e3).toFixed(value >= 1e5 ? 0 : 1)}k`;
  return value.toFixed(0);
}
