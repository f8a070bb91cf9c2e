// switchyard/compat against @types/node: the compat EventEmitter is usable wherever Node's is
// expected, and takes the same event-map generic.
import { EventEmitter as NodeEventEmitter } from 'node:events';
import type { EventBus } from 'switchyard';
import CompatDefault, { EventEmitter, errorMonitor, once } from 'switchyard/compat';

function takesNodeEmitter(emitter: NodeJS.EventEmitter): NodeJS.EventEmitter {
  return emitter;
}

const e = new EventEmitter();
takesNodeEmitter(e);
const asNodeClass: NodeEventEmitter = e;
const sameClass: typeof EventEmitter = CompatDefault;
const bus: EventBus = e.bus;

// Every member of Node's surface, with Node's return types.
const chained: EventEmitter = e
  .on('a', (x: number) => void x)
  .addListener(Symbol('s'), () => {})
  .once('b', () => {})
  .prependListener('a', () => {})
  .prependOnceListener('a', () => {})
  .off('a', () => {})
  .removeListener('a', () => {})
  .removeAllListeners('a')
  .removeAllListeners()
  .setMaxListeners(20);
const emitted: boolean = e.emit('a', 1, 2, 3);
const max: number = e.getMaxListeners();
const count: number = e.listenerCount('a') + e.listenerCount('a', () => {});
const names: Array<string | symbol> = e.eventNames();
const fns: Function[] = e.listeners('a').concat(e.rawListeners('a'));
const monitor: symbol = errorMonitor;
const next: Promise<any[]> = once(e, 'ready');
const defaults: number = EventEmitter.defaultMaxListeners;

// The event-map generic, as @types/node has it.
type Events = { data: [chunk: string, size: number]; end: [] };
const typed = new EventEmitter<Events>();
typed.on('data', (chunk, size) => {
  const text: string = chunk;
  const n: number = size;
});
typed.emit('data', 'x', 1);
typed.emit('end');
// @ts-expect-error the arguments must match the map
typed.emit('data', 1, 'x');
// @ts-expect-error only names of the map
typed.on('nope', () => {});
takesNodeEmitter(typed);

class Service extends EventEmitter<Events> {
  start(): void {
    this.emit('end');
  }
}
const service: NodeJS.EventEmitter = new Service();

export { asNodeClass, bus, chained, count, defaults, emitted, fns, max, monitor, names, next, sameClass, service };
