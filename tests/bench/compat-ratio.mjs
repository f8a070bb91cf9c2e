// The compat cases (cases-compat.mjs) alone, in Node, in one process: tinybench, each library with
// its own loop, the pair measured in turn three times (so a busy machine slows both alike), the
// median of each. From tests/:
//   node bench/compat-ratio.mjs <folder holding node_modules/switchyard>
import { createRequire } from 'node:module';
import { join } from 'node:path';
import { Bench } from 'tinybench';
import { compatCases } from './cases-compat.mjs';
import { peers } from './peers.mjs';

async function main(installDir) {
  const require = createRequire(join(installDir, 'package.json'));
  const switchyard = { ...require('switchyard'), compat: require('switchyard/compat') };
  const sink = { n: 0 };
  const perSample = 2000;
  for (const name of ['compat-emit-3', 'compat-mitt-3']) {
    const pair = compatCases({ peers, switchyard }, sink).filter(([c]) => c === name);
    const bench = new Bench({ time: 3000, warmupTime: 500 });
    const instances = pair.map(([, impl, make]) => [impl, make()]);
    for (const [impl, instance] of instances) bench.add(impl, () => instance.run(perSample));
    // Interleaved: tinybench runs task by task, so run the pair several times in turn.
    const rates = new Map(instances.map(([impl]) => [impl, []]));
    for (let round = 0; round < 3; round++) {
      await bench.run();
      for (const task of bench.tasks) rates.get(task.name).push((perSample * 1000) / task.result.latency.p50);
    }
    const median = (xs) => xs.sort((a, b) => a - b)[xs.length >> 1];
    const [peer, ours] = [...rates.entries()].map(([impl, xs]) => [impl, median(xs)]);
    console.log(
      `${name}: ${peer[0]} ${(peer[1] / 1e6).toFixed(2)} M emits/s, ${ours[0]} ${(ours[1] / 1e6).toFixed(2)} M emits/s: ${(ours[1] / peer[1]).toFixed(2)}x`,
    );
    for (const [, instance] of instances) instance.dispose();
  }
  if (sink.n === 0) throw new Error('no listener ran');
}

if (!process.argv[2]) {
  console.error('usage: node bench/compat-ratio.mjs <folder holding node_modules/switchyard>');
  process.exit(2);
}
await main(process.argv[2]);
