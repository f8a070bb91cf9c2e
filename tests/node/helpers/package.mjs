// Installs the packed `switchyard` tarball into a temporary folder, as a user would, once per
// tarball (shared by every test file), and imports it from there.
//
// The tarball is $SWITCHYARD_TARBALL (set by `cargo xtask test` after `cargo xtask pack`), or
// else the newest target/npm/switchyard-*.tgz (run `cargo xtask pack` first).

import { execFileSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { existsSync, mkdtempSync, readdirSync, renameSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';

const here = dirname(fileURLToPath(import.meta.url));
const repo = resolve(here, '../../..');

/** The tarball under test. */
export function tarballPath() {
  const fromEnv = process.env.SWITCHYARD_TARBALL;
  if (fromEnv) {
    if (!existsSync(fromEnv)) throw new Error(`SWITCHYARD_TARBALL=${fromEnv} does not exist`);
    return resolve(fromEnv);
  }
  const dirs = [process.env.CARGO_TARGET_DIR, join(repo, 'target')].filter(Boolean).map((d) => join(resolve(repo, d), 'npm'));
  const found = dirs
    .filter(existsSync)
    .flatMap((dir) => readdirSync(dir).filter((f) => /^switchyard-.*\.tgz$/.test(f)).map((f) => join(dir, f)))
    .sort((a, b) => statSync(b).mtimeMs - statSync(a).mtimeMs);
  if (found.length === 0) throw new Error('no packed tarball: run `cargo xtask pack` or set SWITCHYARD_TARBALL');
  return found[0];
}

/** A folder where `npm install <tarball>` was run (created once per tarball content). */
export function installDir() {
  const tarball = tarballPath();
  const stat = statSync(tarball);
  const key = createHash('sha256').update(`${tarball}:${stat.size}:${stat.mtimeMs}`).digest('hex').slice(0, 16);
  const dir = join(tmpdir(), `switchyard-node-tests-${key}`);
  if (existsSync(join(dir, 'node_modules/switchyard/package.json'))) return dir;
  const staging = mkdtempSync(join(tmpdir(), 'switchyard-install-'));
  writeFileSync(join(staging, 'package.json'), JSON.stringify({ name: 'user-app', private: true, type: 'module' }));
  execFileSync('npm', ['install', '--no-audit', '--no-fund', '--no-package-lock', '--silent', tarball], {
    cwd: staging,
    stdio: ['ignore', 'ignore', 'inherit'],
  });
  try {
    renameSync(staging, dir);
  } catch {
    // Another test file installed it first.
    rmSync(staging, { recursive: true, force: true });
  }
  return dir;
}

/** `import('switchyard')` from a module inside the install folder (Node ESM conditions). */
export async function importPackage() {
  const dir = installDir();
  const entry = join(dir, 'entry.mjs');
  if (!existsSync(entry)) writeFileSync(entry, "export * from 'switchyard';\n");
  return import(pathToFileURL(entry).href);
}

/**
 * `import('switchyard/snapshot')` from a module inside the install folder: the entry whose
 * engine has `bus.snapshot()` and `EventBus.restore()` (in `switchyard` they throw E_UNSUPPORTED).
 */
export async function importSnapshotPackage() {
  const dir = installDir();
  const entry = join(dir, 'entry-snapshot.mjs');
  if (!existsSync(entry)) writeFileSync(entry, "export * from 'switchyard/snapshot';\n");
  return import(pathToFileURL(entry).href);
}

/** `require('switchyard/snapshot')` from the install folder (Node CommonJS conditions). */
export function requireSnapshotPackage() {
  const require = createRequire(join(installDir(), 'index.cjs'));
  return require('switchyard/snapshot');
}

/** `require('switchyard')` from the install folder (Node CommonJS conditions). */
export function requirePackage() {
  const require = createRequire(join(installDir(), 'index.cjs'));
  return require('switchyard');
}

/** Expects `fn` to throw a SwitchyardError with `code`; returns the error. */
export function expectCode(assert, fn, code, SwitchyardError) {
  let caught;
  try {
    fn();
  } catch (error) {
    caught = error;
  }
  assert.ok(caught, `expected ${code} to be thrown`);
  assert.ok(caught instanceof SwitchyardError, `expected a SwitchyardError, got ${caught}`);
  assert.equal(caught.code, code, caught.message);
  return caught;
}
