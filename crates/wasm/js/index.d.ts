// Types of the npm package `switchyard`. See API.md (shipped beside this file) for the semantics.
//
// They compile under any `lib` setting from es2022 on, with or without `dom` or `@types/node`:
// nothing here needs a global the chosen libs may lack (`Symbol.dispose` is declared below as
// TypeScript's own `esnext.disposable` lib and `@types/node` declare it, and an `AbortSignal` is
// taken structurally).

declare global {
  interface SymbolConstructor {
    /** The `using` statement's disposal method (declared the same way by lib `esnext.disposable`). */
    readonly dispose: unique symbol;
  }
}

/**
 * What `signal` options accept: an `AbortSignal` (DOM or Node), or anything with the same
 * `aborted` flag and `abort` event.
 */
export interface AbortSignalLike {
  readonly aborted: boolean;
  readonly reason?: unknown;
  addEventListener(type: 'abort', listener: () => void, options?: { once?: boolean }): void;
  removeEventListener(type: 'abort', listener: () => void): void;
}

/** Every `code` a {@link SwitchyardError} can carry. */
export type SwitchyardErrorCode =
  | 'E_INVALID_TOPIC'
  | 'E_INVALID_PATTERN'
  | 'E_INVALID_OPTION'
  | 'E_INVALID_HANDLER'
  | 'E_INVALID_RECEIVER'
  | 'E_BACKPRESSURE'
  | 'E_CASCADE'
  | 'E_CLOSED'
  | 'E_TIMEOUT'
  | 'E_NOT_CLONEABLE'
  | 'E_UNSUPPORTED';

/** The one error class the package throws. */
export class SwitchyardError extends Error {
  constructor(code: SwitchyardErrorCode, message: string);
  readonly name: 'SwitchyardError';
  readonly code: SwitchyardErrorCode;
  /** E_BACKPRESSURE only: the full subscription. */
  readonly subscription?: number;
  readonly subscriptionName?: string | null;
  readonly pattern?: string;
  readonly capacity?: number;
}

/** What happens when a message arrives for a full queue. */
export type Overflow = 'reject' | 'drop-oldest' | 'drop-newest';

/** Retry policy for failed (thrown / rejected / timed-out) deliveries. */
export interface RetryOptions {
  /** Total attempts including the first (default 1: no retry). */
  attempts?: number;
  /** Delay before the first retry (default 100). */
  backoffMs?: number;
  /** Upper bound of any delay (default 30 000). */
  maxBackoffMs?: number;
  /** Each further retry waits `factor` times longer (default 2). */
  factor?: number;
  /** `true`/`'full'`: uniform in [0, delay]; a number r: delay × [1 - r, 1 + r]. */
  jitter?: boolean | 'none' | 'full' | number;
}

/** `new EventBus(options)`. */
export interface EventBusOptions {
  /** Default per-subscription queue bound (default 1024). */
  capacity?: number;
  /** Default overflow policy (default `'reject'`). */
  overflow?: Overflow;
  /** Default retry policy. */
  retry?: RetryOptions;
  /** Dead letters kept (default 1000; the oldest is evicted and counted). */
  deadLetterCapacity?: number;
  /** Active subscriptions per pattern before a leak is suspected (default 100; 0 = off). */
  maxListeners?: number;
  /** Trace ring size for `trace()` (default 0 = off). */
  traceCapacity?: number;
  /** Most causation hops from a root publish (default 32). */
  maxCascadeDepth?: number;
  /** Default timeout of a pending (async) delivery. */
  timeoutMs?: number;
  /** Messages kept per topic for `replay` (default 0). */
  retain?: number;
  /**
   * Most idle topics the bus keeps per-topic state for (default 10000, at least 1). Past it, a
   * new topic evicts the least recently used topic with no message queued, in flight,
   * dead-lettered or retained: its per-topic metrics go (totals keep everything, counted in
   * `metrics().topicsEvicted`), and published again its `seq` restarts at 1.
   */
  maxTopics?: number;
  /**
   * Report a subscription as `idle` in `leaks()` when a message for it has waited this long (ms,
   * above 0) while it received nothing: a stuck consumer (default off).
   */
  idleAfterMs?: number;
  /**
   * Report a `trend` in `leaks()` when the number of subscriptions rose in each of
   * `trendWindows` consecutive windows of this length (ms, above 0): a slow leak (default off).
   */
  trendWindowMs?: number;
  /** With `trendWindowMs`: consecutive rising windows that make a trend (default 5, at least 1). */
  trendWindows?: number;
  /**
   * Keep the stack of each `subscribe` call for leak reports, starting at the caller's frame
   * (the package's own frames are cut) with `Error.stackTraceLimit` of the caller's frames.
   */
  captureStacks?: boolean;
  /** `'manual'`: time moves only through `bus.advance(ms)`. */
  clock?: 'real' | 'manual';
}

/** How a subscription receives messages. */
export type DeliveryStrategy = 'immediate' | { batch: { size: number; maxWaitMs?: number } };

/** The second argument of every handler call. */
export interface MessageMeta<T extends string = string> {
  /** Global sequence number of the message on this bus. */
  readonly id: number;
  readonly topic: T;
  /** Sequence number within its topic, from 1 (restarts after the topic was evicted: see `maxTopics`). */
  readonly seq: number;
  /** 1 on the first delivery, incremented by retries. */
  readonly attempt: number;
  /** Bus clock, ms. */
  readonly publishedAt: number;
  /** The message whose handler published this one. */
  readonly causationId: number | null;
  readonly correlationId: string | null;
  readonly headers: Readonly<Record<string, string>>;
  /** Where a message a bridge republished came from (frozen); `null` for a local publish. */
  readonly origin: MessageOrigin | null;
}

/**
 * Where a bridged message came from: the realm (tab, worker, broker connection) that published
 * it first, the `id` and `seq` it had there, and the links it crossed (`hops`, 1..255).
 */
export interface MessageOrigin {
  /** The publishing realm's id (non-empty, at most 128 bytes of UTF-8). */
  readonly realm: string;
  /** The message's id on the publishing realm's bus. */
  readonly id: number;
  /** Its per-topic sequence number there. */
  readonly seq: number;
  /** Links crossed so far, 1..255. */
  readonly hops: number;
}

export type Handler<P, T extends string = string> = (payload: P, meta: MessageMeta<T>) => unknown;
export type BatchHandler<P, T extends string = string> = (payloads: P[], metas: MessageMeta<T>[]) => unknown;

/** `subscribe(pattern, handler, options)`. */
export interface SubscribeOptions<P = unknown> {
  /** Higher first; ties in subscription order (default 0). */
  priority?: number;
  /** Remove after one delivered message. */
  once?: boolean;
  /** Falsy: the message is counted as filtered and not delivered. */
  filter?: (payload: P, meta: MessageMeta) => unknown;
  capacity?: number;
  overflow?: Overflow;
  delivery?: DeliveryStrategy;
  /** Pending (async) deliveries at once (default 1, which keeps order). */
  concurrency?: number;
  /** `'strict'`: a message waiting for its retry holds back later ones. */
  ordering?: 'strict' | 'relaxed';
  retry?: RetryOptions;
  timeoutMs?: number;
  breaker?: { failures?: number; cooldownMs?: number };
  /** Consumer group: each message goes to one member, round-robin. */
  group?: string;
  /** Deliver up to this many retained messages on subscribe. */
  replay?: number;
  name?: string;
  /**
   * The object (a component) this subscription belongs to. The bus holds the handler and filter
   * only through it, so a handler that uses `this` or closes over the owner does not keep it
   * alive. If the owner is garbage-collected while subscribed, the subscription ends and
   * `leaks()` reports `owner_released`.
   */
  owner?: object;
  /** With `owner`: when the owner is collected, end the subscription without reporting it (counted in `metrics().reclaimed`). */
  weak?: boolean;
  /** Unsubscribes on abort. */
  signal?: AbortSignalLike;
}

export interface PublishOptions {
  headers?: Record<string, string>;
  correlationId?: string;
  /** Dead-letter (`expired`) if still queued after this long. */
  ttlMs?: number;
  /**
   * For a bridge republishing a remote message: where it came from (all four fields required;
   * a bad one is `E_INVALID_OPTION` naming it and nothing is published). Handlers see it as
   * `meta.origin`; it stays with the message through retries, dead letters, redrive and snapshots.
   */
  origin?: MessageOrigin;
}

export interface PublishResult {
  /** The message id. */
  id: number;
  /** Its sequence number within the topic. */
  seq: number;
  /** Subscriptions it was routed to. */
  matched: number;
}

/**
 * Message counts. For a subscription (or summed over them) every matched or redriven message is
 * exactly one of delivered, filtered, dropped, dead-lettered, queued or in flight:
 * `matched + redriven = delivered + filtered + dropped + deadLettered + depth + inFlight`.
 */
export interface Counters {
  published: number;
  delivered: number;
  failed: number;
  retried: number;
  deadLettered: number;
  dropped: number;
  filtered: number;
  /** Messages routed to the subscription(s) by a publish. */
  matched: number;
  /** Dead letters put back into a queue by `redrive`. */
  redriven: number;
}

/** Microseconds. */
export interface Latency {
  p50: number;
  p90: number;
  p99: number;
  count: number;
  max: number;
}

export interface SubscriptionInfo {
  id: number;
  pattern: string;
  name: string | null;
  priority: number;
  group: string | null;
  paused: boolean;
  capacity: number;
  overflow: Overflow;
  delivery: 'immediate' | 'batched';
  batch: { size: number; maxWaitMs: number | null } | null;
  ordering: 'strict' | 'relaxed';
  /** Messages waiting in the queue (retries waiting for their backoff included). */
  depth: number;
  highWater: number;
  /** Messages handed to the handler and not yet settled (each message of a batch counts). `depth + inFlight <= capacity`. */
  inFlight: number;
  /** Handler calls not yet settled (a batch is one). */
  inFlightDeliveries: number;
  oldestQueuedAt: number | null;
  lagMs: number;
  breaker: 'closed' | 'open' | 'half-open';
  breakerOpened: number;
  createdAt: number;
  weak: boolean;
  hasOwner: boolean;
  counters: Counters;
  latency: Latency;
  handler: Latency;
}

export interface Metrics {
  totals: Counters;
  topics: { topic: string; counters: Counters; latency: Latency }[];
  activeSubscriptions: number;
  queued: number;
  /** Messages in flight over every subscription (each message of a batch counts). */
  inFlight: number;
  /** Handler calls in flight (a batch is one). */
  inFlightDeliveries: number;
  deadLetters: number;
  deadLettersEvicted: number;
  lateSettles: number;
  cascadesRefused: number;
  publishesRejected: number;
  reclaimed: number;
  leaksSuspected: number;
  expired: number;
  breakersOpen: number;
  /** Idle topics evicted past `maxTopics` (their entries left `topics`). */
  topicsEvicted: number;
  /** Retained messages dropped with their topic when only retention kept it past `maxTopics`. */
  retainedEvicted: number;
}

export interface DeadLetter<P = unknown> {
  /** The dead letter's id: what `bus.redrive(ids)` takes. */
  id: number;
  /** The id of the message (`meta.id`). */
  message: number;
  topic: string;
  subscription: number;
  subscriptionName: string | null;
  pattern: string;
  attempts: number;
  lastError: string | null;
  reason: 'handler_error' | 'timeout' | 'expired' | 'rejected';
  firstFailureAt: number;
  deadLetteredAt: number;
  publishedAt: number;
  correlationId: string | null;
  /** `meta.origin` of the message: where a bridged message came from, else `null`. */
  origin: MessageOrigin | null;
  payload: P;
}

/**
 * A suspected leak (`bus.leaks()`). `max_listeners`: more than `maxListeners` subscriptions on
 * one pattern; `owner_released`: a subscription whose `owner` was collected before it was
 * unsubscribed (it ended); `idle`: a message waited `idleAfterMs` for a subscription that
 * received nothing; `trend`: the subscription count rose in `trendWindows` consecutive windows.
 */
export interface LeakReport {
  reason: 'max_listeners' | 'owner_released' | 'idle' | 'trend';
  detail: string;
  pattern: string;
  detectedAt: number;
  suspects: { subscription: number; name: string | null; pattern: string; ageMs: number; stack: string | null }[];
}

/** Lifecycle event names for `bus.on`. */
export type LifecycleKind =
  | 'subscriber_added'
  | 'subscriber_removed'
  | 'published'
  | 'message_enqueued'
  | 'delivering'
  | 'delivered'
  | 'filtered'
  | 'failed'
  | 'retry_scheduled'
  | 'dead_letter'
  | 'dropped'
  | 'backpressure'
  | 'batch_flush'
  | 'strategy_swapped'
  | 'paused'
  | 'resumed'
  | 'circuit_opened'
  | 'circuit_half_open'
  | 'circuit_closed'
  | 'leak_suspected'
  | 'redriven'
  | 'timed_out'
  | 'cascade_refused'
  | 'dead_letter_evicted';

export interface LifecycleEvent<K extends LifecycleKind = LifecycleKind> {
  cursor: number;
  /** Bus clock, ms. */
  at: number;
  kind: K;
  subscription: number | null;
  message: number | null;
  topic: string | null;
  detail: number;
  /** On a `published` event of a message a bridge republished: where it came from. Absent otherwise. */
  origin?: MessageOrigin;
}

export interface TraceBatch {
  events: LifecycleEvent[];
  cursor: number;
  missed: number;
}

export interface WaitForOptions<P = unknown> {
  signal?: AbortSignalLike;
  timeoutMs?: number;
  filter?: (payload: P, meta: MessageMeta) => unknown;
}

export interface StreamOptions<P = unknown> {
  capacity?: number;
  overflow?: Overflow;
  filter?: (payload: P, meta: MessageMeta) => unknown;
  priority?: number;
  name?: string;
  group?: string;
  replay?: number;
  signal?: AbortSignalLike;
}

export interface StreamItem<P, T extends string = string> {
  payload: P;
  meta: MessageMeta<T>;
}

export interface MessageStream<P, T extends string = string> extends AsyncIterableIterator<StreamItem<P, T>> {
  readonly subscription: Subscription;
  return(value?: unknown): Promise<IteratorResult<StreamItem<P, T>>>;
}

/**
 * What `bus.snapshot()` returns. Every field is structured-clonable: store it with IndexedDB,
 * `structuredClone`, `postMessage` or `v8.serialize` (not `JSON.stringify`).
 */
export interface BusSnapshot {
  /** Always `'switchyard.snapshot'`. */
  readonly format: 'switchyard.snapshot';
  /** The engine snapshot format version; a newer one is refused by `EventBus.restore`. */
  readonly version: number;
  /** The engine state (subscriptions, queues, dead letters, counters), encoded. Opaque. */
  readonly bytes: Uint8Array;
  /** Each message's payload once, as the value itself; `bytes` refers to them by index. */
  readonly payloads: readonly unknown[];
}

export class Subscription {
  private constructor();
  readonly id: number;
  readonly pattern: string;
  readonly name: string | null;
  readonly active: boolean;
  /** False if it was already removed. */
  unsubscribe(): boolean;
  pause(): boolean;
  resume(): boolean;
  setDelivery(strategy: DeliveryStrategy): boolean;
  flush(): boolean;
  stats(): SubscriptionInfo | null;
  [Symbol.dispose](): void;
  /**
   * Does nothing: a `Subscription` holds no wasm memory. Kept so code written for wasm-bindgen
   * objects runs. It does not unsubscribe: use `unsubscribe()`.
   * @deprecated Not needed; call `unsubscribe()` to end a subscription.
   */
  free(): void;
}

/** The declared keys of `T`, without index signatures (`string`, `number`). */
type KnownKeys<T> = keyof { [K in keyof T as string extends K ? never : number extends K ? never : K]: T[K] };
/** Declared topics of `Events`; any string for an untyped bus. */
type TopicOf<Events> = [Extract<KnownKeys<Events>, string>] extends [never] ? string : Extract<KnownKeys<Events>, string>;
/** The payload of any topic of `Events` (`unknown` for an untyped bus). */
type AnyPayload<Events> = [Extract<KnownKeys<Events>, string>] extends [never]
  ? unknown
  : Events[Extract<KnownKeys<Events>, string>];
/** The payload type for a pattern: exact topics are typed, wildcard patterns get the union. */
type PayloadFor<Events, P extends string> = P extends Extract<KnownKeys<Events>, string> ? Events[P] : AnyPayload<Events>;
/** The payload of `publish(topic, ...)`. */
type PublishPayload<Events, T extends string> = T extends Extract<KnownKeys<Events>, string> ? Events[T] : unknown;
/**
 * The arguments of `publish(topic, ...)` after the topic: the payload may be left out when the
 * topic's payload type accepts `undefined` (`void`, `undefined`, `unknown`, `X | undefined`).
 */
type PublishArgs<Events, T extends string> = undefined extends PublishPayload<Events, T>
  ? [payload?: PublishPayload<Events, T>, options?: PublishOptions]
  : [payload: PublishPayload<Events, T>, options?: PublishOptions];
/** `meta.topic` for a pattern: the topic itself when exact, else any declared topic. */
type MetaTopic<Events, P extends string> = P extends Extract<KnownKeys<Events>, string> ? P : TopicOf<Events>;
/** A pattern with a wildcard segment. */
type WildcardPattern = `${string}*${string}`;
/** Patterns `subscribe` accepts: the declared topics of `Events`, or any wildcard pattern. */
type PatternOf<Events> = TopicOf<Events> | WildcardPattern;

/**
 * A restored subscription's handler in `EventBus.restore(snapshot, { handlers })`, keyed by
 * subscription name (or old id). Names do not say which topic a subscription was on, so the
 * payload is any declared payload (`P`, the union). A batched subscription's handler receives
 * arrays: give it as `{ handler: (payloads: P[], metas: MessageMeta[]) => ... }` with its
 * parameters annotated.
 */
export type RestoreHandler<P = unknown> =
  | Handler<P>
  | {
      handler: Handler<P> | BatchHandler<P>;
      filter?: (payload: P, meta: MessageMeta) => unknown;
    };

/** `EventBus.restore(snapshot, options)`: the bus options plus the handlers to re-attach. */
export interface RestoreOptions<P = unknown> extends EventBusOptions {
  handlers?: Record<string, RestoreHandler<P>>;
}

/**
 * What `expose(target)` takes besides a name: a `MessagePort` (the browser's, or Node's
 * `worker_threads` one), declared by the members the bus uses so that these types compile
 * without the DOM lib (under `lib: ["es2022"]`, with or without @types/node). Anything that is
 * not a real `MessagePort` is still refused at run time.
 */
export interface ExposePort {
  postMessage(message: any): void;
  close(): void;
}

/**
 * `Events` maps each topic to its payload type: a `type` alias or an `interface`
 * (`interface Events { 'order.paid': { id: string }; tick: void }`). A topic whose payload
 * type accepts `undefined` (`void`) is published without a payload: `bus.publish('tick')`.
 */
export class EventBus<Events extends object = Record<string, unknown>> {
  constructor(options?: EventBusOptions);
  /** The bus clock, ms. */
  now(): number;
  readonly closed: boolean;
  subscribe<P extends PatternOf<Events>>(
    pattern: P,
    handler: Handler<PayloadFor<Events, P>, MetaTopic<Events, P>>,
    options?: SubscribeOptions<PayloadFor<Events, P>> & { delivery?: 'immediate' },
  ): Subscription;
  subscribe<P extends PatternOf<Events>>(
    pattern: P,
    handler: BatchHandler<PayloadFor<Events, P>, MetaTopic<Events, P>>,
    options: SubscribeOptions<PayloadFor<Events, P>> & { delivery: { batch: { size: number; maxWaitMs?: number } } },
  ): Subscription;
  publish<T extends TopicOf<Events>>(topic: T, ...args: PublishArgs<Events, T>): PublishResult;
  waitFor<P extends PatternOf<Events>>(pattern: P, options?: WaitForOptions<PayloadFor<Events, P>>): Promise<PayloadFor<Events, P>>;
  stream<P extends PatternOf<Events>>(
    pattern: P,
    options?: StreamOptions<PayloadFor<Events, P>>,
  ): MessageStream<PayloadFor<Events, P>, MetaTopic<Events, P>>;
  /** Resolves when nothing is queued and ready, nothing is in flight and no retry is pending. */
  idle(): Promise<void>;
  isIdle(): boolean;
  /** Manual clock only. */
  advance(ms: number): void;
  metrics(): Metrics;
  subscriptions(): SubscriptionInfo[];
  /** The `Subscription` with this id (from `subscriptions()` or events), if active. */
  getSubscription(id: number): Subscription | undefined;
  deadLetters(): DeadLetter<AnyPayload<Events>>[];
  /**
   * Moves dead letters back to their subscription's queue (attempts reset): all, or those whose
   * dead-letter id (`deadLetters()[i].id`, not the message id) is in `ids`. Returns how many
   * moved; one whose subscription is gone or full stays, an unknown id is skipped.
   */
  redrive(ids?: readonly number[]): number;
  purgeDeadLetters(): number;
  leaks(): LeakReport[];
  trace(cursor?: number): TraceBatch;
  on<K extends LifecycleKind>(kind: K, listener: (event: LifecycleEvent<K>) => void): () => void;
  on(kind: '*', listener: (event: LifecycleEvent) => void): () => void;
  /**
   * Lets a visualiser attach (ATTACH_PROTOCOL.md): by name, over the `BroadcastChannel`
   * `switchyard:NAME` (other same-origin tabs; the same name again replaces the first), or over a
   * `MessagePort` whose other end the visualiser holds (the in-page devtools, a popup; any
   * origin). Several can be in force at once. The returned function stops this one.
   */
  expose(target: string | ExposePort): () => void;
  /**
   * The whole bus as a structured-clonable object (store it in IndexedDB, post it, clone it).
   * @deprecated Not in the entry `switchyard`, whose engine leaves snapshots out: this throws a
   * `SwitchyardError` with code `E_UNSUPPORTED`. A bus of `switchyard/snapshot`
   * (`import { EventBus } from 'switchyard/snapshot'`) has it.
   */
  snapshot(): BusSnapshot;
  /**
   * A bus rebuilt from `snapshot()`; handlers are re-attached by subscription name (or old id).
   * @deprecated Not in the entry `switchyard`, whose engine leaves snapshots out: this throws a
   * `SwitchyardError` with code `E_UNSUPPORTED`. `EventBus.restore` of `switchyard/snapshot`
   * (`import { EventBus } from 'switchyard/snapshot'`) has it.
   */
  static restore<E extends object = Record<string, unknown>>(
    snapshot: BusSnapshot,
    options?: RestoreOptions<AnyPayload<E>>,
  ): EventBus<E>;
  close(): void;
  /** Closes the bus (`using bus = new EventBus()`). */
  [Symbol.dispose](): void;
  /** Closes the bus and releases its memory; any later call throws. */
  free(): void;
}

declare const api: {
  EventBus: typeof EventBus;
  Subscription: typeof Subscription;
  SwitchyardError: typeof SwitchyardError;
};
export default api;
