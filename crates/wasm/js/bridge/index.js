// @ts-check
// `switchyard/bridge`: bus topics beyond this bus (docs/API.md).
export { connectMqtt } from './mqtt/index.js';
