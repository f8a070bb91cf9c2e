// @ts-check
// `switchyard/bridge`: one bus across tabs, workers and brokers. Each transport lives in its own
// folder and is re-exported here: `tabs/` (BroadcastChannel and MessagePort links between realms
// of one origin) and, beside it, the broker bridge.

export { shareTopics } from './tabs/share.js';
export { linkPort } from './tabs/port.js';
export { DEFAULT_HOP_LIMIT } from './tabs/options.js';
