// The page side of ab-browser.mjs: loads each variant's `switchyard` build (by URL) and
// eventemitter3, gives each its own bus and its own generated emit loop (so no call site is shared
// between variants), makes their dispatch sites megamorphic, then times interleaved slices and
// posts the per-slice rates back.
import { peers } from './peers.mjs';
import { distinctListeners } from './app-cases.mjs';
import { sink } from './sink.mjs';

const params = new URLSearchParams(location.search);
const runtime = params.get('runtime') ?? 'browser';
const listeners = Number(params.get('listeners') ?? 3);
const rounds = Number(params.get('rounds') ?? 30);
const sliceMs = Number(params.get('sliceMs') ?? 40);
const variants = JSON.parse(params.get('variants'));
const post = (path, body) =>
  fetch(path, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(body) });

try {
  const subjects = [];
  for (const { label, url } of variants) {
    let make;
    if (url === null) {
      make = () => {
        const ee = new peers.EventEmitter3();
        return { on: (t, f) => ee.on(t, f), target: ee, call: 'emit' };
      };
    } else {
      const { EventBus } = await import(url);
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
    subjects.push({ label, run, perSlice: 1000, rates: [] });
  }
  for (const s of subjects) {
    // Calibrate a slice to about sliceMs.
    for (let k = 0; k < 4; k++) {
      const t0 = performance.now();
      s.run(s.perSlice);
      const ms = performance.now() - t0;
      s.perSlice = Math.max(100, Math.round((s.perSlice * sliceMs) / Math.max(ms, 0.05)));
    }
  }
  for (let round = 0; round < rounds; round++) {
    for (const s of subjects) {
      const t0 = performance.now();
      s.run(s.perSlice);
      s.rates.push(s.perSlice / (performance.now() - t0) / 1e3);
    }
    await new Promise((resolve) => setTimeout(resolve, 0));
  }
  await post('/results', {
    runtime,
    results: subjects.map((s) => ({ label: s.label, rates: s.rates })),
    throughput: [],
    errors: [],
    sink: sink.n,
  });
} catch (error) {
  await post('/error', { runtime, error: String(error?.stack ?? error) });
}
