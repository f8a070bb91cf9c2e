// Combines the reports of one case family measured in several fresh processes (`--processes N`).
//
// A JIT settles a hot loop once per process: SpiderMonkey, for one, lands eventemitter3's emit loop
// at ~13 M or ~23 M emits/s depending on the process, and no number of rounds inside the process
// mixes the two. One process is then one draw. Several fresh processes give a distribution: each
// row keeps every process's median (`processRates`, in process order), reports the median of them
// as `opsPerSec`, and a ratio between two implementations is the median of the per-process ratios
// (both measured in the same process, interleaved), see `pairedRatio`.
//
//   const report = combineProcesses([reportOfProcess1, reportOfProcess2, reportOfProcess3]);

/** The median of numbers (the mean of the middle two for an even count); NaN for none. */
export function median(values) {
  const sorted = [...values].sort((a, b) => a - b);
  if (sorted.length === 0) return Number.NaN;
  const middle = sorted.length >> 1;
  return sorted.length % 2 === 1 ? sorted[middle] : (sorted[middle - 1] + sorted[middle]) / 2;
}

const rowKey = (row) => `${row.case}\u0000${row.impl}`;

/** Rows grouped by (case, impl), in first-seen order. */
function groupRows(lists) {
  const groups = new Map();
  for (const rows of lists) {
    for (const row of rows) {
      const key = rowKey(row);
      if (!groups.has(key)) groups.set(key, []);
      groups.get(key).push(row);
    }
  }
  return [...groups.values()];
}

/** One result row from the same (case, impl) measured in each process. */
function combineResultRows(rows) {
  const failed = rows.find((row) => 'error' in row);
  if (failed) return failed;
  const processRates = rows.map((row) => row.opsPerSec);
  return {
    ...rows[0],
    opsPerSec: median(processRates),
    samples: rows.reduce((sum, row) => sum + row.samples, 0),
    spread: median(rows.map((row) => row.spread)),
    processRates,
  };
}

/** The throughput row of the process with the median delivery rate (its latencies belong to it). */
function combineThroughputRows(rows) {
  const sorted = [...rows].sort((a, b) => a.deliveriesPerSec - b.deliveriesPerSec);
  return { ...sorted[(sorted.length - 1) >> 1], processes: rows.length };
}

/** One report from the reports of several processes that measured the same family. */
export function combineProcesses(reports) {
  if (reports.length === 1) return reports[0];
  const errors = groupRows(reports.map((r) => r.errors)).map((rows) => rows[0]);
  const failed = new Set(errors.map(rowKey));
  return {
    ...reports[0],
    results: groupRows(reports.map((r) => r.results))
      .map(combineResultRows)
      .filter((row) => 'error' in row || !failed.has(rowKey(row))),
    throughput: groupRows(reports.map((r) => r.throughput)).map(combineThroughputRows),
    errors,
    timerResolutionUs: Math.max(...reports.map((r) => r.timerResolutionUs)),
    sink: reports.reduce((sum, r) => sum + r.sink, 0),
  };
}

/**
 * `ours / theirs` for two rows measured in the same processes: the median of the per-process
 * ratios, with their range, when both rows carry `processRates` of one length; otherwise the
 * ratio of the two medians (range null).
 */
export function pairedRatio(ours, theirs) {
  const a = ours?.processRates;
  const b = theirs?.processRates;
  if (Array.isArray(a) && Array.isArray(b) && a.length === b.length && a.length > 1) {
    const ratios = a.map((rate, i) => rate / b[i]);
    return { ratio: median(ratios), min: Math.min(...ratios), max: Math.max(...ratios), processes: ratios.length };
  }
  return { ratio: ours?.opsPerSec / theirs?.opsPerSec, min: null, max: null, processes: 1 };
}
