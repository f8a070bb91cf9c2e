// The options of `waitFor` and `stream` (methods written in JavaScript) are checked where every
// other method's are, by the Rust side: the same codes and messages as before that move.

import assert from 'node:assert/strict';
import { describe, test } from 'node:test';

import { importPackage } from './helpers/package.mjs';

const { EventBus, SwitchyardError } = await importPackage();

/** Asserts `body` throws, or returns a promise that rejects with, E_INVALID_OPTION and `message`. */
async function refused(body, message) {
  let error;
  try {
    await body();
  } catch (thrown) {
    error = thrown;
  }
  assert.ok(error instanceof SwitchyardError, `expected a SwitchyardError, got ${error}`);
  assert.equal(error.code, 'E_INVALID_OPTION');
  assert.equal(error.message, message);
}

describe('waitFor and stream options', () => {
  test('an options value that is not a plain object is refused, naming the method', async () => {
    const bus = new EventBus();
    await refused(() => bus.waitFor('a', 5), 'waitFor(): options must be a plain object');
    await refused(() => bus.waitFor('a', [1]), 'waitFor(): options must be a plain object');
    await refused(() => bus.stream('a', () => {}), 'stream(): options must be a plain object');
    assert.equal(bus.subscriptions().length, 0);
  });

  test('a revoked proxy as options is refused, naming the method', async () => {
    const bus = new EventBus();
    const { proxy, revoke } = Proxy.revocable({}, {});
    revoke();
    await refused(() => bus.waitFor('a', proxy), 'waitFor(): options could not be read (a revoked proxy?)');
    await refused(() => bus.stream('a', proxy), 'stream(): options could not be read (a revoked proxy?)');
  });

  test('an unknown option is refused with the list of known ones', async () => {
    const bus = new EventBus();
    await refused(
      () => bus.waitFor('a', { timeout: 5 }),
      'option `timeout` is not a known option (expected one of: signal, timeoutMs, filter)',
    );
    await refused(
      () => bus.stream('a', { once: true }),
      'option `once` is not a known option (expected one of: capacity, overflow, filter, priority, name, group, replay, signal)',
    );
    assert.equal(bus.subscriptions().length, 0);
  });

  test('an option whose getter throws is refused, and each option is read once', async () => {
    const bus = new EventBus();
    await refused(
      () =>
        bus.waitFor('a', {
          get timeoutMs() {
            throw new Error('boom');
          },
        }),
      'option `timeoutMs` threw when read',
    );
    let reads = 0;
    const waiting = bus.waitFor('a', {
      get timeoutMs() {
        reads++;
        return 1000;
      },
    });
    bus.publish('a', 7);
    assert.equal(await waiting, 7);
    assert.equal(reads, 1);
  });
});
