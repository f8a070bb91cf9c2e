// @ts-check
/**
 * The entry `switchyard` for browsers and bundlers (`web/index.js`).
 * Its engine leaves snapshots out (`withoutSnapshots`: `bus.snapshot()` and
 * `EventBus.restore()` throw `E_UNSUPPORTED`; `switchyard/snapshot` has them).
 * `SwitchyardError` is the one class of `errors.js`, which pack leaves out of the bundle and
 * ships beside it, shared by both entries.
 */

import { install } from './install.js';
import { withoutSnapshots } from './lean.js';
import { bindings } from './load/web.js';

const api = install(withoutSnapshots(bindings));
export const { EventBus, Subscription, SwitchyardError } = api;
export default api;
