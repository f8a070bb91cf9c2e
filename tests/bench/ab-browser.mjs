// A/B comparison of switchyard builds in a browser, interleaved in one page (see ab-page.mjs):
//
//   node bench/ab-browser.mjs --runtime firefox --listeners 3 --rounds 30 \
//        before=/tmp/a after=/tmp/b eventemitter3
//
// A variant is `label=<install folder holding node_modules/switchyard>` or `eventemitter3`.
// Prints each variant's median M emits/s over the rounds and its ratio to the first variant.
import { mkdtempSync, mkdirSync, symlinkSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { bundleBrowserRunner, resolveBrowserEntry, runInBrowser, startServer } from './browsers.mjs';

const here = dirname(fileURLToPath(import.meta.url));
const { values, positionals } = parseArgs({
  allowPositionals: true,
  options: {
    runtime: { type: 'string', default: 'firefox' },
    listeners: { type: 'string', default: '3' },
    rounds: { type: 'string', default: '30' },
    sliceMs: { type: 'string', default: '40' },
  },
});
// One served folder holding every variant's package under its label.
const root = mkdtempSync(join(tmpdir(), 'switchyard-ab-'));
const served = join(root, 'node_modules', 'switchyard');
mkdirSync(served, { recursive: true });
const variants = [];
for (const arg of positionals) {
  const eq = arg.indexOf('=');
  if (eq < 0) {
    variants.push({ label: arg, url: null });
    continue;
  }
  const label = arg.slice(0, eq);
  const install = resolve(arg.slice(eq + 1));
  symlinkSync(join(install, 'node_modules', 'switchyard'), join(served, label));
  variants.push({ label, url: `/pkg/${label}/${await resolveBrowserEntry(install)}` });
}
const log = (line) => process.stderr.write(`${line}\n`);
const server = await startServer({ bundle: await bundleBrowserRunner(join(here, 'ab-page.mjs')), installDir: root, switchyardEntry: null, log });
try {
  const report = await runInBrowser(server, values.runtime, {
    query: { variants: JSON.stringify(variants), listeners: values.listeners, rounds: values.rounds, sliceMs: values.sliceMs },
    timeoutMs: 10 * 60_000,
    logDir: root,
    log: () => {},
  });
  const median = (xs) => [...xs].sort((a, b) => a - b)[xs.length >> 1];
  const base = median(report.results[0].rates);
  console.log(`${values.runtime}, ${values.listeners} distinct listeners, ${values.rounds} interleaved rounds, M emits/s (median)`);
  for (const r of report.results) {
    console.log(`${r.label.padEnd(20)} ${median(r.rates).toFixed(2).padStart(7)}  ${(median(r.rates) / base).toFixed(2)}× ${report.results[0].label}`);
  }
} finally {
  await server.close();
}
