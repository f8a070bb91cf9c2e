// A CommonJS TypeScript file (`.cts`, `module: node16`): both entries' declarations resolve
// through the `require` condition (TS1479 when only ESM declarations were shipped).
import { EventBus, SwitchyardError } from 'switchyard';
import { EventEmitter, mitt } from 'switchyard/compat';

const emitter = new EventEmitter<{ order: [id: string] }>();
emitter.on('order', (id) => id.toUpperCase());
const bus: EventBus = emitter.bus;
bus.subscriptions();
const m = mitt<{ tick: number }>();
m.on('tick', (n) => n.toFixed());
export const refused = (error: unknown): boolean => error instanceof SwitchyardError;
