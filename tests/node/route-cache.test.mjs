// The fast path's route cache is per bus: what changes one bus (a subscribe, an unsubscribe, a
// slow publish...) makes only that bus's cached routes be read again from the engine.

import assert from 'node:assert/strict';
import { describe, test } from 'node:test';

import { importPackage } from './helpers/package.mjs';

const { EventBus } = await importPackage();

/** Counts `__inlineRoute` calls (route cache refills) while `body` runs. */
function countRefills(body) {
  const route = EventBus.prototype.__inlineRoute;
  let calls = 0;
  EventBus.prototype.__inlineRoute = function (...args) {
    calls++;
    return route.apply(this, args);
  };
  try {
    body();
  } finally {
    EventBus.prototype.__inlineRoute = route;
  }
  return calls;
}

describe('route cache', () => {
  test('a change on one bus leaves the routes cached for another bus valid', () => {
    const changed = new EventBus();
    const other = new EventBus();
    const got = [];
    other.subscribe('tick', (n) => got.push(n));
    other.publish('tick', 1);
    const refills = countRefills(() => {
      const sub = changed.subscribe('elsewhere', () => {});
      changed.publish('elsewhere', 'x', { headers: {} });
      sub.unsubscribe();
      other.publish('tick', 2);
    });
    assert.equal(refills, 0);
    assert.deepEqual(got, [1, 2]);
    changed.free();
    other.free();
  });

  test('a change on a bus makes its own cached routes be read again', () => {
    const bus = new EventBus();
    const got = [];
    bus.subscribe('tick', (n) => got.push(['first', n]));
    bus.publish('tick', 1);
    const refills = countRefills(() => {
      bus.subscribe('tick', (n) => got.push(['second', n]));
      bus.publish('tick', 2);
    });
    assert.equal(refills, 1);
    assert.deepEqual(got, [
      ['first', 1],
      ['first', 2],
      ['second', 2],
    ]);
    bus.free();
  });
});
