// Checks of the benchmark harness itself (not a benchmark run): `node --test bench/` in tests/.
// Every case must really deliver to its listeners (so the rates mean what the tables say), the
// statistics helpers must be right, and the report must keep its hand-written section.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { peers } from '../peers.mjs';
import { buildCases, sink, EMIT_LISTENER_COUNTS } from '../cases.mjs';
import { medianOfSorted, quantileOfSorted } from '../harness.mjs';
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
  assert.ok(cases.length >= 9, `only ${cases.length} switchyard cases`);
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
  for (const k of EMIT_LISTENER_COUNTS) {
    const impls = cases.filter((c) => c.case === `emit-${k}`).map((c) => c.impl);
    assert.deepEqual(impls, ['eventemitter3', 'tseep', 'mitt', 'eventemitter2', 'rxjs-subject', 'event-target']);
  }
});

test('only keeps the cases whose names start with a given prefix', () => {
  const names = new Set(buildCases(libs, { only: ['wildcard', 'churn'] }).map((c) => c.case));
  assert.deepEqual([...names].sort(), ['churn', 'wildcard-1-of-10', 'wildcard-1-of-1000', 'wildcard-hot-1-of-1000']);
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
      row('node', 'emit-3', 'switchyard', 30e6),
      row('node', 'emit-3', 'eventemitter3', 20e6),
      row('node', 'emit-3', 'tseep', 120e6),
      row('node', 'wildcard-1-of-1000', 'switchyard', 12e6),
      row('node', 'wildcard-1-of-1000', 'eventemitter2', 1e6),
    ],
    throughput: [],
    errors: [],
    sizes: [{ impl: 'switchyard', minBytes: 60_000, gzipBytes: 30_000, parts: [] }],
    native: null,
    frames: null,
  };
}

test('the report computes the ratios and the goal verdicts from the rows', () => {
  const markdown = renderReport(sampleDocument(), '## Notes\n\nKept.');
  assert.match(markdown, /\| emit, 3 listeners \| 30\.0 M \| 20\.0 M \| 120 M \|.*\| 1\.50× \| 0\.25× \|/);
  assert.match(markdown, /≥ 1\.0× eventemitter3 \| 1\.50× \| met \|/);
  assert.match(markdown, /≥ 0\.5× tseep \| 0\.25× \| \*\*not met\*\* \|/);
  assert.match(markdown, /≥ 5× EventEmitter2 \| 12× \| met \|/);
  assert.match(markdown, /≤ 40 KB gzip \| 29\.3 KB \| met \|/);
  assert.match(markdown, /Produced by `cargo xtask bench` \(node\)/);
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
