// The declarations of `switchyard/compat` (compat/index.d.ts in the package), checked with
// `tsc --strict --noEmit` against the installed package: types/compat-node.ts with @types/node
// (the compat EventEmitter is assignable to Node's and takes its event-map generic),
// types/compat-mitt.ts against mitt 3's own types (the compat emitter is a mitt `Emitter`), and
// both without `dom` or `@types/node` where they do not need them. Each has @ts-expect-error lines
// that must be errors; `skipLibCheck` is off, so an error inside the package's .d.ts fails.

import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { copyFileSync, existsSync, mkdirSync, symlinkSync, writeFileSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { describe, test } from 'node:test';
import { fileURLToPath } from 'node:url';

import { installDir } from './helpers/package.mjs';

const here = dirname(fileURLToPath(import.meta.url));
const modules = resolve(here, '../node_modules');
const tsc = join(modules, '.bin/tsc');

/** Links `tests/node_modules/<name>` into the install folder's node_modules (once). */
function link(install, name) {
  const at = join(install, 'node_modules', name);
  assert.ok(existsSync(join(modules, name)), `${name} is missing: run \`npm ci\` in tests/`);
  if (!existsSync(at)) {
    try {
      symlinkSync(join(modules, name), at, 'dir');
    } catch (error) {
      if (error.code !== 'EEXIST') throw error;
    }
  }
}

/** Compiles `files` (from types/) in a folder of the install dir with `lib` and `types`. */
function compile(name, { lib, types, files, module = 'nodenext' }) {
  const install = installDir();
  const dir = join(install, `types-compat-${name}`);
  mkdirSync(dir, { recursive: true });
  for (const file of files) copyFileSync(join(here, 'types', file), join(dir, file));
  link(install, '@types');
  link(install, 'mitt');
  writeFileSync(
    join(dir, 'tsconfig.json'),
    JSON.stringify({
      compilerOptions: {
        strict: true,
        noEmit: true,
        target: 'es2022',
        module,
        moduleResolution: module,
        lib,
        types,
        skipLibCheck: false,
        noUnusedLocals: false,
      },
      files,
    }),
  );
  try {
    return execFileSync(tsc, ['-p', dir], { encoding: 'utf8' }).trim();
  } catch (error) {
    assert.fail(`tsc (${name}) failed:\n${error.stdout}${error.stderr}`);
  }
}

describe('compat types', () => {
  test('a CommonJS TypeScript file (node16) gets the declarations of switchyard and switchyard/compat', () => {
    assert.equal(compile('cjs', { lib: ['es2022'], types: [], files: ['compat-cjs.cts'], module: 'node16' }), '');
  });

  test('with @types/node, the compat EventEmitter is a NodeJS.EventEmitter and takes the event-map generic', () => {
    assert.equal(compile('node', { lib: ['es2022'], types: ['node'], files: ['compat-node.ts'] }), '');
  });

  test('the compat mitt is a mitt Emitter<Events>, in a browser setup (es2022 + dom) and with esnext alone', () => {
    assert.equal(compile('mitt-dom', { lib: ['es2022', 'dom'], types: [], files: ['compat-mitt.ts'] }), '');
    assert.equal(compile('mitt-esnext', { lib: ['esnext'], types: [], files: ['compat-mitt.ts'] }), '');
  });
});
