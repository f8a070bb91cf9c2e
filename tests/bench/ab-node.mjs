// A/B comparison of switchyard builds in one Node process, interleaved (the Node twin of
// ab-browser.mjs): each build gets its own bus and its own generated emit loop (no call site is
// shared between builds), every emitter's dispatch sites are made megamorphic first, then the
// builds run in alternating slices; the medians are compared. From tests/:
//
//   node bench/ab-node.mjs --listeners 3 --rounds 40 eventemitter3 before=/tmp/a after=/tmp/b
//
// A variant is `label=<install folder holding node_modules/switchyard>` or `eventemitter3`.
import { createRequire } from 'node:module';
import { join, resolve } from 'node:path';
import { parseArgs } from 'node:util';
import { peers } from './peers.mjs';
import { distinctListeners } from './app-cases.mjs';
import { sink } from './sink.mjs';

const { values, positionals } = parseArgs({
  allowPositionals: true,
  options: {
    listeners: { type: 'string', default: '3' },
    rounds: { type: 'string', default: '40' },
    slice: { type: 'string', default: '50000' },
  },
});
const listeners = Number(values.listeners);
const slice = Number(values.slice);

const subjects = positionals.map((arg) => {
  const eq = arg.indexOf('=');
  const label = eq < 0 ? arg : arg.slice(0, eq);
  let make;
  if (eq < 0) {
    make = () => {
      const ee = new peers.EventEmitter3();
      return { on: (t, f) => ee.on(t, f), target: ee, call: 'emit' };
    };
  } else {
    const require = createRequire(join(resolve(arg.slice(eq + 1)), 'package.json'));
    const { EventBus } = require('switchyard');
    make = () => {
      const bus = new EventBus();
      return { on: (t, f) => bus.subscribe(t, f), target: bus, call: 'publish' };
    };
  }
  for (let r = 0; r < 3; r++) {
    const warm = make();
    distinctListeners(10, r).forEach((fn) => warm.on('warm.up', fn));
    for (let i = 0; i < 3000; i++) warm.target[warm.call]('warm.up', { n: i });
  }
  const made = make();
  distinctListeners(listeners).forEach((fn) => made.on('orders.created', fn));
  const name = label.replace(/\W/g, '_');
  // eslint-disable-next-line no-new-func
  const run = new Function('T', `return function run_${name}(n) { for (let i = 0; i < n; i++) T.${made.call}('orders.created', { n: i }); }`)(made.target);
  return { label, run, rates: [] };
});

for (const s of subjects) s.run(slice);
for (let round = 0; round < Number(values.rounds); round++) {
  for (const s of subjects) {
    const t0 = performance.now();
    s.run(slice);
    s.rates.push(slice / (performance.now() - t0) / 1e3);
  }
}
const median = (xs) => [...xs].sort((a, b) => a - b)[xs.length >> 1];
const base = median(subjects[0].rates);
console.log(`node, ${listeners} distinct listeners, ${values.rounds} interleaved rounds, M emits/s (median; sink ${sink.n})`);
for (const s of subjects) {
  console.log(`${s.label.padEnd(20)} ${median(s.rates).toFixed(2).padStart(7)}  ${(median(s.rates) / base).toFixed(2)}× ${subjects[0].label}`);
}
