// Node (ESM) entry of `switchyard/compat`: the CommonJS build re-exported, so `import` and
// `require('switchyard/compat')` give the same classes (as the package's main entry does).
import EventEmitter from './index.cjs';

export const { mitt, once, errorMonitor } = EventEmitter;
export { EventEmitter };
export default EventEmitter;
