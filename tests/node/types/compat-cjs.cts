// A CommonJS TypeScript file (`.cts`, `module: node16`): both entries' declarations resolve
// through the `require` condition (TS1479 when only ESM declarations were shipped), and
// `require('switchyard/compat')` is typed as what it is, the EventEmitter class.
import EventEmitter = require('switchyard/compat');
import { EventEmitter as Named, mitt, once, errorMonitor, type Emitter } from 'switchyard/compat';
import { EventBus, SwitchyardError } from 'switchyard';

const emitter = new EventEmitter<{ order: [id: string] }>();
emitter.on('order', (id) => id.toUpperCase());
const bus: EventBus = emitter.bus;
bus.subscriptions();
class Shop extends EventEmitter {
  open(): boolean {
    return this.emit('open', 1);
  }
}
const named: EventEmitter = new Named();
named.on('x', () => {});
const ticks: Emitter<{ tick: number }> = mitt<{ tick: number }>();
ticks.on('tick', (n) => n.toFixed());
EventEmitter.mitt<{ a: string }>().emit('a', 'text');
export const next = once(named, 'x');
export const monitor: symbol = errorMonitor;
export const shop = new Shop().open();
export const viaDefault = new EventEmitter.default();
export const refused = (error: unknown): boolean => error instanceof SwitchyardError;
