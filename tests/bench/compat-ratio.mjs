// The compat cases (cases-compat.mjs) alone, in Node, in one process: tinybench, each library with
// its own loop, the pair measured in turn in 20 short rounds (so a busy machine slows both
// alike), the median ratio of the rounds. From tests/:
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
  const median = (xs) => [...xs].sort((a, b) => a - b)[xs.length >> 1];
  for (const name of ['compat-emit-3', 'compat-mitt-3']) {
    const instances = compatCases({ peers, switchyard }, sink)
      .filter(([c]) => c === name)
      .map(([, impl, make]) => [impl, make()]);
    // Short runs of both in turn: a busy machine slows each pair alike, so the ratio per round
    // is steadier than either rate.
    const rates = instances.map(() => []);
    const ratios = [];
    for (let round = 0; round < 20; round++) {
      const bench = new Bench({ time: 150, warmupTime: 50 });
      for (const [impl, instance] of instances) bench.add(impl, () => instance.run(perSample));
      await bench.run();
      const [peer, ours] = bench.tasks.map((task, i) => {
        const rate = (perSample * 1000) / task.result.latency.p50;
        rates[i].push(rate);
        return rate;
      });
      ratios.push(ours / peer);
    }
    const [peerName, ourName] = instances.map(([impl]) => impl);
    console.log(
      `${name}: ${peerName} ${(median(rates[0]) / 1e6).toFixed(2)} M emits/s, ${ourName} ${(median(rates[1]) / 1e6).toFixed(2)} M emits/s; ratio per round: median ${median(ratios).toFixed(2)}x (min ${Math.min(...ratios).toFixed(2)}, max ${Math.max(...ratios).toFixed(2)})`,
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
