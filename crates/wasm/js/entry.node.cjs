'use strict';
// Node (CommonJS): wasm-bindgen's `nodejs` output reads and instantiates the .wasm synchronously.
const wasm = require('./switchyard.js');

/* @glue */

const api = install(wasm);
module.exports = api;
module.exports.default = api;
