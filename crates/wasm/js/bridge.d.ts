/**
 * `switchyard/bridge`: one bus across tabs, workers and brokers.
 *
 * ```ts
 * import { EventBus } from 'switchyard';
 * import { shareTopics } from 'switchyard/bridge';
 * const bus = new EventBus();
 * const link = shareTopics(bus, { channel: 'shop', topics: ['cart.**', 'auth.*'] });
 * bus.subscribe('cart.**', (item, meta) => render(item, meta.origin)); // from any tab or worker
 * const mqtt = await connectMqtt(bus, { url: 'wss://broker.example/mqtt', publish: ['order.**'], subscribe: ['price.*'] });
 * ```
 */

import type { EventBus, MessageOrigin } from 'switchyard';

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

/**
 * What a visualiser attached to the bus shows of one of its links (`state.links[]` of the
 * attach protocol, docs/ATTACH_PROTOCOL.md): the same fields for every transport, `null` where
 * one does not apply. Links register themselves with the bus they serve when they open and
 * leave when they close; nothing is read while no visualiser is attached.
 */
export interface LinkView {
  /** Unique among the links of this realm. */
  id: number;
  kind: 'tabs' | 'port' | 'mqtt';
  /** `tabs:<channel>`, `port`, or `mqtt:<broker URL without credentials or query>`. */
  name: string;
  /** This realm's id (`meta.origin.realm` of what it publishes, elsewhere). */
  realm: string;
  /** `LinkState` (tabs, port) or `MqttLinkState` (mqtt). */
  state: string;
  /** The shared patterns (mqtt: `out <pattern>` sent to the broker, `in <pattern>` received). */
  topics: string[];
  /** Realms heard from (tabs: live peers; port: the other end; mqtt: none), at most 32. */
  remotes: string[];
  /** Messages sent to other realms (mqtt: published to the broker). */
  sent: number;
  /** Messages received and published on this bus (mqtt: `delivered`). */
  received: number;
  /** Waiting to be sent (tabs, port: the outgoing queue; mqtt: the outbox). */
  queued: number;
  /** Dropped (tabs, port: outgoing queue full; mqtt: messages from the broker, all reasons). */
  dropped: number;
  duplicates: number;
  /** Gaps reported and messages missed in them (tabs, port; `null` for mqtt). */
  gaps: number | null;
  missed: number | null;
  /** Live peers (tabs, port; mqtt: a tab group's other realms, else `null`). */
  peers: number | null;
  /** Sent, awaiting PUBACK (mqtt; else `null`). */
  inFlight: number | null;
  /** Publish → PUBACK round-trip percentiles, ms (mqtt; `null` before the first or elsewhere). */
  rttP50Ms: number | null;
  rttP99Ms: number | null;
  /** Reconnects and dead letters (mqtt; else `null`). */
  reconnects: number | null;
  deadLettered: number | null;
  lastError: string | null;
  /** The link's own `metrics()`, as it returns them. */
  metrics: LinkMetrics | MqttLinkMetrics;
}

/**
 * A bus's link to other realms. `Events` is the bus's event map, so `publish` is typed as
 * `bus.publish` is.
 */
export interface Link<Events extends object = Record<string, unknown>> {
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
  publish: EventBus<Events>['publish'];
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
export function shareTopics<Events extends object>(bus: EventBus<Events>, options: ShareTopicsOptions): Link<Events>;

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
export function linkPort<Events extends object>(
  bus: EventBus<Events>,
  port: LinkPortTarget,
  options: LinkOptions,
): Link<Events>;

/** The most links a message crosses by default before it is no longer forwarded. */
export const DEFAULT_HOP_LIMIT: 8;

/** `meta.origin` of a bridged message (re-exported from `switchyard`). */
export type { MessageOrigin };

// ---- connectMqtt: bus topics ↔ an MQTT 5 broker (issue 17) ----

/** Where the MQTT outbox keeps its records until the broker's PUBACK. */
export interface MqttOutboxStore {
  /** `'memory'`, `'indexeddb'`, or the store's own name (shown in `metrics().store`). */
  kind?: string;
  /** The records left by an earlier run (any order) and the client id it saved. */
  open(): Promise<{ records: MqttOutboxRecord[]; clientId: string | null }>;
  /** Stores records (new ones, or ones whose `attempts` changed). A rejection fails their publish. */
  write(records: MqttOutboxRecord[]): Promise<void> | void;
  /** Deletes acknowledged or dead-lettered records by key. */
  remove(keys: number[]): Promise<void> | void;
  saveClientId(clientId: string): Promise<void> | void;
  close(): void;
}

/** One message in the outbox (structured-clonable and JSON-able). */
export interface MqttOutboxRecord {
  /** Order of arrival, ascending across runs. */
  key: number;
  /** The bus it was first published on (`meta.origin.realm` on the receiving side). */
  realm: string;
  /** Its id there. */
  id: number;
  /** Its per-topic sequence number there. */
  seq: number;
  /** Links crossed once it reaches the receiving bus (1 for a message of this bus). */
  hops: number;
  headers: Record<string, string> | null;
  correlationId: string | null;
  /** The MQTT topic. */
  topic: string;
  /** The bus topic. */
  busTopic: string;
  /** The payload as JSON text (`''` for `undefined`). */
  body: string;
  /** `Date.now()` when it entered the outbox. */
  createdAt: number;
  /** Refusals by the broker so far. */
  attempts: number;
  /** The realm whose link wrote it (tab groups only). */
  writer?: string;
}

export interface MqttBridgeOptions {
  /** The broker: `ws://`, `wss://` (browsers and Node), `mqtt://` or `mqtts://` (Node). */
  url: string | URL;
  /** Bus patterns sent to the broker. */
  publish?: string[];
  /** Bus patterns received from the broker (a `**` before the last segment is filtered locally). */
  subscribe?: string[];
  /** MQTT topic prefix: `a.b` ↔ `<prefix>/a/b`. Default `'switchyard'`; `''` for none. */
  prefix?: string;
  /**
   * MQTT client id, which names the persistent session. Default: the one the outbox store saved
   * (a reloaded page keeps its session), else a new random `sy-…`.
   */
  clientId?: string;
  /** MQTT 5 session expiry: how long the broker keeps the session and its queued messages while offline. Default 3600. */
  sessionExpirySec?: number;
  /** MQTT keepalive. Default 30. */
  keepaliveSec?: number;
  /** Default 10 000. */
  connectTimeoutMs?: number;
  /** Most messages sent and not yet acknowledged (also capped by the broker's Receive Maximum). Default 4096. */
  maxInFlight?: number;
  outbox?: {
    /** Most records in the outbox (default 10 000); past it the bridge subscriptions wait and queue. */
    capacity?: number;
    /** Default `'indexeddb'` where `indexedDB` exists (needs the `idb` package), else `'memory'`. */
    store?: 'memory' | 'indexeddb' | MqttOutboxStore;
    /** Names the IndexedDB database (`switchyard-mqtt-outbox:<name>`). Default `clientId`, else `'default'`. */
    name?: string;
  };
  /** Bound of each bridge subscription on the bus (default the bus's `capacity`). */
  capacity?: number;
  /** Overflow policy of the bridge subscriptions when the outbox is full and their queue too (default the bus's). */
  overflow?: 'reject' | 'drop-oldest' | 'drop-newest';
  /** Broker refusals (PUBACK reason ≥ 0x80) allowed before a dead letter (`attempts`, default 5), and the age past which an unsent record is dead-lettered (`maxAgeMs`, default none). */
  retry?: { attempts?: number; maxAgeMs?: number };
  /** Reconnect (and retry) delays: `initialMs` 500, `maxMs` 30 000, `factor` 2, `jitter` 0.5 (delay drawn from [d × (1 − jitter), d]). */
  backoff?: { initialMs?: number; maxMs?: number; factor?: number; jitter?: number };
  /** Bridges a message may cross (default 8): stops loops between several bridges. */
  hopLimit?: number;
  /**
   * Messages from MQTT clients that are not Switchyard bridges (no `sy` user property: devices,
   * services): `'deliver'` (default) publishes them on the bus with `meta.origin.realm`
   * `'mqtt:<this bus's realm>'` and the payload as JSON, or as a `Uint8Array` when it is not UTF-8
   * JSON; `'drop'` counts them in `dropped.foreign`. They are never sent to a broker again.
   */
  foreign?: 'deliver' | 'drop';
  /**
   * Message ids remembered to drop duplicates (default 10 000), shared by every sender this link
   * hears: it must hold what arrives between a message and its resend after a sender's lost
   * socket (at least the senders' in-flight windows that may resend together).
   */
  dedupeWindow?: number;
  /** Largest payload sent or accepted, in bytes (default 262 144). */
  maxMessageBytes?: number;
  /** Dead letters kept by `deadLetters()` (default 1000). */
  deadLetterCapacity?: number;
  /** Called with each dead letter. */
  onDeadLetter?: (letter: MqttDeadLetter) => void;
  username?: string;
  password?: string;
  /**
   * A tab group: the realms of this origin (tabs, iframes, dedicated workers) that pass the same
   * `channel` (and the same `url` and `prefix`: another broker or prefix makes another group)
   * bridge to the broker as one MQTT client. Only the group's leader (elected with Web Locks, as
   * `shareTopics` elects) holds the socket; when it closes or crashes the next realm connects
   * within about a second and continues; one silent for `deposeAfterMs` (10 000) is replaced.
   * Every realm's publishes on `publish` patterns go to the shared outbox in IndexedDB, which the
   * leader drains (a record leaves it only on PUBACK, so none is lost on a hand-over). The leader
   * subscribes to every realm's `subscribe` patterns; what the broker sends is published once on
   * the bus of each realm whose own patterns match. The realms share one client id (the given
   * `clientId`, else one stored with the outbox) and so one persistent session. A message that
   * reached this bus from another tab through `shareTopics`/`linkPort` is left to the link of the
   * realm that published it (a realm that should reach the broker joins the group). Needs
   * IndexedDB and BroadcastChannel (not in Node); the outbox database is
   * `switchyard-mqtt-tabs:<outbox.name ?? channel>/<hash of url and prefix>`.
   */
  tabs?: { channel: string; heartbeatMs?: number; deposeAfterMs?: number };
  /** The mqtt.js module. Required in browsers (bundled or not, unless an import map maps `mqtt`): the bridge imports `mqtt` through a specifier bundlers do not follow; Node finds it itself. */
  mqtt?: unknown;
}

/** A message the bridge gave up on after it entered the outbox. */
export interface MqttDeadLetter {
  /** `<realm>:<id>` of its origin. */
  id: string;
  /** The bus topic. */
  topic: string;
  mqttTopic: string;
  payload: unknown;
  /** `'refused'`: the broker refused it `retry.attempts` times; `'expired'`: older than `retry.maxAgeMs`. */
  reason: 'refused' | 'expired';
  /** The realm whose link wrote it (tab groups, where the leader dead-letters for the group). */
  writer?: string;
  attempts: number;
  lastError: string | null;
  createdAt: number;
  deadLetteredAt: number;
}

/** `'follower'`: a tab group's realm whose leader holds the socket (see `metrics().tabs.leaderState`). */
export type MqttLinkState = 'connecting' | 'connected' | 'waiting' | 'closed' | 'follower';

/** A tab group's view (`metrics().tabs`). */
export interface MqttTabsMetrics {
  channel: string;
  /** The group's BroadcastChannel and Web Lock name: `switchyard.mqtt/<channel>/<hash of url and prefix>`. */
  broadcastChannel: string;
  role: 'leader' | 'follower';
  /** The leader's socket state as last heard (this realm's when it leads); null when no leader was heard. */
  leaderState: MqttLinkState | null;
  /** Other realms of the group heard within 3 heartbeats. */
  peers: number;
  /** On the leader: records of the whole group it holds to send; null on a follower. */
  sharedOutbox: number | null;
  /** Times this realm became the leader. */
  leaderships: number;
  /** Messages on the group's channel that were not the group's (other versions, forged). */
  ignored: number;
}

export interface MqttLinkMetrics {
  state: MqttLinkState;
  clientId: string;
  store: string;
  /** Records in the outbox (waiting, in flight, or waiting for a retry); in a tab group, this realm's own not yet acknowledged. */
  outbox: number;
  /** Bus deliveries waiting for room in the outbox. */
  waitingForRoom: number;
  /** Sent, waiting for PUBACK. */
  inFlight: number;
  written: number;
  sent: number;
  acked: number;
  refused: number;
  retried: number;
  deadLettered: number;
  received: number;
  delivered: number;
  duplicates: number;
  /** Messages delivered from MQTT clients that are not Switchyard bridges (see `foreign`). */
  foreign: number;
  connects: number;
  reconnects: number;
  storeErrors: number;
  /** Messages from the broker not published on the bus, by reason. */
  dropped: { forged: number; oversized: number; malformed: number; foreign: number; echo: number; hopLimit: number; rejected: number; filtered: number };
  deadLetters: number;
  /** Publish → PUBACK, over the last 1024 acknowledgements. */
  rttMs: { p50: number | null; p99: number | null; max: number | null; samples: number };
  lastError: string | null;
  /** The tab group (option `tabs`), or null. */
  tabs: MqttTabsMetrics | null;
}

export interface MqttLink {
  readonly state: MqttLinkState;
  readonly clientId: string;
  /** Whether this realm holds the socket (always true without `tabs`). */
  readonly leader: boolean;
  metrics(): MqttLinkMetrics;
  deadLetters(): MqttDeadLetter[];
  /** Resolves when connected (at once if it is); in a tab group, when the group's leader is. */
  connected(): Promise<void>;
  /** Resolves when the outbox is empty (in a tab group: this realm's records acknowledged). */
  drained(): Promise<void>;
  /** Resolves when every record added so far is in the store (IndexedDB); a failed write is counted in `storeErrors` and the record is still sent from memory. */
  persisted(): Promise<void>;
  /** Unsubscribes from the bus and disconnects; the session and a durable outbox stay. */
  close(): Promise<void>;
}

/**
 * Bridges `bus` to an MQTT 5 broker (mqtt.js 5, an optional peer dependency: `npm install mqtt`,
 * and `idb` for the browser outbox). Resolves once the outbox is open and the bus subscriptions
 * are in place; connecting happens in the background (`link.connected()`).
 *
 * Rejects with `SwitchyardError` `E_INVALID_OPTION` for a bad option or a missing package, and
 * `E_INVALID_PATTERN` for a pattern with a segment MQTT reads differently (`/`, `+`, `#`, a
 * leading `$`).
 */
export function connectMqtt(bus: EventBus<any>, options: MqttBridgeOptions): Promise<MqttLink>;
