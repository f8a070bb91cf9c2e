// The `idle` and `trend` leak detectors, driven by the manual clock: what they report, what
// they do not, and how their options are checked.

import assert from 'node:assert/strict';
import { describe, test } from 'node:test';

import { expectCode, importPackage } from './helpers/package.mjs';

const { EventBus, SwitchyardError } = await importPackage();

const MINUTE = 60_000;

describe('leak detectors', () => {
  test('a leak stack of a waitFor or stream subscription starts at the user\'s call, not inside the package', () => {
    const bus = new EventBus({ captureStacks: true, maxListeners: 2 });
    function waitsForTheUser() {
      return bus.waitFor('user.ready');
    }
    function streamsTheUser() {
      return bus.stream('user.ready');
    }
    const pending = [waitsForTheUser(), waitsForTheUser()];
    const stream = streamsTheUser();
    const [leak] = bus.leaks();
    assert.equal(leak?.reason, 'max_listeners', JSON.stringify(bus.leaks()));
    const firstFrames = leak.suspects.map((s) => s.stack.split('\n').find((line) => /^\s+at /.test(line)));
    assert.match(firstFrames[0], /waitsForTheUser .*leak-detectors\.test\.mjs/, leak.suspects[0].stack);
    assert.match(firstFrames[2], /streamsTheUser .*leak-detectors\.test\.mjs/, leak.suspects[2].stack);
    for (const suspect of leak.suspects) assert.doesNotMatch(suspect.stack, /node_modules\/switchyard/, suspect.stack);
    bus.close();
    return Promise.allSettled([...pending, stream.next()]);
  });

  test('a consumer stuck for an idle hour is reported idle once idleAfterMs passed', () => {
    const bus = new EventBus({ clock: 'manual', idleAfterMs: 5 * MINUTE });
    bus.subscribe('jobs.run', () => new Promise(() => {}), { name: 'stuck-worker' });
    bus.subscribe('jobs.done', () => {}, { name: 'healthy' });
    bus.publish('jobs.run', 1);
    bus.publish('jobs.run', 2);
    bus.advance(5 * MINUTE - 1);
    assert.deepEqual(bus.leaks(), []);
    for (let minute = 0; minute < 60; minute++) {
      bus.publish('jobs.done', minute);
      bus.advance(MINUTE);
    }
    const leaks = bus.leaks();
    assert.equal(leaks.length, 1, JSON.stringify(leaks));
    assert.equal(leaks[0].reason, 'idle');
    assert.equal(leaks[0].pattern, 'jobs.run');
    assert.deepEqual(leaks[0].suspects.map((s) => s.name), ['stuck-worker']);
    assert.match(leaks[0].detail, /^idle for \d+ ms/);
    assert.equal(bus.metrics().leaksSuspected, 1, 'reported once per episode');
  });

  test('200 subscriptions added steadily over an hour are reported as a trend naming them', () => {
    const bus = new EventBus({ clock: 'manual', trendWindowMs: 5 * MINUTE, trendWindows: 5, maxListeners: 0 });
    bus.subscribe('app.ready', () => {}, { name: 'before-the-rise' });
    bus.advance(10 * MINUTE);
    for (let i = 0; i < 200; i++) {
      bus.subscribe('ui.render', () => {}, { name: `render-${i}` });
      bus.advance(18_000);
    }
    const trend = bus.leaks().find((l) => l.reason === 'trend');
    assert.ok(trend, JSON.stringify(bus.leaks()));
    assert.equal(trend.pattern, '**');
    assert.match(trend.detail, /^grew by \d+ over \d+ windows$/);
    const names = trend.suspects.map((s) => s.name);
    assert.ok(names.includes('render-0') && !names.includes('before-the-rise'), names.join(','));
    assert.ok(bus.metrics().leaksSuspected >= 1);
  });

  test('200 subscriptions at once then an idle hour are neither idle nor a trend', () => {
    const bus = new EventBus({ clock: 'manual', trendWindowMs: 5 * MINUTE, idleAfterMs: 5 * MINUTE, maxListeners: 0 });
    for (let i = 0; i < 200; i++) bus.subscribe('ui.render', () => {});
    bus.advance(60 * MINUTE);
    assert.deepEqual(bus.leaks(), []);
  });

  test('the detectors are off by default', () => {
    const bus = new EventBus({ clock: 'manual', maxListeners: 0 });
    bus.subscribe('jobs.run', () => new Promise(() => {}));
    bus.publish('jobs.run', 1);
    bus.publish('jobs.run', 2);
    for (let i = 0; i < 200; i++) {
      bus.subscribe('ui.render', () => {});
      bus.advance(18_000);
    }
    assert.deepEqual(bus.leaks(), []);
  });

  test('bad detector options are refused naming the option', () => {
    for (const options of [
      { idleAfterMs: 0 },
      { idleAfterMs: -1 },
      { idleAfterMs: '5' },
      { trendWindowMs: 0 },
      { trendWindowMs: Number.NaN },
      { trendWindowMs: 1000, trendWindows: 0 },
      { trendWindows: 3 },
    ]) {
      const error = expectCode(assert, () => new EventBus(options), 'E_INVALID_OPTION', SwitchyardError);
      assert.match(error.message, new RegExp(Object.keys(options).at(-1)), error.message);
    }
  });
});
