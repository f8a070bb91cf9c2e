// Runs a hostile suite in child processes (child.mjs) and reports its failures by class, each
// class with its shortest reproduction. A child that aborts or makes no progress for `hangMs`
// is reported at the case it was running, and a new child goes on from the next case.

import { spawn } from 'node:child_process';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

import { FIXTURES } from './checks.mjs';

const CHILD = join(dirname(fileURLToPath(import.meta.url)), 'child.mjs');
const STARTUP_GRACE_MS = 30000;
/** The default seed; `HOSTILE_SEED` (decimal or 0x hex) overrides it. */
export const DEFAULT_SEED = 0x5eed18;

export function seedFromEnv() {
  const text = process.env.HOSTILE_SEED;
  if (text === undefined || text === '') return DEFAULT_SEED;
  const seed = Number(text);
  if (!Number.isInteger(seed) || seed < 0 || seed > 0xffffffff) throw new Error(`HOSTILE_SEED=${text} is not a 32-bit unsigned integer`);
  return seed;
}

/**
 * `HOSTILE_ONLY=<suite>:<case>` runs that one case (to check a fix); other suites run nothing.
 * Answers the `[from, to)` range of `suite` to run out of `count`.
 */
export function rangeFromEnv(suite, count) {
  const only = process.env.HOSTILE_ONLY;
  if (!only) return [0, count];
  const [name, index] = only.split(':');
  if (name !== suite) return [0, 0];
  const i = Number(index);
  return Number.isInteger(i) && i >= 0 ? [i, i + 1] : [0, count];
}

/** Runs the cases of `suite` in `rangeFromEnv`; answers `{ failures, cases, children, ms }`. */
export async function runSuite(suite, { seed, count, length, hangMs = 3000 }) {
  const [first, end] = rangeFromEnv(suite, count);
  const dir = mkdtempSync(join(tmpdir(), `hostile-${suite}-`));
  const failures = [];
  // Sources that hung once are not run again (each would cost `hangMs`), only reported.
  const hung = [];
  const started = Date.now();
  let from = first;
  let children = 0;
  try {
    while (from < end) {
      const log = join(dir, `${from}.jsonl`);
      writeFileSync(log, '');
      children++;
      const result = await runChild({ suite, seed, from, to: end, log, length, hung }, hangMs);
      failures.push(...result.failures);
      if (result.done) break;
      const at = result.last ?? from;
      if (result.hung && result.records.get(at)?.src) hung.push(result.records.get(at).src);
      failures.push({
        i: at,
        check: result.hung ? 'hang' : 'process abort',
        detail: result.hung
          ? `no progress for ${hangMs} ms (the call never returned)`
          : `the process died (${result.signal ?? `exit code ${result.code}`}) after ${result.ran} cases in it: ${result.stderr}`,
        ...(result.records.get(at) ?? {}),
      });
      from = at + 1;
    }
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
  return { failures, cases: end - first, children, ms: Date.now() - started };
}

function runChild(job, hangMs) {
  return new Promise((resolve) => {
    const child = spawn(process.execPath, ['--expose-gc', CHILD], {
      env: { ...process.env, HOSTILE_JOB: JSON.stringify(job) },
      stdio: ['ignore', 'ignore', 'pipe'],
    });
    let stderr = '';
    child.stderr.on('data', (chunk) => {
      stderr = (stderr + chunk).slice(-4000);
    });
    const failures = [];
    const records = new Map();
    let offset = 0;
    let last;
    let ran = 0;
    let done = false;
    let hung = false;
    // Loading the package (compiling the wasm) on a busy machine may take a while: the first
    // case gets a grace period on top of `hangMs`.
    let progressAt = Date.now() + STARTUP_GRACE_MS;
    const readLog = () => {
      let text;
      try {
        text = readFileSync(job.log, 'utf8');
      } catch {
        return;
      }
      const end = text.lastIndexOf('\n') + 1;
      for (const line of text.slice(offset, end).split('\n')) {
        if (!line) continue;
        const record = JSON.parse(line);
        if (record.t === 'start') {
          last = record.i;
          ran++;
          progressAt = Date.now();
          records.set(record.i, { src: record.src, fixture: record.fixture, method: record.method });
        } else if (record.t === 'fail') {
          const { t, ...failure } = record;
          failures.push(failure.late ? { ...records.get(record.i), ...failure } : failure);
        } else if (record.t === 'done') done = true;
      }
      offset = end;
    };
    const poll = setInterval(() => {
      readLog();
      if (!done && Date.now() - progressAt > hangMs) {
        hung = true;
        child.kill('SIGKILL');
      }
    }, 100);
    child.on('exit', (code, signal) => {
      clearInterval(poll);
      readLog();
      const tail = stderr.split('\n').filter((l) => l.trim()).slice(-6).join(' | ');
      resolve({ failures, records, last, ran, done, hung, code, signal: hung ? undefined : signal, stderr: tail });
    });
  });
}

/** A failure's class: its check, method and detail without numbers or state dumps. */
export function classOf(failure) {
  const detail = failure.check === 'hang' ? 'the call never returned' : String(failure.detail ?? '')
    .replace(/; state before[\s\S]*$/, '')
    .replace(/ \(shrunk to [\s\S]*$/, '')
    .replace(/after \d+ cases in it: [\s\S]*$/, '')
    .replace(/"(?:[^"\\]|\\.)*"/g, '"…"')
    .replace(/\d+/g, 'N')
    .slice(0, 160);
  // Wrong receivers, probes of the bus after the call and calls after close() / free() form one
  // class per error, whatever the method (the report lists the methods).
  let method = failure.method ?? '';
  if (/^EventBus\.prototype\./.test(method)) method = 'EventBus.prototype.*';
  else if (/^bus\.(closed|free\(\)) at the end|^bus\.closed after/.test(detail)) method = '*';
  else if (/ after (close|free)\(\)$/.test(method)) method = method.replace(/^.* after/, '* after');
  return `${failure.check} | ${method} | ${detail}`;
}

/** Which numbered item of issue #18 a class looks like (a hint for triage, not a verdict). */
export function issueHint(failure) {
  if (/^EventBus\.prototype\./.test(failure.method ?? '')) return null;
  const text = `${failure.check} ${failure.method} ${failure.detail}`;
  if (failure.check === 'process abort') return /SIGTRAP|Fatal error|unreachable/.test(text) ? 1 : null;
  if (/conservation|accounted for/.test(text)) return 5;
  if (/own snapshot|over its capacity/.test(text)) return 2;
  if (/never settles|waitFor settles|stream.next\(\) ends|for-await/.test(text)) return 3;
  if (/cannot loop forever/.test(text)) return 4;
  if (/null pointer passed to rust|take ownership of Rust value|recursive use of an object|free\(\) from|after free\(\)/.test(text)) return 6;
  if (/took effect on a closed bus|closes the bus does not/.test(text)) return 7;
  if (/revoked|IsArray|Invalid array length|convert object to primitive|incompatible receiver/.test(text)) return 8;
  if (/threw Error: (trap |aborted getter|toPrimitive|toString|descriptor trap|add$|option getter|index getter|length getter|options get trap)/.test(text)) return 8;
  if (/surrogate|topic identity/.test(text)) return 9;
  return null;
}

const indent = (text, by = '      ') => text.split('\n').map((line) => by + line).join('\n');

/** Where `report` writes every failing case (one line each): target/hostile/<suite>.txt. */
const LIST_DIR = resolve(dirname(fileURLToPath(import.meta.url)), '../../../../target/hostile');

function writeList(suite, seedText, failures) {
  try {
    mkdirSync(LIST_DIR, { recursive: true });
    const file = join(LIST_DIR, `${suite}.txt`);
    const lines = failures.map((f) => `HOSTILE_SEED=${seedText} HOSTILE_ONLY=${suite}:${f.i}\t${f.check}\t${String(f.detail).split('\n')[0]}\t${f.fixture ? `[fixture ${f.fixture}] ` : ''}${String(f.src ?? '').replace(/\n/g, ' ')}`);
    writeFileSync(file, `${lines.join('\n')}\n`);
    return file;
  } catch {
    return undefined;
  }
}

/** The report of a suite's failures: one paragraph per class, with its shortest repro. */
export function report(suite, seed, result) {
  const classes = new Map();
  for (const failure of result.failures) {
    const key = classOf(failure);
    const entry = classes.get(key) ?? { count: 0, example: failure, methods: new Set() };
    entry.count++;
    if (failure.method) entry.methods.add(failure.method);
    if ((failure.src ?? '').length < (entry.example.src ?? '').length) entry.example = failure;
    classes.set(key, entry);
  }
  const seedText = `0x${seed.toString(16)}`;
  const lines = [
    `hostile suite '${suite}' (HOSTILE_SEED=${seedText}, ${result.cases} cases, ${result.children} process(es), ${result.ms} ms): ` +
      `${result.failures.length} failure(s) in ${classes.size} class(es)`,
  ];
  let n = 0;
  const fixtures = new Set();
  for (const [key, { count, example, methods }] of classes) {
    const hint = issueHint(example);
    lines.push(`[${++n}] ${key}  (${count} case(s)${hint ? `; looks like issue #18 item ${hint}` : ''})`);
    if (methods.size > 1) lines.push(`    in: ${[...methods].slice(0, 12).join(', ')}${methods.size > 12 ? `, … (${methods.size})` : ''}`);
    lines.push(`    ${example.detail}`);
    lines.push(`    repro (HOSTILE_SEED=${seedText}, ${suite} case ${example.i}${example.fixture ? `, after fixture '${example.fixture}'` : ''}):`);
    if (example.fixture) fixtures.add(example.fixture);
    lines.push(indent(example.src ?? '(no source)'));
  }
  for (const name of fixtures) lines.push(`fixture '${name}' (import { EventBus, SwitchyardError } from 'switchyard'):`, indent(FIXTURES[name]));
  const list = writeList(suite, seedText, result.failures);
  lines.push(`Every failing case, with its reproduction: ${list ?? '(could not write the list)'}; rerun one with HOSTILE_SEED=${seedText} HOSTILE_ONLY=${suite}:<case>.`);
  if (suite === 'scripts' || suite === 'topics' || suite === 'soak') {
    lines.push('(repros are async function bodies; `within`, `show`, `refusedWith` and `ticks` are in tests/node/helpers/hostile/scripts.mjs)');
  }
  return lines.join('\n');
}
