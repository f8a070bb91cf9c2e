/**
 * `switchyard/bridge`: bus topics beyond this bus.
 *
 * ```ts
 * import { EventBus } from 'switchyard';
 * import { connectMqtt } from 'switchyard/bridge';
 * const link = await connectMqtt(bus, { url: 'wss://broker.example/mqtt', publish: ['order.**'], subscribe: ['price.*'] });
 * ```
 */

/** The part of an `EventBus` a bridge uses. */
export interface BridgeBus {
  subscribe(pattern: string, handler: (payload: any, meta: any) => unknown, options?: object): { unsubscribe(): boolean };
  publish(topic: string, payload?: any, options?: object): { id: number };
  readonly closed: boolean;
}

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
  /** The Switchyard id (`sy-id` user property). */
  id: string;
  /** The realm (bus) it was first published on. */
  realm: string;
  /** Bridges crossed before this one. */
  hops: number;
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
  /** Most messages sent and not yet acknowledged (also capped by the broker's Receive Maximum). Default 64. */
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
  maxHops?: number;
  /** Message ids remembered to drop duplicates (default 10 000). */
  dedupeWindow?: number;
  /** Largest payload sent or accepted, in bytes (default 262 144). */
  maxMessageBytes?: number;
  /** Dead letters kept by `deadLetters()` (default 1000). */
  deadLetterCapacity?: number;
  /** Called with each dead letter. */
  onDeadLetter?: (letter: MqttDeadLetter) => void;
  username?: string;
  password?: string;
  /** The mqtt.js module, when `import('mqtt')` does not resolve (a page without a bundler). */
  mqtt?: unknown;
}

/** A message the bridge gave up on after it entered the outbox. */
export interface MqttDeadLetter {
  id: string;
  /** The bus topic. */
  topic: string;
  mqttTopic: string;
  payload: unknown;
  /** `'refused'`: the broker refused it `retry.attempts` times; `'expired'`: older than `retry.maxAgeMs`. */
  reason: 'refused' | 'expired';
  attempts: number;
  lastError: string | null;
  createdAt: number;
  deadLetteredAt: number;
}

export type MqttLinkState = 'connecting' | 'connected' | 'waiting' | 'closed';

export interface MqttLinkMetrics {
  state: MqttLinkState;
  clientId: string;
  store: string;
  /** Records in the outbox (waiting, in flight, or waiting for a retry). */
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
  connects: number;
  reconnects: number;
  storeErrors: number;
  /** Messages from the broker not published on the bus, by reason. */
  dropped: { forged: number; oversized: number; malformed: number; echo: number; hopLimit: number; rejected: number; filtered: number };
  deadLetters: number;
  /** Publish → PUBACK, over the last 1024 acknowledgements. */
  rttMs: { p50: number | null; p99: number | null; max: number | null; samples: number };
  lastError: string | null;
}

export interface MqttLink {
  readonly state: MqttLinkState;
  readonly clientId: string;
  metrics(): MqttLinkMetrics;
  deadLetters(): MqttDeadLetter[];
  /** Resolves when connected (at once if it is). */
  connected(): Promise<void>;
  /** Resolves when the outbox is empty. */
  drained(): Promise<void>;
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
export function connectMqtt(bus: BridgeBus, options: MqttBridgeOptions): Promise<MqttLink>;
