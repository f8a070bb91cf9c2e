// The TypeScript declarations, checked with `tsc --strict --noEmit` against the installed
// package (types/check.ts holds the positive cases and the @ts-expect-error ones).

import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { copyFileSync, writeFileSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { describe, test } from 'node:test';
import { fileURLToPath } from 'node:url';

import { installDir } from './helpers/package.mjs';

const here = dirname(fileURLToPath(import.meta.url));
const tsc = resolve(here, '../node_modules/.bin/tsc');

describe('types', () => {
  test('tsc --strict accepts the typed usage and rejects every @ts-expect-error case', () => {
    const dir = installDir();
    copyFileSync(join(here, 'types/check.ts'), join(dir, 'check.ts'));
    writeFileSync(
      join(dir, 'tsconfig.json'),
      JSON.stringify({
        compilerOptions: {
          strict: true,
          noEmit: true,
          target: 'es2022',
          module: 'nodenext',
          moduleResolution: 'nodenext',
          lib: ['es2022', 'esnext.disposable', 'dom'],
          skipLibCheck: false,
        },
        files: ['check.ts'],
      }),
    );
    let output = '';
    try {
      output = execFileSync(tsc, ['--strict', '--noEmit', '-p', dir], { encoding: 'utf8' });
    } catch (error) {
      assert.fail(`tsc failed:\n${error.stdout}${error.stderr}`);
    }
    assert.equal(output.trim(), '');
  });
});
