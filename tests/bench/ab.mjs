// A/B comparison of switchyard builds (and peers) on one case, for a shared, noisy machine: each
// round runs every variant once, in a fresh Node process (profile.mjs), in turn; the medians over
// the rounds are compared. Ratios within a round share the machine's load, so they are steadier
// than absolute rates.
//
//   node bench/ab.mjs --case app-emit-3 --rounds 7 --seconds 1 \
//        before=/tmp/a/switchyard-bench-entry.mjs after=/tmp/b/switchyard-bench-entry.mjs eventemitter3
//
// A variant is `label=<entry module>` (the switchyard case, that build) or a peer's implementation
// name (its own case, no package).
import { spawnSync } from 'node:child_process';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';

const here = dirname(fileURLToPath(import.meta.url));
const { values, positionals } = parseArgs({
  allowPositionals: true,
  options: {
    case: { type: 'string', default: 'app-emit-3' },
    rounds: { type: 'string', default: '5' },
    seconds: { type: 'string', default: '1' },
    impl: { type: 'string', default: 'switchyard' },
  },
});

const variants = positionals.map((arg) => {
  const eq = arg.indexOf('=');
  return eq < 0 ? { label: arg, impl: arg } : { label: arg.slice(0, eq), impl: values.impl, entry: arg.slice(eq + 1) };
});

const rates = new Map(variants.map((v) => [v.label, []]));
for (let round = 0; round < Number(values.rounds); round++) {
  for (const v of variants) {
    const args = [join(here, 'profile.mjs'), '--case', values.case, '--impl', v.impl, '--seconds', values.seconds];
    if (v.entry) args.push('--switchyard', v.entry);
    const run = spawnSync(process.execPath, args, { encoding: 'utf8' });
    const match = /: ([\d.]+) M emits\/s/.exec(run.stderr);
    if (!match) throw new Error(`${v.label}: ${run.stderr}`);
    rates.get(v.label).push(Number(match[1]));
  }
}
const median = (xs) => {
  const s = [...xs].sort((a, b) => a - b);
  return s.length % 2 ? s[s.length >> 1] : (s[s.length / 2 - 1] + s[s.length / 2]) / 2;
};
const base = median(rates.get(variants[0].label));
process.stdout.write(`${values.case}, ${values.rounds} rounds × ${values.seconds} s, M emits/s (median; all rounds)\n`);
for (const v of variants) {
  const m = median(rates.get(v.label));
  process.stdout.write(
    `${v.label.padEnd(22)} ${m.toFixed(2).padStart(7)}  ${(m / base).toFixed(2)}× ${variants[0].label}   [${rates.get(v.label).map((r) => r.toFixed(1)).join(' ')}]\n`,
  );
}
