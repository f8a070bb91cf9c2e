// @ts-check
/** The entry `switchyard` for browsers and bundlers (`web/index.js`). */

import { install } from './install.js';
import { bindings } from './load/web.js';

const api = install(bindings);
export const { EventBus, Subscription, SwitchyardError } = api;
export default api;
