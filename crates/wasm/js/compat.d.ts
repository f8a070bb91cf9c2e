// Types of `switchyard/compat`: Node's `EventEmitter` surface (as @types/node declares it, event
// map generic included) and mitt 3's `Emitter<Events>`. Standalone: no @types/node needed.

import type { AbortSignalLike, EventBus, EventBusOptions } from 'switchyard';

/** An event map: event name → tuple of listener arguments (as @types/node's `EventMap`). */
export type EventMap<T> = Record<keyof T, any[]> | DefaultEventMap;
/** No event map: any name, any arguments. */
export type DefaultEventMap = [never];
type AnyRest = [...args: any[]];
type Args<K, T> = T extends DefaultEventMap ? AnyRest : K extends keyof T ? T[K] : never;
type Key<K, T> = T extends DefaultEventMap ? string | symbol : K | keyof T;
type Listener<K, T, F> = T extends DefaultEventMap
  ? F
  : K extends keyof T
    ? T[K] extends unknown[]
      ? (...args: T[K]) => void
      : never
    : never;
type Listener1<K, T> = Listener<K, T, (...args: any[]) => void>;
type Listener2<K, T> = Listener<K, T, Function>;

/** `new EventEmitter(options)`. */
export interface EventEmitterOptions {
  /** Node's promise-rejection capture is not supported: only `false` is accepted. */
  captureRejections?: false;
  /** Options of the emitter's `EventBus` (made on first use), e.g. `{ captureStacks: true }`. */
  bus?: EventBusOptions;
}

/**
 * Node's `events.EventEmitter`, on a Switchyard bus: each listener is a subscription of
 * `emitter.bus` named after its event, each emit a publish, so `bus.subscriptions()`,
 * `bus.leaks()`, `bus.metrics()` and `bus.expose()` see them. Listeners run as in Node: in
 * order, `this` the emitter, a throw leaves `emit`, the list fixed when an emit starts.
 */
export declare class EventEmitter<T extends EventMap<T> = DefaultEventMap> {
  constructor(options?: EventEmitterOptions);
  /** The emitter's bus (made on first use). Publishing on it does not call the listeners. */
  readonly bus: EventBus;
  addListener<K>(eventName: Key<K, T>, listener: Listener1<K, T>): this;
  on<K>(eventName: Key<K, T>, listener: Listener1<K, T>): this;
  once<K>(eventName: Key<K, T>, listener: Listener1<K, T>): this;
  /** Removes the most recent registration of `listener` (or of a `once` wrapper of it). */
  removeListener<K>(eventName: Key<K, T>, listener: Listener1<K, T>): this;
  off<K>(eventName: Key<K, T>, listener: Listener1<K, T>): this;
  removeAllListeners(eventName?: Key<unknown, T>): this;
  /** Listeners per event above which a `MaxListenersExceededWarning` is given once (0: never). */
  setMaxListeners(n: number): this;
  getMaxListeners(): number;
  listeners<K>(eventName: Key<K, T>): Array<Listener2<K, T>>;
  rawListeners<K>(eventName: Key<K, T>): Array<Listener2<K, T>>;
  /** Calls the listeners; whether there were any. An `'error'` nobody listens to throws. */
  emit<K>(eventName: Key<K, T>, ...args: Args<K, T>): boolean;
  listenerCount<K>(eventName: Key<K, T>, listener?: Listener2<K, T>): number;
  prependListener<K>(eventName: Key<K, T>, listener: Listener1<K, T>): this;
  prependOnceListener<K>(eventName: Key<K, T>, listener: Listener1<K, T>): this;
  eventNames(): Array<string | symbol>;

  /** Listener count per event above which emitters warn, unless set per emitter (default 10). */
  static defaultMaxListeners: number;
  /** Listeners of this symbol see every `'error'` emit before the `'error'` listeners. */
  static readonly errorMonitor: unique symbol;
  /** The next `eventName` emit's arguments; rejects on an `'error'` emit first or on abort. */
  static once(emitter: { on(...args: any[]): unknown; removeListener(...args: any[]): unknown }, eventName: string | symbol, options?: { signal?: AbortSignalLike }): Promise<any[]>;
  /** @deprecated as in Node: use `emitter.listenerCount(eventName)`. */
  static listenerCount(emitter: { listenerCount(eventName: string | symbol): number }, eventName: string | symbol): number;
  static readonly EventEmitter: typeof EventEmitter;
  static readonly mitt: typeof mitt;
}

export declare const errorMonitor: typeof EventEmitter.errorMonitor;
export declare const once: typeof EventEmitter.once;

/** mitt's types. */
export type EventType = string | symbol;
export type Handler<T = unknown> = (event: T) => void;
export type WildcardHandler<T = Record<string, unknown>> = (type: keyof T, event: T[keyof T]) => void;
export type EventHandlerList<T = unknown> = Array<Handler<T>>;
export type WildCardEventHandlerList<T = Record<string, unknown>> = Array<WildcardHandler<T>>;
export type EventHandlerMap<Events extends Record<EventType, unknown>> = Map<
  keyof Events | '*',
  EventHandlerList<Events[keyof Events]> | WildCardEventHandlerList<Events>
>;

/** mitt 3's `Emitter`, plus the bus underneath. */
export interface Emitter<Events extends Record<EventType, unknown>> {
  /** The live map of handler lists; reading and changing it (`all.clear()`) works as in mitt. */
  all: EventHandlerMap<Events>;
  on<Key extends keyof Events>(type: Key, handler: Handler<Events[Key]>): void;
  on(type: '*', handler: WildcardHandler<Events>): void;
  /** Without a handler, removes every handler of `type`. */
  off<Key extends keyof Events>(type: Key, handler?: Handler<Events[Key]>): void;
  off(type: '*', handler: WildcardHandler<Events>): void;
  /** Calls the handlers of `type`, then the `'*'` handlers with `(type, event)`. */
  emit<Key extends keyof Events>(type: Key, event: Events[Key]): void;
  emit<Key extends keyof Events>(type: undefined extends Events[Key] ? Key : never): void;
  /** The emitter's bus (made on first use). Publishing on it does not call the handlers. */
  readonly bus: EventBus;
}

/** `mitt()` as in mitt 3 (`options.bus`: options of the emitter's `EventBus`). */
export declare function mitt<Events extends Record<EventType, unknown>>(
  all?: EventHandlerMap<Events>,
  options?: { bus?: EventBusOptions },
): Emitter<Events>;

export default EventEmitter;
