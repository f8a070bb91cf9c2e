// The TypeScript declarations, checked with `tsc --strict --noEmit` against the installed
// package under the lib settings users have: a browser app (es2022 + dom, no disposable lib),
// esnext alone (no DOM), Node (es2022 + @types/node), and es2022 + esnext.disposable + dom.
// types/check.ts holds the general cases, types/maps.ts the `interface` event maps, `void`
// events and restore handlers (on `switchyard/snapshot`), types/snapshot-cjs.cts that entry from
// CommonJS, types/dispose.ts `using`, types/bridge.ts links typed by the map; each has @ts-expect-error lines that
// must be errors. `skipLibCheck` is off: an error inside the package's index.d.ts fails.

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

/** Compiles `files` (from types/) in a folder of the install dir with `lib` and `types`. */
function compile(name, { lib, types, files }) {
  const install = installDir();
  const dir = join(install, `types-${name}`);
  mkdirSync(dir, { recursive: true });
  for (const file of files) copyFileSync(join(here, 'types', file), join(dir, file));
  if (types.length > 0) {
    // `@types/*` from tests/node_modules (pinned in tests/package.json), beside the package.
    const at = join(install, 'node_modules/@types');
    if (!existsSync(at)) symlinkSync(join(modules, '@types'), at, 'dir');
    for (const t of types) {
      assert.ok(existsSync(join(modules, '@types', t)), `@types/${t} is missing: run \`npm ci\` in tests/`);
    }
  }
  writeFileSync(
    join(dir, 'tsconfig.json'),
    JSON.stringify({
      compilerOptions: {
        strict: true,
        noEmit: true,
        target: 'es2022',
        module: 'nodenext',
        moduleResolution: 'nodenext',
        lib,
        types,
        skipLibCheck: false,
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

describe('types', () => {
  test('a browser setup (lib es2022 + dom, no disposable lib) compiles the package and the typed usage', () => {
    assert.equal(compile('browser', { lib: ['es2022', 'dom'], types: [], files: ['check.ts', 'maps.ts', 'bridge.ts'] }), '');
  });

  test('lib esnext without dom compiles the package, interface maps and `using`', () => {
    assert.equal(compile('esnext', { lib: ['esnext'], types: [], files: ['maps.ts', 'dispose.ts'] }), '');
  });

  test('a Node setup (lib es2022 + @types/node) compiles the package, interface maps and `using`', () => {
    assert.equal(
      compile('node', { lib: ['es2022'], types: ['node'], files: ['check.ts', 'maps.ts', 'dispose.ts', 'bridge.ts', 'snapshot-cjs.cts'] }),
      '',
    );
  });

  test('lib es2022 + esnext.disposable + dom compiles everything', () => {
    assert.equal(
      compile('disposable', {
        lib: ['es2022', 'esnext.disposable', 'dom'],
        types: [],
        files: ['check.ts', 'maps.ts', 'dispose.ts'],
      }),
      '',
    );
  });
});
