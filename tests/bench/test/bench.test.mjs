// Checks of the benchmark harness itself (not a benchmark run): `node --test bench/` in tests/.
// Every case must really deliver to its listeners (so the rates mean what the tables say), the
// statistics helpers must be right, and the report must keep its hand-written section.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { peers } from '../peers.mjs';
import { buildCases, familyOf, sink, EMIT_LISTENER_COUNTS, throughputSubjects } from '../cases.mjs';
import { APP_EMIT_LISTENER_COUNTS, DISTINCT_LISTENERS, appDeliveries, polymorphicDeliveries } from '../app-cases.mjs';
import { medianOfSorted, quantileOfSorted } from '../harness.mjs';
import { combineProcesses, median, pairedRatio } from '../processes.mjs';
import {
  extractHandWritten,
  formatRate,
  renderReport,
  HAND_WRITTEN_END,
  HAND_WRITTEN_START,
} from '../report.mjs';

const libs = { peers, switchyard: null };

/** How many listener calls `run(n)` of a case must make. */
function expectedDeliveries(caseName, n) {
  const app = appDeliveries(caseName, n);
  if (app !== undefined) return app;
  const emit = /^emit-(\d+)$/.exec(caseName);
  if (emit) return n * Number(emit[1]);
  if (caseName.startsWith('wildcard-')) return n; // exactly one pattern matches each publish
  if (caseName === 'async-3' || caseName === 'features-3') return n * 3;
  if (caseName === 'churn') return 0; // subscribes and unsubscribes, never emits
  if (caseName.startsWith('compat-')) return n * 3;
  throw new Error(`no expectation for case ${caseName}`);
}

test('every peer case delivers each emit to exactly its listeners', async () => {
  const cases = buildCases(libs);
  assert.ok(cases.length > 20, `only ${cases.length} cases`);
  for (const c of cases) {
    const instance = c.make();
    const before = sink.n;
    await instance.run(7);
    instance.dispose();
    assert.equal(sink.n - before, expectedDeliveries(c.case, 7), `${c.case} / ${c.impl}`);
  }
});

// With SWITCHYARD_BENCH_INSTALL=<folder holding node_modules/switchyard>, the switchyard cases too.
test('every switchyard case delivers each publish to exactly its subscribers', { skip: !process.env.SWITCHYARD_BENCH_INSTALL }, async () => {
  const { createRequire } = await import('node:module');
  const { join } = await import('node:path');
  // The CommonJS entry, as a `require` user gets it (the ESM entry shares its instance).
  const require = createRequire(join(process.env.SWITCHYARD_BENCH_INSTALL, 'package.json'));
  const switchyard = require('switchyard');
  const cases = buildCases({ peers, switchyard }).filter((c) => c.impl.startsWith('switchyard'));
  assert.ok(cases.length >= 17, `only ${cases.length} switchyard cases`);
  for (const c of cases) {
    const instance = c.make();
    const before = sink.n;
    await instance.run(7);
    instance.dispose();
    assert.equal(sink.n - before, expectedDeliveries(c.case, 7), `${c.case} / ${c.impl}`);
  }
});

test('without the package no switchyard case is built, and every emit case has all seven peers', () => {
  const cases = buildCases(libs);
  assert.ok(cases.every((c) => !c.impl.startsWith('switchyard')));
  const peersOnly = ['eventemitter3', 'tseep', 'mitt', 'eventemitter2', 'rxjs-subject', 'event-target'];
  for (const k of EMIT_LISTENER_COUNTS) {
    assert.deepEqual(cases.filter((c) => c.case === `emit-${k}`).map((c) => c.impl), peersOnly);
  }
  for (const k of APP_EMIT_LISTENER_COUNTS) {
    assert.deepEqual(cases.filter((c) => c.case === `app-emit-${k}`).map((c) => c.impl), peersOnly);
  }
  for (const name of ['app-polymorphic', 'app-cold']) {
    assert.deepEqual(cases.filter((c) => c.case === name).map((c) => c.impl), peersOnly, name);
  }
});

test('the realistic cases come first, so a run cut short has measured them', () => {
  const names = buildCases(libs).map((c) => c.case);
  const firstBestCase = names.findIndex((name) => !name.startsWith('app-'));
  assert.ok(firstBestCase > 0);
  assert.ok(names.slice(firstBestCase).every((name) => !name.startsWith('app-')));
  assert.equal(throughputSubjects(libs)[0].case, 'app-throughput');
});

test('the realistic family (its own process and page) holds the app and compat cases, the best-case family the rest', () => {
  assert.equal(familyOf('app-emit-3'), 'app');
  assert.equal(familyOf('app-throughput'), 'app');
  assert.equal(familyOf('compat-emit-3'), 'app');
  assert.equal(familyOf('emit-3'), 'best');
  assert.equal(familyOf('throughput'), 'best');
  const app = buildCases(libs, { family: 'app' }).map((c) => c.case);
  const best = buildCases(libs, { family: 'best' }).map((c) => c.case);
  assert.equal(app.length + best.length, buildCases(libs).length);
  assert.ok(app.every((name) => familyOf(name) === 'app') && best.every((name) => familyOf(name) === 'best'));
});

test('the distinct listeners are ten different functions, each counting its call once', () => {
  const made = DISTINCT_LISTENERS.map((make) => make());
  assert.equal(new Set(made.map(String)).size, 10, 'every listener has its own code');
  assert.equal(new Set(DISTINCT_LISTENERS.map((make) => make())).size, 10);
  const before = sink.n;
  for (const fn of made) fn({ n: 5 });
  assert.equal(sink.n - before, 10);
  // Four topics with 1, 2, 3 and 4 listeners, in turn.
  assert.equal(polymorphicDeliveries(8), 2 * (1 + 2 + 3 + 4));
});

test('every realistic case allocates a payload per emit: no two listener calls see one object', async () => {
  // The peers see the payload itself; a listener wrapped for EventTarget sees `detail`.
  const seen = new Set();
  let calls = 0;
  const spy = DISTINCT_LISTENERS[0];
  DISTINCT_LISTENERS[0] = () => (p) => {
    calls++;
    seen.add(p);
  };
  try {
    const c = buildCases(libs, { only: ['app-emit-1'] }).find((x) => x.impl === 'eventemitter3');
    const instance = c.make();
    instance.run(5);
    instance.dispose();
  } finally {
    DISTINCT_LISTENERS[0] = spy;
  }
  assert.equal(calls, 5);
  assert.equal(seen.size, 5);
});

test('only keeps the cases whose names start with a given prefix', () => {
  const names = new Set(buildCases(libs, { only: ['wildcard', 'churn'] }).map((c) => c.case));
  assert.deepEqual([...names].sort(), ['churn', 'wildcard-1-of-10', 'wildcard-1-of-1000', 'wildcard-hot-1-of-1000']);
  const app = new Set(buildCases(libs, { only: ['app'] }).map((c) => c.case));
  assert.deepEqual([...app].sort(), [
    'app-cold',
    'app-emit-1',
    'app-emit-10',
    'app-emit-3',
    'app-features-3',
    'app-polymorphic',
    'app-wildcard-1000',
  ]);
});

test('median and quantiles of sorted samples', () => {
  assert.equal(medianOfSorted([1, 2, 30]), 2);
  assert.equal(medianOfSorted([1, 2, 4, 30]), 3);
  const hundred = Array.from({ length: 100 }, (_, i) => i + 1);
  assert.equal(quantileOfSorted(hundred, 0.5), 50);
  assert.equal(quantileOfSorted(hundred, 0.99), 99);
  assert.equal(quantileOfSorted([5], 0.99), 5);
});

test('rates are written with a unit prefix', () => {
  assert.equal(formatRate(41_234_567), '41.2 M');
  assert.equal(formatRate(533_000_000), '533 M');
  assert.equal(formatRate(187_090), '187 k');
  assert.equal(formatRate(999), '999');
  assert.equal(formatRate(undefined), '—');
});

function sampleDocument() {
  const row = (runtime, c, impl, opsPerSec) => ({ runtime, case: c, impl, opsPerSec, samples: 100, spread: 0.01 });
  return {
    machine: { cpu: 'Test CPU', cores: 2, memoryGiB: 24, os: 'Linux', node: 'v20.0.0', browsers: {}, date: '2026-11-22T21:00:00.000Z' },
    command: 'cargo xtask bench',
    switchyard: '0.1.0',
    runtimes: { node: { version: 'Node.js v20', date: '2026-11-22T21:00:00.000Z', command: 'cargo xtask bench', quick: false } },
    results: [
      row('node', 'app-emit-3', 'switchyard', 30e6),
      row('node', 'app-emit-3', 'eventemitter3', 20e6),
      row('node', 'app-emit-3', 'tseep', 120e6),
      row('node', 'app-emit-10', 'switchyard', 11e6),
      row('node', 'app-emit-10', 'eventemitter3', 10e6),
      row('node', 'app-wildcard-1000', 'switchyard', 12e6),
      row('node', 'app-wildcard-1000', 'eventemitter2', 1e6),
      row('node', 'compat-emit-3', 'switchyard/compat', 9e6),
      row('node', 'compat-emit-3', 'eventemitter3', 10e6),
      // The best case: what the JIT makes of closures of one function (not judged).
      row('node', 'emit-3', 'switchyard', 90e6),
      row('node', 'emit-3', 'eventemitter3', 20e6),
      row('node', 'emit-3', 'tseep', 300e6),
    ],
    throughput: [
      { runtime: 'node', case: 'app-throughput', impl: 'switchyard+features', messages: 1e6, messagesPerSec: 5e5, deliveriesPerSec: 5e6, p50Us: 2, p99Us: 12.5, maxUs: 40, chunk: 100 },
      { runtime: 'node', case: 'throughput', impl: 'switchyard+features', messages: 1e6, messagesPerSec: 2e6, deliveriesPerSec: 2e7, p50Us: 0.5, p99Us: 1, maxUs: 4, chunk: 100 },
    ],
    errors: [],
    sizes: [{ impl: 'switchyard', minBytes: 60_000, gzipBytes: 30_000, parts: [] }],
    native: null,
    frames: null,
  };
}

test('the report computes the ratios and judges the goals on the realistic cases only', () => {
  const markdown = renderReport(sampleDocument(), '## Notes\n\nKept.');
  assert.match(markdown, /\| emit, 3 distinct listeners, `\{ n: i \}` per emit \| 30\.0 M \| 20\.0 M \| 120 M \|.*\| 1\.50× \| 0\.25× \|/);
  assert.match(markdown, /\| emit, 3 listeners \| 90\.0 M \| 20\.0 M \| 300 M \|.*\| 4\.50× \| 0\.3× \|/);
  assert.match(markdown, /3 distinct listeners, payload per emit \(Node\) \| ≥ 1\.0× eventemitter3 \| 1\.50× \| met \|/);
  assert.match(markdown, /10 distinct listeners, payload per emit \(Node\) \| ≥ 1\.2× eventemitter3 \| 1\.10× \| \*\*not met\*\* \|/);
  assert.match(markdown, /≥ 0\.5× tseep \| 0\.25× \| \*\*not met\*\* \|/);
  assert.doesNotMatch(markdown, /\| 4\.50× \| met/);
  assert.match(markdown, /≥ 5× EventEmitter2 \| 12× \| met \|/);
  assert.match(markdown, /switchyard\/compat EventEmitter, 3 distinct listeners \(Node\) \| ≥ 0\.8× eventemitter3 \| 0\.9× \| met \|/);
  assert.match(markdown, /\| compat `EventEmitter` emit, 3 distinct listeners, payload per emit \| switchyard\/compat: 9\.0 M \| eventemitter3: 10\.0 M \| 0\.9× \|/);
  assert.match(markdown, /distinct listeners \(Node\) \| ≥ 1 M deliveries \/ s \| 5\.0 M \/ s \| met \|/);
  assert.match(markdown, /distinct listeners \(Node\) \| p99 dispatch ≤ 10 µs per message \| 12\.50 µs \| \*\*not met\*\* \|/);
  // The realistic tables come before the best case, in the document and in each runtime.
  assert.ok(markdown.indexOf('Realistic cases') < markdown.indexOf('Best case (JIT)'));
  assert.ok(markdown.indexOf('10 distinct listeners, `{ n: i }` per publish') < markdown.indexOf('best case (JIT): closures'));
  assert.match(markdown, /≤ 96 KB min\+gzip \| 29\.3 KB \| met \|/);
  assert.match(markdown, /Produced by `cargo xtask bench` \(node\)/);
});

test('several processes combine into per-row medians, and a ratio is the median of per-process ratios', () => {
  const processReport = (ours, theirs) => ({
    results: [
      { case: 'compat-emit-3', impl: 'switchyard/compat', opsPerSec: ours, samples: 10, spread: 0.01 },
      { case: 'compat-emit-3', impl: 'eventemitter3', opsPerSec: theirs, samples: 10, spread: 0.03 },
    ],
    throughput: [],
    errors: [],
    timerResolutionUs: 0.1,
    sink: 1,
  });
  // Two JIT modes per process: the runs pair (slow, fast), (slow, slow), (slow, slow), (fast, fast).
  const combined = combineProcesses([processReport(13, 23), processReport(12, 13), processReport(12.5, 13), processReport(20, 23)]);
  const [ours, theirs] = combined.results;
  assert.deepEqual(ours.processRates, [13, 12, 12.5, 20]);
  assert.equal(ours.opsPerSec, 12.75);
  assert.equal(theirs.opsPerSec, 18);
  assert.equal(ours.samples, 40);
  const paired = pairedRatio(ours, theirs);
  assert.equal(paired.processes, 4);
  assert.equal(paired.ratio, median([13 / 23, 12 / 13, 12.5 / 13, 20 / 23]));
  assert.equal(paired.min, 13 / 23);
  assert.equal(paired.max, 12.5 / 13);
  // One process: the plain ratio of the two medians.
  assert.deepEqual(pairedRatio({ opsPerSec: 9 }, { opsPerSec: 10 }), { ratio: 0.9, min: null, max: null, processes: 1 });
  assert.equal(combineProcesses([processReport(1, 2)]).results[0].processRates, undefined);
});

test('a case that failed in any process is reported as failed, not as the median of the others', () => {
  const ok = { results: [{ case: 'c', impl: 'a', opsPerSec: 5, samples: 1, spread: 0 }], throughput: [], errors: [], timerResolutionUs: 1, sink: 0 };
  const failed = { results: [], throughput: [], errors: [{ case: 'c', impl: 'a', error: 'boom' }], timerResolutionUs: 1, sink: 0 };
  const combined = combineProcesses([ok, failed, ok]);
  assert.deepEqual(combined.results, []);
  assert.deepEqual(combined.errors, [{ case: 'c', impl: 'a', error: 'boom' }]);
});

test('the report shows the per-process range of a goal measured in several processes', () => {
  const doc = sampleDocument();
  doc.runtimes.node.processes = 3;
  for (const row of doc.results) {
    if (row.case !== 'compat-emit-3') continue;
    row.processRates = row.impl === 'eventemitter3' ? [10e6, 10e6, 20e6] : [9e6, 5e6, 19e6];
  }
  const markdown = renderReport(doc, '## Notes\n\nKept.');
  assert.match(markdown, /switchyard\/compat EventEmitter, 3 distinct listeners \(Node\) \| ≥ 0\.8× eventemitter3 \| 0\.9× \(0\.5×–0\.95×, 3 processes\) \| met \|/);
  assert.match(markdown, /each family in 3 fresh processes, medians over them/);
});

test('regenerating keeps the hand-written section word for word', () => {
  const handWritten = '## Where the time goes\n\nMeasured by hand, with *care*.\n\n- one\n- two';
  const first = renderReport(sampleDocument(), handWritten);
  assert.equal(extractHandWritten(first), handWritten);
  const second = renderReport(sampleDocument(), extractHandWritten(first));
  assert.equal(second, first);
  assert.equal(first.split(HAND_WRITTEN_START).length, 2);
  assert.equal(first.split(HAND_WRITTEN_END).length, 2);
});

test('a document without the markers has no hand-written section to keep', () => {
  assert.equal(extractHandWritten('# Benchmarks\n\nold text'), null);
});
