// Summarises a V8 `.cpuprofile` (from `node --cpu-prof`, see profile.mjs): self time per function,
// most first, with its script and line, and the share of all samples.
//
//   node bench/profile-summary.mjs target/bench/profiles/CPU.*.cpuprofile [--top 25]
import { readFileSync } from 'node:fs';
import { basename } from 'node:path';
import { parseArgs } from 'node:util';

const { values, positionals } = parseArgs({
  allowPositionals: true,
  options: { top: { type: 'string', default: '25' } },
});

for (const file of positionals) {
  const profile = JSON.parse(readFileSync(file, 'utf8'));
  const byId = new Map(profile.nodes.map((node) => [node.id, node]));
  const selfSamples = new Map();
  for (const id of profile.samples) selfSamples.set(id, (selfSamples.get(id) ?? 0) + 1);
  const byFunction = new Map();
  for (const [id, count] of selfSamples) {
    const { functionName, url, lineNumber } = byId.get(id).callFrame;
    const key = `${functionName || '(anonymous)'} ${url ? basename(url) : ''}:${lineNumber + 1}`;
    byFunction.set(key, (byFunction.get(key) ?? 0) + count);
  }
  const total = profile.samples.length;
  process.stdout.write(`${file}: ${total} samples\n`);
  const rows = [...byFunction].sort((a, b) => b[1] - a[1]).slice(0, Number(values.top));
  for (const [key, count] of rows) {
    process.stdout.write(`${((100 * count) / total).toFixed(1).padStart(5)} %  ${key}\n`);
  }
}
