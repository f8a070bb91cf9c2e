// CommonJS entry of `switchyard/compat`: `require('switchyard/compat')` is the EventEmitter
// class, as `require('events')` is Node's, with `EventEmitter`, `mitt`, `once`, `errorMonitor`
// and `default` as its properties.
'use strict';
const { EventEmitter } = require('./index.js');

EventEmitter.default = EventEmitter;
module.exports = EventEmitter;
