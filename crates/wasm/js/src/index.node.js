// @ts-check
/**
 * The entry `switchyard` for Node (`node/index.cjs`, and `node/index.mjs` over it).
 * Its engine leaves snapshots out (`withoutSnapshots`: `bus.snapshot()` and
 * `EventBus.restore()` throw `E_UNSUPPORTED`; `switchyard/snapshot` has them).
 * `SwitchyardError` is the one class of `errors.js`, which pack leaves out of the bundle and
 * ships beside it, shared by both entries.
 */

import { webcrypto } from 'node:crypto';

import { install } from './install.js';
import { withoutSnapshots } from './lean.js';
import { bindings } from './load/node.js';

const api = install(withoutSnapshots(bindings), webcrypto);
export const { EventBus, Subscription, SwitchyardError } = api;
export default api;
