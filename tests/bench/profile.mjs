// Runs one benchmark case in a plain loop for a while, for a profiler to look at:
//
//   node --cpu-prof --cpu-prof-dir target/bench/profiles bench/profile.mjs \
//        --case app-emit-3 --impl switchyard --switchyard <install>/switchyard-bench-entry.mjs [--seconds 3]
//   perf record -g node --perf-basic-prof bench/profile.mjs ...   (JIT frames named through /tmp/perf-PID.map)
//
// `--switchyard` names an ES module re-exporting the installed package (as node.mjs takes it).
// Prints the rate it measured (emits per second over the last half of the run) on stderr.
import { pathToFileURL } from 'node:url';
import { parseArgs } from 'node:util';
import { peers } from './peers.mjs';
import { SWITCHYARD_FEATURES, buildCases, familyOf, makeSitesMegamorphic, sink } from './cases.mjs';

const { values } = parseArgs({
  options: {
    case: { type: 'string', default: 'app-emit-3' },
    impl: { type: 'string', default: 'switchyard' },
    switchyard: { type: 'string' },
    seconds: { type: 'string', default: '3' },
  },
});

const switchyard = values.switchyard ? await import(pathToFileURL(values.switchyard).href) : null;
const found = buildCases({ peers, switchyard }).find((c) => c.case === values.case && c.impl === values.impl);
if (!found) {
  process.stderr.write(`no case ${values.case} / ${values.impl}\n`);
  process.exit(2);
}
// As in a benchmark run of the realistic family (see `makeSitesMegamorphic`).
if (familyOf(values.case) === 'app') makeSitesMegamorphic({ peers, switchyard }, SWITCHYARD_FEATURES);
const instance = found.make();
const seconds = Number(values.seconds);
const start = performance.now();
let emits = 0;
let timedEmits = 0;
let timedStart = 0;
const chunk = 10_000;
while (performance.now() - start < seconds * 1000) {
  await instance.run(chunk);
  emits += chunk;
  if (timedStart === 0 && performance.now() - start >= (seconds * 1000) / 2) timedStart = performance.now();
  else if (timedStart !== 0) timedEmits += chunk;
}
const rate = (timedEmits * 1000) / (performance.now() - timedStart);
instance.dispose();
process.stderr.write(`${values.case} ${values.impl}: ${(rate / 1e6).toFixed(2)} M emits/s (${emits} emits, sink ${sink.n})\n`);
