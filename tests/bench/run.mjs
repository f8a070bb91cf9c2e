// The benchmark orchestrator, run by `cargo xtask bench` (or `npm run bench` in tests/):
//
//   node bench/run.mjs [--install <dir>] [--runtime node,chromium,firefox] [--quick] [--only emit-3]
//                      [--processes N] [--out <dir>] [--doc <file>] [--command "cargo xtask bench"]
//                      [--frames <file>]
//
// `--install` is a folder where the packed tarball was installed (`<dir>/node_modules/switchyard`);
// without it only the peer libraries are measured. Runs Node in a child process, then each browser
// in turn (never two at once: the machine has two cores), measures bundle sizes, and writes
// `<out>/results.json`. Results not measured this time (other runtimes, other cases) keep their
// previous values from that file. `--processes N` measures each family in N fresh processes per
// runtime and reports medians over them (see processes.mjs); each runtime records the date and command of its last run. Finally regenerates the Markdown report (see report.mjs). Exits non-zero when
// any runtime or case failed, after writing what did succeed.
import { spawn } from 'node:child_process';
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { cpus, loadavg, totalmem, release, type } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { browserVersion, bundleBrowserRunner, resolveBrowserEntry, runInBrowser, startServer } from './browsers.mjs';
import { measureSizes } from './size.mjs';
import { writeReport } from './report.mjs';
import { FAMILIES, buildCases, throughputSubjects } from './cases.mjs';
import { peers } from './peers.mjs';
import { combineProcesses } from './processes.mjs';

const here = dirname(fileURLToPath(import.meta.url));
const repoRoot = resolve(here, '..', '..');
const JS_RUNTIMES = ['node', 'chromium', 'firefox'];

const { values } = parseArgs({
  options: {
    install: { type: 'string' },
    runtime: { type: 'string', default: JS_RUNTIMES.join(',') },
    quick: { type: 'boolean', default: false },
    only: { type: 'string', default: '' },
    processes: { type: 'string', default: '1' },
    out: { type: 'string', default: join(repoRoot, 'target', 'bench') },
    doc: { type: 'string', default: join(repoRoot, 'docs', 'BENCHMARKS.md') },
    command: { type: 'string' },
    // The visualiser's storm frame times, written by its end-to-end test (optional).
    frames: { type: 'string', default: join(repoRoot, 'target', 'bench', 'frames.json') },
  },
});

const log = (line) => process.stderr.write(`${line}\n`);
const runtimes = values.runtime.split(',').map((r) => r.trim()).filter(Boolean);
for (const runtime of runtimes) {
  if (!JS_RUNTIMES.includes(runtime)) {
    log(`unknown runtime '${runtime}' (expected some of ${JS_RUNTIMES.join(', ')})`);
    process.exit(2);
  }
}
const installDir = values.install ? resolve(values.install) : null;
if (installDir && !existsSync(join(installDir, 'node_modules', 'switchyard', 'package.json'))) {
  log(`--install ${installDir} has no node_modules/switchyard: install the packed tarball there first`);
  process.exit(2);
}
const outDir = resolve(values.out);
mkdirSync(outDir, { recursive: true });
const command = values.command ?? `node tests/bench/run.mjs ${process.argv.slice(2).join(' ')}`.trim();
const quick = values.quick;
const only = values.only;
const processes = Number(values.processes);
if (!Number.isInteger(processes) || processes < 1 || processes > 25) {
  log(`--processes ${values.processes}: expected a whole number from 1 to 25`);
  process.exit(2);
}

/**
 * Runs `measure(index)` (one fresh process) `processes` times and combines the reports of those
 * that succeeded: a process that failed (a browser that did not start, a timeout) is logged and
 * left out, and only when every one failed does the family fail.
 */
async function inFreshProcesses(measure) {
  const reports = [];
  const failures = [];
  for (let i = 0; i < processes; i++) {
    try {
      reports.push(await measure(i));
    } catch (error) {
      failures.push(error);
      log(`process ${i + 1} of ${processes} failed (left out): ${error.message}`);
    }
  }
  if (reports.length === 0) throw failures[0];
  return combineProcesses(reports);
}

/**
 * The case families (see `FAMILIES` in cases.mjs) with something to measure under `--only`. Each
 * runs in a fresh Node process and a fresh browser, so the realistic cases' megamorphic call
 * sites never reach the best cases.
 */
const families = FAMILIES.filter((family) => {
  const prefixes = only ? only.split(',').filter(Boolean) : [];
  const libs = { peers, switchyard: {} };
  const names = [
    ...buildCases(libs, { only: prefixes, family }).map((c) => c.case),
    ...throughputSubjects(libs, { family }).map((s) => s.case),
  ];
  return names.some((name) => prefixes.length === 0 || prefixes.some((prefix) => name.startsWith(prefix)));
});

/** One runtime's report from its per-family reports (rows concatenated, in family order). */
function mergeReports(parts) {
  if (parts.length === 1) return parts[0];
  return {
    ...parts[0],
    results: parts.flatMap((p) => p.results),
    throughput: parts.flatMap((p) => p.throughput),
    errors: parts.flatMap((p) => p.errors),
    timerResolutionUs: Math.max(...parts.map((p) => p.timerResolutionUs)),
    sink: parts.reduce((sum, p) => sum + p.sink, 0),
  };
}

/** Runs every family, each in a fresh node.mjs process (a clean heap and JIT, like the browsers get). */
async function runNode() {
  const parts = [];
  for (const family of families) parts.push(await inFreshProcesses(() => runNodeFamily(family)));
  return mergeReports(parts);
}

function runNodeFamily(family) {
  const args = [join(here, 'node.mjs'), '--family', family];
  if (quick) args.push('--quick');
  if (only) args.push('--only', only);
  if (installDir) {
    // Resolved from inside the install folder, so `switchyard` resolves exactly as for a user.
    const entry = join(installDir, 'switchyard-bench-entry.mjs');
    writeFileSync(entry, "export * from 'switchyard';\nexport * as compat from 'switchyard/compat';\n");
    args.push('--switchyard', entry);
  }
  return new Promise((resolvePromise, reject) => {
    const child = spawn(process.execPath, args, { cwd: here, stdio: ['ignore', 'pipe', 'inherit'] });
    let stdout = '';
    child.stdout.setEncoding('utf8');
    child.stdout.on('data', (chunk) => (stdout += chunk));
    child.on('error', reject);
    child.on('exit', (code, signal) => {
      if (code !== 0) return reject(new Error(`node runner exited with ${signal ?? code}`));
      try {
        resolvePromise(JSON.parse(stdout));
      } catch (error) {
        reject(new Error(`node runner printed no JSON: ${error.message}`));
      }
    });
  });
}

async function runBrowsers(browsers) {
  const reports = {};
  const failures = [];
  if (browsers.length === 0) return { reports, failures };
  const bundle = await bundleBrowserRunner();
  const switchyardEntry = installDir ? await resolveBrowserEntry(installDir) : null;
  if (switchyardEntry) log(`browsers load switchyard from /pkg/${switchyardEntry}`);
  const server = await startServer({ bundle, installDir, switchyardEntry, log });
  try {
    for (const runtime of browsers) {
      try {
        const parts = [];
        for (const family of families) {
          parts.push(
            await inFreshProcesses((index) =>
              runInBrowser(server, runtime, {
                query: { quick: quick ? '1' : '0', switchyard: installDir ? '1' : '0', only, family },
                timeoutMs: (quick ? 5 : 20) * 60_000,
                logDir: outDir,
                logName: processes > 1 ? `${runtime}-${family}-${index + 1}.log` : undefined,
                log,
              }),
            ),
          );
        }
        reports[runtime] = { ...mergeReports(parts), version: browserVersion(runtime) };
      } catch (error) {
        log(`${runtime} failed: ${error.message}`);
        failures.push({ runtime, error: error.message });
      }
    }
  } finally {
    await server.close();
  }
  return { reports, failures };
}

/**
 * The MQTT bridge benchmark (bench/mqtt.mjs: its own mosquitto, Node only), when Node is measured
 * with the package and `--only` is empty or names `mqtt`. Writes `<out>/mqtt.json`.
 */
function runMqtt() {
  const prefixes = only ? only.split(',').filter(Boolean) : [];
  if (!installDir || !runtimes.includes('node')) return Promise.resolve(false);
  if (prefixes.length > 0 && !prefixes.some((p) => 'mqtt'.startsWith(p) || p.startsWith('mqtt'))) return Promise.resolve(false);
  const args = [join(here, 'mqtt.mjs'), '--install', installDir, '--out', outDir];
  if (quick) args.push('--messages', '5000', '--rounds', '1');
  return new Promise((resolvePromise, reject) => {
    const child = spawn(process.execPath, args, { cwd: here, stdio: ['ignore', 'inherit', 'inherit'] });
    child.on('error', reject);
    child.on('exit', (code, signal) => (code === 0 ? resolvePromise(true) : reject(new Error(`bench/mqtt.mjs exited with ${signal ?? code}`))));
  });
}

function readJson(path) {
  return existsSync(path) ? JSON.parse(readFileSync(path, 'utf8')) : null;
}

async function main() {
  const reports = {};
  const failures = [];
  if (runtimes.includes('node')) {
    try {
      reports.node = { ...(await runNode()), version: `Node.js ${process.version}` };
    } catch (error) {
      log(`node failed: ${error.message}`);
      failures.push({ runtime: 'node', error: error.message });
    }
  }
  try {
    await runMqtt();
  } catch (error) {
    log(`mqtt failed: ${error.message}`);
    failures.push({ runtime: 'node', error: `mqtt: ${error.message}` });
  }
  const browsers = await runBrowsers(runtimes.filter((r) => r !== 'node'));
  Object.assign(reports, browsers.reports);
  failures.push(...browsers.failures);

  const resultsPath = join(outDir, 'results.json');
  const previous = readJson(resultsPath);
  const date = new Date().toISOString();
  // A row measured now replaces the same (runtime, case, implementation) from before; the rest of
  // the previous rows stay (a `--runtime` or `--only` run updates just what it measured).
  const key = (row) => `${row.runtime}\u0000${row.case ?? 'throughput'}\u0000${row.impl}`;
  const fresh = new Set(
    Object.entries(reports).flatMap(([runtime, report]) =>
      [...report.results, ...report.throughput.map((t) => ({ case: 'throughput', ...t })), ...report.errors].map((row) =>
        key({ runtime, ...row }),
      ),
    ),
  );
  const keep = (rows) => (rows ?? []).filter((row) => !fresh.has(key(row)));
  const runtimeInfo = { ...(previous?.runtimes ?? {}) };
  const results = keep(previous?.results);
  const throughput = keep(previous?.throughput);
  const errors = keep(previous?.errors);
  for (const [runtime, report] of Object.entries(reports)) {
    const before = runtimeInfo[runtime];
    if (only && before) {
      // A partial run: the runtime's heading still describes its last full run; note the update.
      const updates = [...(before.updates ?? []), { command, date, only, processes }];
      runtimeInfo[runtime] = { ...before, updates };
      results.push(...report.results.map((row) => ({ runtime, ...row })));
      throughput.push(...report.throughput.map((row) => ({ runtime, ...row })));
      errors.push(...report.errors.map((row) => ({ runtime, ...row })));
      continue;
    }
    runtimeInfo[runtime] = {
      version: report.version,
      userAgent: report.userAgent,
      date,
      command,
      quick,
      processes,
      timerResolutionUs: report.timerResolutionUs,
      // 1-minute load average when the runtime finished: how much else the 2 cores were doing.
      loadAverage: Math.round(loadavg()[0] * 10) / 10,
      crossOriginIsolated: report.crossOriginIsolated ?? null,
      sink: report.sink,
    };
    results.push(...report.results.map((row) => ({ runtime, ...row })));
    throughput.push(...report.throughput.map((row) => ({ runtime, ...row })));
    errors.push(...report.errors.map((row) => ({ runtime, ...row })));
  }

  const document = {
    machine: {
      cpu: cpus()[0]?.model ?? 'unknown',
      cores: cpus().length,
      memoryGiB: Math.round(totalmem() / 2 ** 30),
      os: `${type()} ${release()}`,
      node: process.version,
      browsers: Object.fromEntries(JS_RUNTIMES.filter((r) => r !== 'node').map((r) => [r, browserVersion(r)])),
      date,
    },
    command,
    switchyard: installDir
      ? JSON.parse(readFileSync(join(installDir, 'node_modules', 'switchyard', 'package.json'), 'utf8')).version
      : (previous?.switchyard ?? null),
    runtimes: runtimeInfo,
    results,
    throughput,
    errors,
    // Without the package this run cannot size it: keep the last measurement that could.
    sizes: installDir || !previous?.sizes ? await measureSizes(installDir) : previous.sizes,
    native: readJson(join(outDir, 'native.json')) ?? previous?.native ?? null,
    frames: readJson(resolve(values.frames)) ?? previous?.frames ?? null,
    mqtt: readJson(join(outDir, 'mqtt.json')) ?? previous?.mqtt ?? null,
  };
  writeFileSync(resultsPath, `${JSON.stringify(document, null, 2)}\n`);
  log(`wrote ${resultsPath}`);
  writeReport(document, values.doc);
  log(`wrote ${values.doc}`);

  const caseErrors = Object.keys(reports).flatMap((r) => reports[r].errors.map((e) => `${r} ${e.case} ${e.impl}`));
  if (failures.length > 0 || caseErrors.length > 0) {
    log(`benchmark run incomplete: ${[...failures.map((f) => `${f.runtime}: ${f.error}`), ...caseErrors].join('; ')}`);
    process.exitCode = 1;
  }
}

await main();
