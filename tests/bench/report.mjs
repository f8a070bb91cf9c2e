// Renders results.json (see run.mjs) as docs/BENCHMARKS.md.
//
// Everything in the document is generated except the hand-written section between
// HAND_WRITTEN_START and HAND_WRITTEN_END, which is carried over from the existing file (or seeded
// with DEFAULT_EXPLANATION when the file or the markers are missing).
//
//   node bench/report.mjs [--results target/bench/results.json] [--doc docs/BENCHMARKS.md]
import { existsSync, readFileSync, writeFileSync, mkdirSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { pairedRatio } from './processes.mjs';

export const HAND_WRITTEN_START = '<!-- hand-written:start (kept by the generator) -->';
export const HAND_WRITTEN_END = '<!-- hand-written:end -->';

const RUNTIME_TITLES = { node: 'Node', chromium: 'Chromium', firefox: 'Firefox' };
const RUNTIME_ORDER = ['node', 'chromium', 'firefox'];
const EMIT_IMPLS = ['switchyard', 'eventemitter3', 'tseep', 'mitt', 'eventemitter2', 'rxjs-subject', 'event-target'];
const IMPL_TITLES = {
  switchyard: 'switchyard',
  'switchyard+features': 'switchyard + features',
  eventemitter3: 'eventemitter3',
  tseep: 'tseep',
  mitt: 'mitt',
  eventemitter2: 'EventEmitter2',
  'rxjs-subject': 'RxJS Subject',
  'event-target': 'EventTarget',
  emittery: 'emittery',
  'switchyard/compat': 'switchyard/compat',
};
const CASE_TITLES = {
  'app-emit-1': 'emit, 1 listener, `{ n: i }` per emit',
  'app-emit-3': 'emit, 3 distinct listeners, `{ n: i }` per emit',
  'app-emit-10': 'emit, 10 distinct listeners, `{ n: i }` per emit',
  'app-polymorphic': 'one emit site, 4 topics × 4 payload shapes, 1–4 distinct listeners each',
  'app-cold': '256 emit sites (one function each), own topic and 3 distinct listeners each',
  'app-wildcard-1000': 'wildcard publish over 1 000 rotating topics, 1 of 1 000 patterns, distinct listeners',
  'app-features-3': 'emit, 3 distinct listeners, metrics + trace ring + retry policy',
  'compat-emit-3': 'compat `EventEmitter` emit, 3 distinct listeners, payload per emit',
  'compat-mitt-3': 'compat `mitt` emit, 3 distinct listeners, payload per emit',
  'emit-1': 'emit, 1 listener',
  'emit-3': 'emit, 3 listeners',
  'emit-10': 'emit, 10 listeners',
  churn: 'subscribe + unsubscribe',
  'wildcard-1-of-10': 'wildcard publish, 1 of 10 patterns match',
  'wildcard-1-of-1000': 'wildcard publish, 1 of 1 000 patterns match',
  'wildcard-hot-1-of-1000': 'wildcard publish, 1 of 1 000 patterns match, one hot topic',
  'features-3': 'emit, 3 listeners, metrics + trace ring + retry policy',
  'async-3': 'emit to 3 async handlers, awaited',
};
/** The realistic emit cases (rows of the first table per runtime), in order. */
const APP_EMIT_CASES = ['app-emit-1', 'app-emit-3', 'app-emit-10', 'app-polymorphic', 'app-cold'];
/** The best-case emit cases (closures of one function, one shared payload), and churn. */
const BEST_EMIT_CASES = ['emit-1', 'emit-3', 'emit-10', 'churn'];
const EE2_WILDCARD = 'EventEmitter2 (`wildcard: true`)';
/** Realistic cases where switchyard is compared with one specific peer (or with itself, features off). */
const APP_PAIRED_CASES = [
  { case: 'app-wildcard-1000', impl: 'switchyard', peer: 'eventemitter2', peerTitle: EE2_WILDCARD },
  { case: 'app-features-3', impl: 'switchyard+features', peer: 'eventemitter3', peerTitle: 'eventemitter3' },
  { case: 'app-features-3', impl: 'switchyard+features', peer: 'switchyard', peerTitle: 'switchyard, features off' },
  { case: 'compat-emit-3', impl: 'switchyard/compat', peer: 'eventemitter3', peerTitle: 'eventemitter3' },
  { case: 'compat-mitt-3', impl: 'switchyard/compat', peer: 'mitt', peerTitle: 'mitt' },
];
/** Best-case paired comparisons. */
const PAIRED_CASES = [
  { case: 'wildcard-1-of-10', impl: 'switchyard', peer: 'eventemitter2', peerTitle: EE2_WILDCARD },
  { case: 'wildcard-1-of-1000', impl: 'switchyard', peer: 'eventemitter2', peerTitle: EE2_WILDCARD },
  { case: 'wildcard-hot-1-of-1000', impl: 'switchyard', peer: 'eventemitter2', peerTitle: EE2_WILDCARD },
  { case: 'features-3', impl: 'switchyard+features', peer: 'switchyard', peerTitle: 'switchyard, features off' },
  { case: 'async-3', impl: 'switchyard', peer: 'emittery', peerTitle: 'emittery' },
];

/** `41234567` → `41.2 M`. */
export function formatRate(value) {
  if (!Number.isFinite(value)) return '—';
  if (value >= 1e9) return `${(value / 1e9).toFixed(2)} G`;
  if (value >= 1e6) return `${(value / 1e6).toFixed(value >= 1e8 ? 0 : 1)} M`;
  if (value >= 1e3) return `${(value / 1e3).toFixed(value >= 1e5 ? 0 : 1)} k`;
  return value.toFixed(0);
}

/** `12×`, `1.50×`, `0.25×`, `0.0055×`: two significant digits below 1, so small ratios stay readable. */
function formatRatio(value) {
  if (!Number.isFinite(value)) return '—';
  if (value >= 10) return `${value.toFixed(0)}×`;
  if (value >= 1) return `${value.toFixed(2)}×`;
  return `${Number(value.toPrecision(2))}×`;
}

function formatBytes(bytes) {
  return bytes >= 1024 ? `${(bytes / 1024).toFixed(1)} KB` : `${bytes} B`;
}

function formatNs(ns) {
  if (!Number.isFinite(ns)) return '—';
  if (ns >= 1e6) return `${(ns / 1e6).toFixed(2)} ms`;
  if (ns >= 1e3) return `${(ns / 1e3).toFixed(2)} µs`;
  return `${ns.toFixed(ns >= 100 ? 0 : 1)} ns`;
}

function table(header, rows) {
  const line = (cells) => `| ${cells.join(' | ')} |`;
  return [line(header), line(header.map(() => '---')), ...rows.map(line)].join('\n');
}

function resultRow(doc, runtime, caseName, impl) {
  return doc.results.find((r) => r.runtime === runtime && r.case === caseName && r.impl === impl);
}

function rate(doc, runtime, caseName, impl) {
  return resultRow(doc, runtime, caseName, impl)?.opsPerSec;
}

/** `impl / peer` in one case, paired per process when the run used several (see processes.mjs). */
function ratioOf(doc, runtime, caseName, impl, peer) {
  return pairedRatio(resultRow(doc, runtime, caseName, impl), resultRow(doc, runtime, caseName, peer));
}

/** `0.91×`, or `0.91× (0.56–0.97, 5 processes)` when measured in several. */
function formatPairedRatio({ ratio, min, max, processes }) {
  if (processes <= 1) return formatRatio(ratio);
  return `${formatRatio(ratio)} (${formatRatio(min)}–${formatRatio(max)}, ${processes} processes)`;
}

function runtimesIn(doc) {
  const present = new Set(doc.results.map((r) => r.runtime));
  return RUNTIME_ORDER.filter((r) => present.has(r));
}

function runtimeHeading(doc, runtime) {
  const info = doc.runtimes?.[runtime] ?? {};
  const details = [
    info.version,
    info.date ? `measured ${info.date.slice(0, 16).replace('T', ' ')} UTC` : null,
    Number.isFinite(info.timerResolutionUs) ? `timer resolution ${info.timerResolutionUs.toFixed(1)} µs` : null,
    Number.isFinite(info.loadAverage) ? `load average ${info.loadAverage} on ${doc.machine.cores} cores` : null,
    info.quick ? '**quick run: few samples, not for quoting**' : null,
    info.processes > 1 ? `each family in ${info.processes} fresh processes, medians over them` : null,
    ...(info.updates ?? []).map(
      (u) =>
        `${u.only} cases re-measured ${u.date.slice(0, 16).replace('T', ' ')} UTC` +
        (u.processes > 1 ? ` in ${u.processes} fresh processes (medians over them)` : ''),
    ),
  ].filter(Boolean);
  const headless = runtime === 'node' ? '' : ' (headless)';
  return `### ${RUNTIME_TITLES[runtime] ?? runtime}${headless}\n\n${details.join(' · ')}`;
}

function emitTable(doc, runtime, caseNames) {
  const cases = caseNames.filter((c) => doc.results.some((r) => r.runtime === runtime && r.case === c));
  if (cases.length === 0) return '';
  const rows = cases.map((c) => {
    return [
      CASE_TITLES[c],
      ...EMIT_IMPLS.map((impl) => formatRate(rate(doc, runtime, c, impl))),
      formatPairedRatio(ratioOf(doc, runtime, c, 'switchyard', 'eventemitter3')),
      formatPairedRatio(ratioOf(doc, runtime, c, 'switchyard', 'tseep')),
    ];
  });
  return table(
    ['operations / s', ...EMIT_IMPLS.map((i) => IMPL_TITLES[i]), 'switchyard / eventemitter3', 'switchyard / tseep'],
    rows,
  );
}

/**
 * Time per emit as a straight line over the listener counts (least squares over emit-1/3/10):
 * `fixed + k × perListener` nanoseconds. The fixed part is what an emit costs before any listener
 * runs (lookup, routing, for switchyard the crossing into wasm and back); the slope is what each
 * further listener adds (the call, and for switchyard the per-delivery bookkeeping).
 */
export function costModel(doc, runtime, impl, prefix = 'app-emit-') {
  const points = [1, 3, 10]
    .map((k) => [k, rate(doc, runtime, `${prefix}${k}`, impl)])
    .filter(([, r]) => Number.isFinite(r) && r > 0)
    .map(([k, r]) => [k, 1e9 / r]);
  if (points.length < 2) return null;
  const n = points.length;
  const mx = points.reduce((a, [x]) => a + x, 0) / n;
  const my = points.reduce((a, [, y]) => a + y, 0) / n;
  const sxx = points.reduce((a, [x]) => a + (x - mx) ** 2, 0);
  const sxy = points.reduce((a, [x, y]) => a + (x - mx) * (y - my), 0);
  const perListener = sxy / sxx;
  return { fixedNs: my - perListener * mx, perListenerNs: perListener };
}

function costTable(doc, runtime, prefix, what) {
  const rows = EMIT_IMPLS.map((impl) => [impl, costModel(doc, runtime, impl, prefix)])
    .filter(([, model]) => model)
    .map(([impl, model]) => [IMPL_TITLES[impl], formatNs(model.fixedNs), formatNs(model.perListenerNs)]);
  if (rows.length === 0) return '';
  return `Where an emit's time goes, ${what} (a straight-line fit of ns per emit over 1, 3 and 10 listeners):\n\n${table(
    ['implementation', 'fixed per emit', 'per listener'],
    rows,
  )}`;
}

function pairedTable(doc, runtime, paired) {
  const rows = paired.filter((p) => doc.results.some((r) => r.runtime === runtime && r.case === p.case)).map(
    (p) => {
      const ours = rate(doc, runtime, p.case, p.impl);
      const theirs = rate(doc, runtime, p.case, p.peer);
      return [
        CASE_TITLES[p.case],
        `${IMPL_TITLES[p.impl]}: ${formatRate(ours)}`,
        `${p.peerTitle}: ${formatRate(theirs)}`,
        formatPairedRatio(ratioOf(doc, runtime, p.case, p.impl, p.peer)),
      ];
    },
  );
  if (rows.length === 0) return '';
  return table(['operations / s', 'switchyard', 'compared with', 'ratio'], rows);
}

const THROUGHPUT_CASES = [
  ['app-throughput', '10 distinct listeners, `{ n: i }` per publish'],
  ['throughput', 'best case (JIT): closures of one function, one shared payload'],
];

function throughputSection(doc) {
  if (!doc.throughput?.length) return '';
  const rows = THROUGHPUT_CASES.flatMap(([caseName, caseTitle]) =>
    RUNTIME_ORDER.flatMap((runtime) =>
      doc.throughput
        .filter((t) => t.runtime === runtime && (t.case ?? 'throughput') === caseName)
        .map((t) => [
          RUNTIME_TITLES[runtime],
          caseTitle,
          IMPL_TITLES[t.impl] ?? t.impl,
          t.messages.toLocaleString('en-US'),
          formatRate(t.messagesPerSec),
          formatRate(t.deliveriesPerSec),
          `${t.p50Us.toFixed(2)} µs`,
          `${t.p99Us.toFixed(2)} µs`,
          `${t.maxUs.toFixed(1)} µs`,
          String(t.chunk),
        ]),
    ),
  );
  return `## Throughput: messages through 10 subscriptions

Every message matches all 10 subscriptions (5 exact, 5 wildcard patterns for switchyard; 10 listeners on
one event for eventemitter3, the reference). The realistic rows use 10 different listener functions and
allocate the payload per publish; the best-case rows use closures of one function and one shared payload.
Publishes are timed in chunks with \`performance.now()\` (at least 100 messages, and enough to last 50
ticks of the runtime's timer, so a chunk's time is not rounding); p50 / p99 / worst are over the chunks'
time per message, handlers included. A single publish slower than its chunk's average is diluted by the
chunk: p99 here is a p99 of chunk averages. "Features" means \`traceCapacity: 4096\` and a retry policy;
metrics are always collected.

${table(['runtime', 'listeners', 'implementation', 'messages', 'messages / s', 'deliveries / s', 'p50 per message', 'p99 per message', 'worst chunk, per message', 'chunk'], rows)}`;
}

function sizeSection(doc) {
  if (!doc.sizes?.length) return '';
  const rows = doc.sizes.map((s) => [
    IMPL_TITLES[s.impl] ?? s.impl,
    formatBytes(s.minBytes),
    `**${formatBytes(s.gzipBytes)}**`,
    s.parts ? s.parts.map((p) => `${p.name} ${formatBytes(p.gzipBytes)}`).join(', ') : (s.note ?? ''),
  ]);
  return `## Size shipped to a browser

Each library's import (\`EventBus\` from switchyard, \`Subject\` from rxjs, the default or emitter export
from the others) bundled and minified by esbuild as an app's bundler would, then gzipped (level 9).
switchyard counts its JavaScript glue and its \`.wasm\`.

${table(['library', 'minified', 'min + gzip', 'parts (gzip)'], rows)}`;
}

function nativeSection(doc) {
  if (!doc.native?.benchmarks?.length) return '';
  const rows = naturalSort(doc.native.benchmarks).map((b) => [
    `\`${b.id}\``,
    formatNs(b.medianNs),
    `${formatNs(b.lowerNs)} – ${formatNs(b.upperNs)}`,
    b.elementsPerIteration ? `${formatNs(b.medianNs / b.elementsPerIteration)} per element` : '',
    b.elementsPerIteration ? `${formatRate((b.elementsPerIteration * 1e9) / b.medianNs)} elements / s` : '',
  ]);
  const footprint = (doc.native.footprint ?? []).map((line) => `- \`${line}\``).join('\n');
  return `## Native engine (criterion)

\`${doc.native.command}\`, ${doc.native.date?.slice(0, 16).replace('T', ' ')} UTC, ${doc.native.rustc ?? ''}.
Median time per iteration from criterion's \`estimates.json\` (with its 95 % confidence interval);
"per element" divides by the throughput the benchmark declares (deliveries, for \`publish_deliver/N\`).

${table(['benchmark', 'median / iteration', '95 % CI', 'per element', 'rate'], rows)}${
    footprint ? `\n\nMemory, as the benchmarks print it:\n\n${footprint}` : ''
  }`;
}

function framesSection(doc) {
  const frames = doc.frames;
  if (!frames || typeof frames !== 'object') return '';
  const rows = Object.entries(frames)
    .filter(([, v]) => ['number', 'string', 'boolean'].includes(typeof v))
    .map(([k, v]) => [`\`${k}\``, typeof v === 'number' ? String(Math.round(v * 100) / 100) : String(v)]);
  if (rows.length === 0) return '';
  return `## Visualiser frame time during \`storm\`

From \`target/bench/frames.json\`, written by the visualiser's end-to-end test in headless Chromium
(requestAnimationFrame timestamps; the goal is p95 ≤ 16.7 ms).

${table(['measure', 'value'], rows)}`;
}

function mqttSection(doc) {
  const m = doc.mqtt;
  if (!m || !Array.isArray(m.report)) return '';
  const acked = m.report.every((r) => Number.isFinite(r.ackedPerSec));
  const rows = m.report.map((r) => [
    r.impl,
    `${formatRate(r.msgsPerSec)} / s`,
    ...(acked ? [`${formatRate(r.ackedPerSec)} / s`] : []),
    `${r.p50Ms} ms`,
    `${r.p99Ms} ms`,
  ]);
  const ackedText = acked
    ? ` Acknowledged: the rate to the sender's last PUBACK (mqtt.js's publish callbacks; the bridge's outbox empty), ratio ${m.ackedRatio}×.`
    : '';
  const perRound = Array.isArray(m.roundRatios) && m.roundRatios.length > 1
    ? `; bridge ÷ mqtt.js alone within each round (back to back, under the same load): ${m.roundRatios.map((r) => `${r}×`).join(', ')}`
    : '';
  const framedText = Number.isFinite(m.framedRatio)
    ? ` The third row is not a baseline: mqtt.js given the bridge's framing (what is written in one turn leaves as one WebSocket frame; plain mqtt.js in Node sends a frame per packet chunk, ~10 per message): the bridge reaches ${m.framedRatio}× of it, what the bridge's own work (outbox, user properties, duplicate check, the bus) costs.`
    : '';
  return `## MQTT bridge (\`switchyard/bridge\` \`connectMqtt\`) next to mqtt.js alone

From \`target/bench/mqtt.json\`, written by \`tests/bench/mqtt.mjs\` (${m.date.slice(0, 16)}Z, ${m.node}, ${m.broker},
load average ${m.loadAverageStart !== undefined ? `${m.loadAverageStart} at the start, ${m.loadAverage} at the end on 2 cores` : (m.loadAverage ?? '?')}): ${m.messages} messages of \`{ n, at }\` at QoS 1 from one client to another on the
same broker, every message sent at once (mqtt.js queues them; the bridge's outbox sends ${m.maxInFlight ?? 1024} at a time);
median of ${m.rounds} rounds, taking turns. Latency is sent → received, so at this load it is mostly
queueing. Ratio (received): ${m.ratio}× (goal ≥ ${m.goal}×)${perRound}.${ackedText}${framedText}

${table(['', 'messages / s received', ...(acked ? ['acknowledged / s'] : []), 'p50 latency', 'p99 latency'], rows)}`;
}

/** Benchmarks ordered by id, numbers in ids compared as numbers (`x/3` before `x/10`). */
function naturalSort(benchmarks) {
  const collator = new Intl.Collator('en', { numeric: true });
  return [...benchmarks].sort((a, b) => collator.compare(a.id, b.id));
}

/** The core's goals (issue 3) from the criterion ids its benchmarks use, where present. */
function nativeGoalRows(doc, verdict) {
  const rows = [];
  const byId = new Map((doc.native?.benchmarks ?? []).map((b) => [b.id, b]));
  for (const group of ['publish_deliver', 'inline_deliver']) {
    const runs = naturalSort([...byId.values()].filter((b) => b.id.startsWith(`${group}/`) && b.elementsPerIteration));
    if (runs.length === 0) continue;
    const perDelivery = runs.map((b) => b.medianNs / b.elementsPerIteration);
    const counts = runs.map((b) => b.id.slice(group.length + 1)).join(' / ');
    rows.push([
      `native: one immediate delivery (\`${group}\`, ${counts} subscriptions)`,
      '≤ 50 ns',
      perDelivery.map(formatNs).join(' / '),
      verdict(perDelivery.every((ns) => ns <= 50)),
    ]);
  }
  for (const group of ['route_cold', 'route_warm']) {
    const few = byId.get(`${group}/10`);
    const many = byId.get(`${group}/100000`);
    if (!few || !many) continue;
    const ratio = many.medianNs / few.medianNs;
    rows.push([
      `native: routing with 100 000 vs 10 non-matching patterns (\`${group}\`)`,
      '≤ 2×',
      `${formatRatio(ratio)} (${formatNs(many.medianNs)} vs ${formatNs(few.medianNs)})`,
      verdict(ratio <= 2),
    ]);
  }
  for (const line of doc.native?.footprint ?? []) {
    const queued = /queued reference (\d+) B/.exec(line);
    if (queued) rows.push(['native: bytes per queued message reference', '≤ 32 B', `${queued[1]} B`, verdict(Number(queued[1]) <= 32)]);
    const subscription = /subscription (\d+) B(?: \+ profile (\d+) B)?/.exec(line);
    if (subscription) {
      const total = Number(subscription[1]) + Number(subscription[2] ?? 0);
      const parts = subscription[2] ? ` (${subscription[1]} B + profile ${subscription[2]} B)` : '';
      rows.push(['native: bytes per subscription', '≤ 100 B', `${total} B${parts}`, verdict(total <= 100)]);
    }
  }
  return rows;
}

/**
 * The goals of the benchmark issues (7, then 13), each with what was measured. Every emit and
 * throughput goal is judged on the realistic cases (distinct listeners, a payload per emit), in
 * all three runtimes.
 */
function goalsSection(doc) {
  const rows = [];
  const verdict = (ok) => (ok === undefined ? '—' : ok ? 'met' : '**not met**');
  const ratioGoal = (caseName, what, peer, peerTitle, goal, impl = 'switchyard') => {
    for (const runtime of runtimesIn(doc)) {
      if (rate(doc, runtime, caseName, impl) === undefined || rate(doc, runtime, caseName, peer) === undefined) continue;
      const paired = ratioOf(doc, runtime, caseName, impl, peer);
      const goalText = goal >= 5 ? goal.toFixed(0) : goal.toFixed(1);
      rows.push([
        `${what} (${RUNTIME_TITLES[runtime]})`,
        `≥ ${goalText}× ${peerTitle}`,
        formatPairedRatio(paired),
        verdict(paired.ratio >= goal),
      ]);
    }
  };
  ratioGoal('app-emit-3', 'emit, 3 distinct listeners, payload per emit', 'eventemitter3', 'eventemitter3', 1.0);
  ratioGoal('app-emit-10', 'emit, 10 distinct listeners, payload per emit', 'eventemitter3', 'eventemitter3', 1.2);
  ratioGoal('app-emit-3', 'emit, 3 distinct listeners, payload per emit', 'tseep', 'tseep', 0.5);
  ratioGoal('app-wildcard-1000', 'wildcards, 1 000 patterns, 1 000 rotating topics', 'eventemitter2', 'EventEmitter2', 5);
  ratioGoal('compat-emit-3', 'switchyard/compat EventEmitter, 3 distinct listeners', 'eventemitter3', 'eventemitter3', 0.8, 'switchyard/compat');
  ratioGoal('compat-mitt-3', 'switchyard/compat mitt, 3 distinct listeners', 'mitt', 'mitt', 0.8, 'switchyard/compat');
  for (const runtime of RUNTIME_ORDER) {
    const t = (doc.throughput ?? []).find(
      (row) => row.runtime === runtime && row.case === 'app-throughput' && row.impl === 'switchyard+features',
    );
    if (!t) continue;
    const what = `features on, 10 subscriptions, distinct listeners (${RUNTIME_TITLES[runtime]})`;
    rows.push([what, '≥ 1 M deliveries / s', `${formatRate(t.deliveriesPerSec)} / s`, verdict(t.deliveriesPerSec >= 1e6)]);
    rows.push([what, 'p99 dispatch ≤ 10 µs per message', `${t.p99Us.toFixed(2)} µs`, verdict(t.p99Us <= 10)]);
  }
  rows.push(...nativeGoalRows(doc, verdict));
  const size = doc.sizes?.find((s) => s.impl === 'switchyard');
  if (doc.mqtt?.ratio) {
    const perRound = doc.mqtt.roundRatios ?? [];
    const spread = perRound.length > 1 ? ` (${formatRatio(perRound[0])}–${formatRatio(perRound[perRound.length - 1])} per round, load average ${doc.mqtt.loadAverageStart ?? doc.mqtt.loadAverage})` : '';
    rows.push(['MQTT bridge vs mqtt.js alone, QoS 1 (Node, issue 17)', '≥ 0.8× msgs/s', `${formatRatio(doc.mqtt.ratio)}${spread}`, verdict(doc.mqtt.ratio >= 0.8)]);
  }
  if (size) rows.push(['package shipped to a browser (issue 12)', '≤ 96 KB min+gzip', formatBytes(size.gzipBytes), verdict(size.gzipBytes <= 96 * 1024)]);
  if (rows.length === 0) return '';
  return `## Goals

Reported, not asserted in tests (issues 7, 13 and 15). The emit, wildcard and throughput goals are judged on
the realistic cases: each listener its own function, a payload allocated per emit (see "Realistic
cases" under each runtime). The best-case tables further down show what the JIT makes of closures of
one function and one shared payload; they are not the product's speed.

${table(['what', 'goal', 'measured', 'verdict'], rows)}`;
}

function machineLine(doc) {
  const m = doc.machine;
  const browsers = Object.values(m.browsers ?? {}).join(', ');
  return `${m.cpu}, ${m.cores} cores, ${m.memoryGiB} GiB, ${m.os}; Node ${m.node}; ${browsers}.`;
}

/** "`cargo xtask bench` (node, chromium, firefox) and `cargo xtask bench --native` (native)". */
function producedBy(doc) {
  const byCommand = new Map();
  const note = (command, what) => {
    if (!command) return;
    if (!byCommand.has(command)) byCommand.set(command, []);
    byCommand.get(command).push(what);
  };
  for (const runtime of RUNTIME_ORDER) {
    note(doc.runtimes?.[runtime]?.command, runtime);
    for (const update of doc.runtimes?.[runtime]?.updates ?? []) note(update.command, `${runtime} ${update.only} cases`);
  }
  if (doc.native?.benchmarks?.length) note(doc.native.command, 'native');
  if (byCommand.size === 0) return `\`${doc.command}\``;
  return [...byCommand].map(([command, what]) => `\`${command}\` (${what.join(', ')})`).join(' and ');
}

export const DEFAULT_EXPLANATION = readFileSync(
  join(dirname(fileURLToPath(import.meta.url)), 'EXPLANATION.md'),
  'utf8',
).trim();

/** The document for `doc` (results.json), keeping `handWritten` as the explanation section. */
export function renderReport(doc, handWritten = DEFAULT_EXPLANATION) {
  const perRuntime = runtimesIn(doc).map((runtime) => {
    const app = [
      emitTable(doc, runtime, APP_EMIT_CASES),
      pairedTable(doc, runtime, APP_PAIRED_CASES),
      costTable(doc, runtime, 'app-emit-', 'realistic cases'),
    ].filter(Boolean);
    const best = [
      emitTable(doc, runtime, BEST_EMIT_CASES),
      pairedTable(doc, runtime, PAIRED_CASES),
      costTable(doc, runtime, 'emit-', 'best case'),
    ].filter(Boolean);
    return [
      runtimeHeading(doc, runtime),
      app.length ? `#### Realistic cases: distinct listener functions, a payload allocated per emit\n\n${app.join('\n\n')}` : '',
      best.length
        ? `#### Best case (JIT): listeners are closures of one function, one shared payload, one hot monomorphic loop\n\nWhat the JIT makes of the easiest code: it can inline the listeners into the emitter's loop and drop what the loop allocates. Not the speed of an app.\n\n${best.join('\n\n')}`
        : '',
    ]
      .filter(Boolean)
      .join('\n\n');
  });
  const errors = (doc.errors ?? []).map((e) => `- ${e.runtime} · ${e.case} · ${e.impl}: \`${e.error.split('\n')[0]}\``);
  const sections = [
    '# Benchmarks',
    `<!-- Generated by tests/bench/report.mjs from target/bench/results.json. Edit only the hand-written
section between its markers; \`cargo xtask bench\` regenerates everything else. -->`,
    `Produced by ${producedBy(doc)} with switchyard ${doc.switchyard ?? '(not installed: peers only)'}, last on ${doc.machine.date.slice(0, 10)}.
Machine: ${machineLine(doc)} Rates are operations per second, the **median of the per-sample rates**
(each tinybench sample runs the operation enough times to last about a millisecond; hundreds of samples
per case). The implementations of a case take turns in six rounds, so a busier moment of the machine
slows each of them alike and the ratios compare like with like; every listener writes to a sink that
is read back, so nothing is optimised away.
Higher is better; a ratio above 1× means switchyard is faster.`,
    goalsSection(doc),
    `${HAND_WRITTEN_START}\n${handWritten}\n${HAND_WRITTEN_END}`,
    `## Per runtime\n\n${perRuntime.join('\n\n')}`,
    throughputSection(doc),
    sizeSection(doc),
    nativeSection(doc),
    framesSection(doc),
    mqttSection(doc),
    errors.length ? `## Failures in this run\n\n${errors.join('\n')}` : '',
  ];
  return `${sections.filter(Boolean).join('\n\n')}\n`;
}

/** The hand-written section of an existing document, or null. */
export function extractHandWritten(markdown) {
  const start = markdown.indexOf(HAND_WRITTEN_START);
  const end = markdown.indexOf(HAND_WRITTEN_END);
  if (start < 0 || end < start) return null;
  return markdown.slice(start + HAND_WRITTEN_START.length, end).trim();
}

/** Regenerates `docPath` from `doc`, preserving its hand-written section. */
export function writeReport(doc, docPath) {
  const existing = existsSync(docPath) ? extractHandWritten(readFileSync(docPath, 'utf8')) : null;
  mkdirSync(dirname(docPath), { recursive: true });
  writeFileSync(docPath, renderReport(doc, existing ?? DEFAULT_EXPLANATION));
}

if (process.argv[1] && resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
  const repoRoot = resolve(dirname(fileURLToPath(import.meta.url)), '..', '..');
  const { values } = parseArgs({
    options: {
      results: { type: 'string', default: join(repoRoot, 'target', 'bench', 'results.json') },
      doc: { type: 'string', default: join(repoRoot, 'docs', 'BENCHMARKS.md') },
    },
  });
  writeReport(JSON.parse(readFileSync(values.results, 'utf8')), values.doc);
  process.stderr.write(`wrote ${values.doc}\n`);
}
