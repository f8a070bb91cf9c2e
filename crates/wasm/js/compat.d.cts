// CommonJS declarations of `switchyard/compat` (TypeScript's `require` condition):
// `require('switchyard/compat')` is the EventEmitter class, with `EventEmitter`, `mitt`, `once`,
// `errorMonitor` and `default` as its properties (compat/require.cjs). The declarations are
// compat.d.ts's.
import type * as compat from './compat.js' with { 'resolution-mode': 'import' };

declare class EventEmitter<T extends compat.EventMap<T> = compat.DefaultEventMap> extends compat.EventEmitter<T> {}
declare namespace EventEmitter {
  export type EventMap<T> = compat.EventMap<T>;
  export type DefaultEventMap = compat.DefaultEventMap;
  export type EventEmitterOptions = compat.EventEmitterOptions;
  export type EventType = compat.EventType;
  export type Handler<T = unknown> = compat.Handler<T>;
  export type WildcardHandler<T = Record<string, unknown>> = compat.WildcardHandler<T>;
  export type EventHandlerList<T = unknown> = compat.EventHandlerList<T>;
  export type WildCardEventHandlerList<T = Record<string, unknown>> = compat.WildCardEventHandlerList<T>;
  export type EventHandlerMap<E extends Record<EventType, unknown>> = compat.EventHandlerMap<E>;
  export type Emitter<E extends Record<EventType, unknown>> = compat.Emitter<E>;
  export const mitt: typeof compat.mitt;
  export const once: typeof compat.once;
  export const errorMonitor: typeof compat.errorMonitor;
  export { EventEmitter, EventEmitter as default };
}
export = EventEmitter;
