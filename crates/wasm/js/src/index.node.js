// @ts-check
/** The entry `switchyard` for Node (`node/index.cjs`, and `node/index.mjs` over it). */

import { install } from './install.js';
import { bindings } from './load/node.js';

const api = install(bindings);
export const { EventBus, Subscription, SwitchyardError } = api;
export default api;
