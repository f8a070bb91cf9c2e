// CommonJS entry of `switchyard/compat` (bundled into node/compat.cjs): `require('switchyard/compat')`
// is the EventEmitter class, as `require('events')` is Node's, with `EventEmitter`, `mitt`,
// `once`, `errorMonitor` and `default` as its properties. They are assigned as
// `module.exports.<name>` so that Node's ESM import of this bundle (node/compat.mjs, `export *`)
// finds them as named exports.
'use strict';
const { EventEmitter, mitt, once, errorMonitor } = require('./index.js');

module.exports = EventEmitter;
module.exports.EventEmitter = EventEmitter;
module.exports.mitt = mitt;
module.exports.once = once;
// Already there (read-only, as in Node); written out for the named-export detection only.
if (module.exports.errorMonitor !== errorMonitor) module.exports.errorMonitor = errorMonitor;
module.exports.default = EventEmitter;
