// @ts-check
// `switchyard/compat`: drop-in emitters on a Switchyard bus. `EventEmitter` behaves like Node's
// `events.EventEmitter`, `mitt()` like mitt 3; each has its bus as `.bus` (subscriptions, leaks,
// metrics, expose and the visualiser see the listeners and the emits).

import { EventEmitter, errorMonitor, once } from './event-emitter.js';
import { mitt } from './mitt.js';

/** @type {any} */ (EventEmitter).mitt = mitt;

export { EventEmitter, errorMonitor, mitt, once };
export default EventEmitter;
