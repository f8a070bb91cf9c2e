// Owned subscriptions (`subscribe(..., { owner })`) on the inline fast path: a topic whose
// subscribers have owners is delivered from JavaScript like any other, and the fast path's route
// cache never keeps an owner alive (run with a real garbage collector, `node --expose-gc`, in a
// child process: fixtures/gc-owner-fastpath.mjs).

import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { copyFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { describe, test } from 'node:test';
import { fileURLToPath } from 'node:url';

import { installDir } from './helpers/package.mjs';

const here = dirname(fileURLToPath(import.meta.url));

function runFixture(name) {
  const script = join(installDir(), name);
  copyFileSync(join(here, 'fixtures', name), script);
  return JSON.parse(execFileSync(process.execPath, ['--expose-gc', script], { encoding: 'utf8', timeout: 60_000 }));
}

describe('owned subscriptions on the fast path', () => {
  const result = runFixture('gc-owner-fastpath.mjs');

  test('a topic whose subscribers have owners is delivered by the fast path, in batches', () => {
    assert.equal(result.eligibleBefore, true, 'the engine hands the glue a route for an owned topic');
    assert.deepEqual(result.before, { leaky: 1000, weak: 1000, kept: 1000, records: 10, lastId: 1000 });
  });

  test('the route cache does not keep owners alive: collected owners end their subscriptions', () => {
    assert.deepEqual(result.active, ['kept-meta', 'kept-this']);
    assert.equal(result.reclaimed, 2, 'the weak component\'s two subscriptions');
    const released = result.leaks.filter((l) => l.reason === 'owner_released').flatMap((l) => l.names).sort();
    assert.deepEqual(released, ['leaky-meta', 'leaky-this']);
    assert.deepEqual(result.leaks.filter((l) => l.reason !== 'owner_released'), []);
  });

  test('a live owner keeps receiving on the fast path after others were collected', () => {
    assert.equal(result.after.kept, 1100);
    assert.equal(result.after.lastId, 1100);
    assert.ok(result.after.records >= 1, 'the publishes after the collection were recorded as fast batches');
  });
});
