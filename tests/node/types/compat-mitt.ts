// switchyard/compat's mitt against mitt 3's own types: the compat emitter is a mitt `Emitter`.
import type { Emitter as MittEmitter } from 'mitt';
import type { EventBus } from 'switchyard';
import { mitt, type Emitter } from 'switchyard/compat';

type Events = { foo: string; bar?: number };

const emitter: Emitter<Events> = mitt<Events>();
const asMitt: MittEmitter<Events> = emitter;
const bus: EventBus = emitter.bus;

emitter.on('foo', (s) => s.toUpperCase());
emitter.on('*', (type, e) => void [type, e]);
emitter.emit('foo', 'x');
emitter.emit('bar');
emitter.off('foo');
emitter.all.clear();
// @ts-expect-error the event must match the map
emitter.emit('foo', 1);
// @ts-expect-error only types of the map
emitter.on('nope', () => {});

const withMap = mitt<Events>(new Map(), { bus: { maxListeners: 5 } });

export { asMitt, bus, withMap };
