// @ts-check
/**
 * The entry `switchyard/snapshot` for browsers and bundlers (`web/snapshot.js`): the same API
 * as `switchyard`, over the engine built with `bus.snapshot()` and `EventBus.restore()`.
 * `SwitchyardError` is the one class of `web/errors.js`, shared with `switchyard`.
 */

import { install } from './install.js';
import { bindings } from './load/web-snapshot.js';

const api = install(bindings);
export const { EventBus, Subscription, SwitchyardError } = api;
export default api;
