// Owner leak detection with a real garbage collector (`node --expose-gc` in a child process).

import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { copyFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { describe, test } from 'node:test';
import { fileURLToPath } from 'node:url';

import { installDir } from './helpers/package.mjs';

const here = dirname(fileURLToPath(import.meta.url));

/** Runs fixtures/`name` from the install folder; its JSON summary. */
function runFixture(name = 'gc-owner.mjs') {
  const script = join(installDir(), name);
  copyFileSync(join(here, 'fixtures', name), script);
  const out = execFileSync(process.execPath, ['--expose-gc', script], { encoding: 'utf8', timeout: 60_000 });
  return JSON.parse(out);
}

describe('owner leaks', () => {
  const result = runFixture();

  test('owned handlers receive messages while their owners live', () => {
    assert.deepEqual(result.before, { leaky: 6, weak: 6, widget: 3, kept: 6 });
  });

  test('a component whose handler uses `this` or closes over it is collected once unreferenced', () => {
    assert.deepEqual(result.active, ['kept-plain', 'kept-this']);
    assert.equal(result.after.kept, 16, 'a live component keeps receiving');
  });

  test('a collected owner\'s weak subscriptions end silently, counted as reclaimed', () => {
    assert.equal(result.reclaimed, 2);
    assert.ok(!result.leaks.some((l) => l.names.some((n) => n.startsWith('weak-'))), JSON.stringify(result.leaks));
  });

  test('a collected owner\'s other subscriptions end and are reported as owner_released', () => {
    const reported = result.leaks
      .filter((l) => l.reason === 'owner_released')
      .flatMap((l) => l.names)
      .sort();
    assert.deepEqual(reported, ['leaky-plain', 'leaky-this', 'widget-closure']);
  });

  test('a leak stack starts at the user\'s subscribe call and keeps Error.stackTraceLimit user frames', () => {
    const frames = (stack) => stack.split('\n').filter((line) => /^\s+at /.test(line));
    const leaky = frames(result.leakyStack);
    assert.match(leaky[0], /new Component .*gc-owner\.mjs/, result.leakyStack);
    assert.equal(leaky.length, result.stackTraceLimit, result.leakyStack);
    assert.ok(leaky.every((line) => !/node_modules\/switchyard|wasm/.test(line)), result.leakyStack);
    assert.match(frames(result.widgetStack)[0], /mountWidget .*gc-owner\.mjs/, result.widgetStack);
  });

  test('a restored subscription that had an owner is not ended when a new owner of the restored bus is collected', () => {
    const restored = runFixture('gc-restored-owner.mjs');
    assert.deepEqual(restored.active, ['restored-owned']);
    assert.deepEqual(restored.released, ['fresh-owned']);
    assert.equal(restored.received, 1);
  });

  test('a subscription whose owner was collected ends at its next delivery, before the registry calls back: dropped, not failed or dead-lettered', () => {
    const run = runFixture('gc-owner-before-callback.mjs');
    assert.equal(run.collectedInTask, true, 'the owners were collected while their subscriptions were still active');
    assert.equal(run.received, 0);
    const ended = {
      counters: { delivered: 0, failed: 0, retried: 0, deadLettered: 0, dropped: 2 },
      deadLetters: [],
      active: [],
      reclaimed: 1,
      released: ['plain'],
    };
    assert.deepEqual(run.sameTask, ended);
    assert.deepEqual(run.later, ended, 'the registry callback, coming later, changed nothing');
  });

  test('an unsubscribed owned subscription no longer has its functions held by a live owner', () => {
    const after = runFixture('gc-unsubscribed-owned.mjs');
    assert.deepEqual(after.collected, ['closed-over', 'filter', 'handler']);
    assert.equal(after.active, 0);
  });
});
