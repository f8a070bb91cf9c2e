// `require('switchyard/snapshot')` under `module: nodenext` from a CommonJS file: its
// declarations (snapshot.d.cts over index.d.cts) resolve, and the bus snapshots and restores.
import switchyard = require('switchyard/snapshot');

const bus = new switchyard.EventBus<{ tick: void }>();
const saved: switchyard.BusSnapshot = bus.snapshot();
const restored = switchyard.EventBus.restore<{ tick: void }>(saved, { handlers: {} });
restored.publish('tick');
const error: switchyard.SwitchyardErrorCode = 'E_UNSUPPORTED';
void [error, switchyard.default.SwitchyardError];
// @ts-expect-error not a topic of the map
restored.publish('tock');
