/**
 * `switchyard/bridge`: one bus across tabs, workers and brokers.
 *
 * ```ts
 * import { EventBus } from 'switchyard';
 * import { shareTopics } from 'switchyard/bridge';
 * const bus = new EventBus();
 * const link = shareTopics(bus, { channel: 'shop', topics: ['cart.**', 'auth.*'] });
 * bus.subscribe('cart.**', (item, meta) => render(item, meta.origin)); // from any tab or worker
 * ```
 */

import type { EventBus, MessageOrigin, PublishOptions, PublishResult } from 'switchyard';

/** A link's role: the realm holding the channel's leadership, another one, or closed. */
export type LinkState = 'leader' | 'follower' | 'disconnected';

/** What a link does when its outgoing queue is full: drop the oldest or the newest message. */
export type LinkOverflow = 'drop-oldest' | 'drop-newest';

/** `shareTopics(bus, options)` and `linkPort(bus, port, options)`. */
export interface LinkOptions {
  /** Patterns of the shared topics (`'cart.**'`, `'auth.*'`): 1 to 64 valid patterns. */
  topics: readonly string[];
  /**
   * Messages waiting to be sent, at most (default 65 536; 1 to 2^24). Messages published in one
   * task wait here and go as one batch at its end; past the bound the `overflow` policy drops.
   */
  capacity?: number;
  /** When the outgoing queue is full (default `'drop-oldest'`); every drop is counted and traced. */
  overflow?: LinkOverflow;
  /** A message that crossed this many links is not forwarded again (default 8; 1 to 255). */
  hopLimit?: number;
  /** This realm's id as other realms see it in `meta.origin.realm` (default `crypto.randomUUID()`). */
  realm?: string;
}

/** `shareTopics(bus, options)`. */
export interface ShareTopicsOptions extends LinkOptions {
  /** The channel: realms of one origin that share the name share the topics (1 to 256 bytes). */
  channel: string;
  /** Messages the leader keeps for realms that wake up (default 1024; 0 to 2^20). */
  logCapacity?: number;
  /** How often each realm says it is alive, ms (default 250; 20 to 60 000). */
  heartbeatMs?: number;
  /** Messages kept per shared topic for realms that join (default 1; 0 to 64). */
  retain?: number;
}

/** Counters of a link. */
export interface LinkMetrics {
  /** Messages sent to other realms. */
  sent: number;
  /** Messages received from other realms and published on this bus. */
  received: number;
  /** Messages dropped because the outgoing queue was full (see `overflow`). */
  dropped: number;
  /** Messages not forwarded because they had crossed `hopLimit` links. */
  hopLimited: number;
  /** Messages whose payload could not be structured-cloned (not sent; see `shareTopics`). */
  uncloneable: number;
  /**
   * Messages not delivered because they were here already: by another path (two links forming a
   * cycle), from this realm itself, from the leader's log racing the channel, or a retained
   * message older than one that arrived live.
   */
  duplicates: number;
  /**
   * Messages ignored: another version of the protocol, a forged or damaged shape, a position far
   * ahead of its sender's stream, or a topic this realm does not share (or a `$` topic).
   */
  ignored: number;
  /** Received messages this bus refused to publish (an invalid topic or origin, a full `reject` queue). */
  refused: number;
  /** Messages replayed from the leader's log when this realm woke up or joined. */
  caughtUp: number;
  /** Messages this realm missed that the leader's log no longer held: reported, not delivered. */
  missed: number;
  /** Gaps reported (each `missed` run from one realm is one gap). */
  gaps: number;
  /** Retained messages received when this realm joined. */
  retained: number;
  /** Times this realm became the leader. */
  leaderships: number;
  /** Other realms heard from recently. */
  peers: number;
  /** Messages waiting to be sent. */
  queued: number;
}

/** A bus's link to other realms. */
export interface Link {
  /** This realm's id (`meta.origin.realm` of what it publishes, elsewhere). */
  readonly realm: string;
  /** `'leader'`, `'follower'`, or `'disconnected'` once closed. */
  readonly state: LinkState;
  /** A copy of the counters. */
  metrics(): LinkMetrics;
  /**
   * Publishes on the bus after checking the payload can be structured-cloned: a payload that
   * cannot is refused with `E_NOT_CLONEABLE` and nothing is published anywhere. (`bus.publish`
   * of such a payload on a shared topic is delivered locally; the link does not send it, counts
   * it in `uncloneable` and traces it as `$bridge.uncloneable`.)
   */
  publish(topic: string, payload?: unknown, options?: PublishOptions): PublishResult;
  /** Stops sharing: unsubscribes, leaves the channel, gives up leadership. Idempotent. */
  close(): void;
}

/**
 * Shares `topics` with every other realm (tab, iframe, worker) of this origin that shares
 * `channel`: a message published here on a shared topic is delivered to the matching subscribers
 * of each of them once, in this realm's publish order, with `meta.origin` naming this realm and
 * the message's `id`/`seq` here, and is never echoed back. Over `BroadcastChannel` (browsers,
 * workers, and Node's `worker_threads`). Bad options are `E_INVALID_OPTION` /
 * `E_INVALID_PATTERN`; nothing is linked.
 */
export function shareTopics(bus: EventBus<any>, options: ShareTopicsOptions): Link;

/**
 * What `linkPort` takes: a `MessagePort`, a `Worker`, the worker's own global scope (`self`), or
 * a `worker_threads` port or worker, declared by the members the link uses.
 */
export interface LinkPortTarget {
  postMessage(message: any): void;
}

/**
 * Links this bus with the bus at the other end of `port` (a dedicated worker the page created,
 * or the page from inside the worker): the same delivery as `shareTopics`, point to point, with
 * no leader. Call it on both ends.
 */
export function linkPort(bus: EventBus<any>, port: LinkPortTarget, options: LinkOptions): Link;

/** The most links a message crosses by default before it is no longer forwarded. */
export const DEFAULT_HOP_LIMIT: 8;

/** `meta.origin` of a bridged message (re-exported from `switchyard`). */
export type { MessageOrigin };
