// @ts-check
/**
 * The entry `switchyard/snapshot` for Node (`node/snapshot.cjs`, and `node/snapshot.mjs` over
 * it): the same API as `switchyard`, over the engine built with `bus.snapshot()` and
 * `EventBus.restore()`. `SwitchyardError` is the one class of `node/errors.js`, shared with
 * `switchyard`.
 */

import { webcrypto } from 'node:crypto';

import { install } from './install.js';
import { bindings } from './load/node-snapshot.js';

const api = install(bindings, webcrypto);
export const { EventBus, Subscription, SwitchyardError } = api;
export default api;
