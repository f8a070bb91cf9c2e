// Owner leak detection with a real garbage collector (`node --expose-gc` in a child process).

import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { copyFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { describe, test } from 'node:test';
import { fileURLToPath } from 'node:url';

import { installDir } from './helpers/package.mjs';

const here = dirname(fileURLToPath(import.meta.url));

describe('owner leaks', () => {
  test('a collected owner is reported with name, pattern and stack; a weak one is removed', () => {
    const script = join(installDir(), 'gc-owner.mjs');
    copyFileSync(join(here, 'fixtures/gc-owner.mjs'), script);
    const out = execFileSync(process.execPath, ['--expose-gc', script], { encoding: 'utf8', timeout: 30_000 });
    const result = JSON.parse(out);
    assert.equal(result.reclaimed, 1, 'the weak subscription was removed');
    assert.deepEqual(result.active.sort(), ['kept-handler', 'leaky-handler']);
    const owner = result.leaks.find((l) => l.reason === 'owner_released');
    assert.ok(owner, JSON.stringify(result.leaks));
    assert.deepEqual(owner.names, ['leaky-handler']);
    assert.match(owner.stack, /gc-owner\.mjs/);
  });
});
