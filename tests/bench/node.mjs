// The Node runner: `node node.mjs [--quick] [--only emit-3,churn] [--family app|best] [--switchyard <module>]`.
// Logs progress on stderr and prints one JSON document `{ runtime, results, throughput, ... }` on
// stdout. `--switchyard` names an ES module that re-exports the installed package (run.mjs writes one
// next to the tarball's install, so `switchyard` resolves exactly as it does for a user).
import { pathToFileURL } from 'node:url';
import { parseArgs } from 'node:util';
import { peers } from './peers.mjs';
import { runAll } from './harness.mjs';

const { values } = parseArgs({
  options: {
    quick: { type: 'boolean', default: false },
    only: { type: 'string', default: '' },
    switchyard: { type: 'string' },
    family: { type: 'string' },
  },
});

const switchyard = values.switchyard ? await import(pathToFileURL(values.switchyard).href) : null;
const only = values.only ? values.only.split(',').filter(Boolean) : [];
const report = await runAll(
  { peers, switchyard },
  { quick: values.quick, only, family: values.family, log: (line) => process.stderr.write(`[node] ${line}\n`) },
);
process.stdout.write(
  `${JSON.stringify({ runtime: 'node', version: process.version, userAgent: `Node.js ${process.version} (V8 ${process.versions.v8})`, ...report })}\n`,
);
