// @ts-check
// One bus ↔ one MQTT broker: the bus subscriptions that fill the outbox, the sender that drains
// it (QoS 1, a bounded in-flight window, a record leaves only on PUBACK), the receiver that
// checks and injects what the broker sends, and the reconnect loop (backoff with jitter).

import { SwitchyardError } from 'switchyard';
import { backoffDelay } from './backoff.js';
import { RecentSet } from './window.js';
import { decodeIncoming, encodePayload, foreignOrigin, isForeignRealm, userProperties } from './wire.js';
import { matches, toMqttFilter, toMqttTopic } from './topics.js';
import { originOf, publishIncoming } from './origin.js';

/** @typedef {import('./stores.js').OutboxRecord} OutboxRecord */
/** @typedef {import('./stores.js').OutboxStore} OutboxStore */

/**
 * @typedef {object} LinkConfig
 * @property {string} url
 * @property {string[]} publish
 * @property {string[]} subscribe
 * @property {string} prefix
 * @property {string} clientId
 * @property {string} realm this bus's realm (origin of what it publishes)
 * @property {number} sessionExpirySec
 * @property {number} keepaliveSec
 * @property {number} connectTimeoutMs
 * @property {number} maxInFlight
 * @property {number} outboxCapacity
 * @property {number | undefined} capacity the bridge subscriptions' bound
 * @property {'reject' | 'drop-oldest' | 'drop-newest' | undefined} overflow
 * @property {{ attempts: number, maxAgeMs: number }} retry
 * @property {import('./backoff.js').BackoffPolicy} backoff
 * @property {number} hopLimit
 * @property {'deliver' | 'drop'} foreign what to do with a message from a client that is not a Switchyard bridge
 * @property {number} dedupeWindow
 * @property {number} maxMessageBytes
 * @property {number} deadLetterCapacity
 * @property {((letter: DeadLetter) => void) | undefined} onDeadLetter
 * @property {string | undefined} username
 * @property {string | undefined} password
 */

/**
 * @typedef {object} DeadLetter
 * @property {string} id
 * @property {string} topic the bus topic
 * @property {string} mqttTopic
 * @property {unknown} payload
 * @property {'refused' | 'expired'} reason
 * @property {number} attempts
 * @property {string | null} lastError
 * @property {number} createdAt
 * @property {number} deadLetteredAt
 */

const utf8 = new TextEncoder();

/**
 * An upper estimate of a record's PUBLISH packet size in bytes.
 * @param {OutboxRecord} record
 */
function packetSize(record) {
  let size = 16 + utf8.encode(record.topic).length + utf8.encode(record.body).length + 8 + record.realm.length + 40;
  if (record.correlationId !== null) size += 16 + utf8.encode(record.correlationId).length;
  if (record.headers) for (const [k, v] of Object.entries(record.headers)) size += 16 + utf8.encode(k).length + utf8.encode(v).length;
  return size;
}

const now = () => (typeof performance !== 'undefined' ? performance.now() : Date.now());

/** Recent round-trip times kept for the percentiles in `metrics()`. */
const RTT_SAMPLES = 1024;

export class MqttLink {
  /**
   * @param {any} bus an EventBus
   * @param {any} mqtt the mqtt.js module (`connect`)
   * @param {OutboxStore} store
   * @param {LinkConfig} config
   * @param {OutboxRecord[]} restored records left in the store by an earlier run
   */
  constructor(bus, mqtt, store, config, restored) {
    this.bus = bus;
    this.mqtt = mqtt;
    this.store = store;
    this.config = config;
    /** @type {'connecting' | 'connected' | 'waiting' | 'closed'} */
    this.state = 'connecting';
    this.filters = config.subscribe.map((pattern) => ({ pattern, ...toMqttFilter(pattern, config.prefix) }));
    this.allExact = this.filters.every((f) => f.exact);

    // Outbox: every record from `add` to PUBACK (or dead letter), in key order.
    /** @type {Map<number, OutboxRecord>} */
    this.records = new Map();
    /** @type {OutboxRecord[]} records stored and ready to send, oldest first */
    this.queue = [];
    this.queueHead = 0;
    /** @type {Map<number, OutboxRecord>} sent, waiting for PUBACK */
    this.inflight = new Map();
    /** @type {Array<() => void>} adds waiting for room */
    this.waitingForRoom = [];
    /** @type {{ records: OutboxRecord[], done: Array<{ resolve: () => void, reject: (e: unknown) => void }> } | null} */
    this.writeBatch = null;
    /** @type {number[]} */
    this.removeBatch = [];
    this.removeScheduled = false;
    this.syncStore = store.kind === 'memory';
    this.closing = false;
    /** @type {Promise<void>} the store's latest removal */
    this.lastRemove = Promise.resolve();
    /** Settles when every record added so far is in the store (or failed to be: `storeErrors`). */
    this.lastCommit = Promise.resolve();
    this.nextKey = 1;
    for (const record of restored.sort((a, b) => a.key - b.key)) {
      this.records.set(record.key, record);
      this.queue.push(record);
      this.nextKey = record.key + 1;
    }

    this.seenOutgoing = new RecentSet(4096);
    this.injected = new RecentSet(config.dedupeWindow);
    this.seenIncoming = new RecentSet(config.dedupeWindow);
    /** @type {DeadLetter[]} */
    this.dead = [];
    this.counters = {
      written: 0,
      sent: 0,
      acked: 0,
      refused: 0,
      retried: 0,
      deadLettered: 0,
      received: 0,
      delivered: 0,
      duplicates: 0,
      foreign: 0,
      connects: 0,
      reconnects: 0,
      storeErrors: 0,
    };
    this.dropped = { forged: 0, oversized: 0, malformed: 0, foreign: 0, echo: 0, hopLimit: 0, rejected: 0, filtered: 0 };
    /** @type {number[]} */
    this.rtts = [];
    this.rttNext = 0;
    /** @type {string | null} */
    this.lastError = null;
    this.window = config.maxInFlight;
    this.generation = 0;
    this.attempt = 0;
    /** @type {ReturnType<typeof setTimeout> | null} */
    this.stableTimer = null;
    /** The broker's Maximum Packet Size (CONNACK), or Infinity. */
    this.maxPacket = Infinity;
    /** @type {any} */
    this.client = null;
    /** @type {ReturnType<typeof setTimeout> | null} */
    this.timer = null;
    /** @type {Set<ReturnType<typeof setTimeout>>} */
    this.retryTimers = new Set();
    /** @type {Array<() => void>} */
    this.connectedWaiters = [];
    /** @type {Array<() => void>} */
    this.drainWaiters = [];

    /** @type {Array<{ unsubscribe(): boolean }>} */
    this.subscriptions = [];
    try {
      for (const pattern of config.publish) {
        this.subscriptions.push(
          bus.subscribe(pattern, (/** @type {unknown} */ payload, /** @type {any} */ meta) => this.outgoing(payload, meta), {
            name: `mqtt ${config.clientId} → ${pattern}`,
            // Pending handlers are adds waiting for room; they complete in order.
            concurrency: 256,
            ...(config.capacity === undefined ? {} : { capacity: config.capacity }),
            ...(config.overflow === undefined ? {} : { overflow: config.overflow }),
          }),
        );
      }
    } catch (error) {
      // A pattern the bus refuses: nothing stays subscribed.
      for (const sub of this.subscriptions) sub.unsubscribe();
      throw error;
    }
    this.connect();
  }

  // ---- bus → outbox ------------------------------------------------------------------------

  /**
   * The handler of the bridge's bus subscriptions: a message to send becomes an outbox
   * record. Returns nothing when it is stored at once (memory), a promise while it waits for
   * the store or for room. Throws (a failed delivery: the bus retries, then dead-letters it)
   * when it cannot travel: a topic segment MQTT reads differently, a payload with no JSON form,
   * one larger than `maxMessageBytes`.
   * @param {unknown} payload
   * @param {any} meta
   */
  outgoing(payload, meta) {
    if (this.seenOutgoing.has(meta.id)) return; // a second matching pattern (not a retry: see below)
    const origin = originOf(meta);
    let realm = this.config.realm;
    /** @type {number} */
    let id = meta.id;
    /** @type {number} */
    let seq = meta.seq;
    let hops = 1;
    if (origin) {
      if (this.injected.has(`${origin.realm}:${origin.id}`)) return; // it came from this broker through this link
      if (isForeignRealm(origin.realm)) return; // from a plain MQTT client: it came from a broker
      if (origin.hops >= this.config.hopLimit) {
        this.dropped.hopLimit++;
        return;
      }
      ({ realm, id, seq } = origin);
      hops = origin.hops + 1;
    }
    const topic = toMqttTopic(meta.topic, this.config.prefix);
    let body;
    try {
      body = encodePayload(payload);
    } catch (error) {
      throw new SwitchyardError('E_NOT_CLONEABLE', `payload on '${meta.topic}' cannot be bridged to MQTT (JSON): ${/** @type {Error} */ (error).message}`);
    }
    if (body.length > this.config.maxMessageBytes / 3 && new TextEncoder().encode(body).length > this.config.maxMessageBytes) {
      throw new SwitchyardError('E_NOT_CLONEABLE', `payload on '${meta.topic}' is larger than maxMessageBytes (${this.config.maxMessageBytes})`);
    }
    const headers = meta.headers && Object.keys(meta.headers).length > 0 ? { ...meta.headers } : null;
    /** @type {OutboxRecord} */
    const record = { key: 0, realm, id, seq, hops, topic, busTopic: meta.topic, body, headers, correlationId: meta.correlationId ?? null, createdAt: Date.now(), attempts: 0 };
    // Remembered only once it is a record: a failed delivery retried by the bus is not a
    // second pattern's copy.
    this.seenOutgoing.add(meta.id);
    return this.add(record);
  }

  /**
   * Puts `record` into the outbox: at once when there is room and nobody waits, else after
   * the adds before it. Resolves when the store has it.
   * @param {OutboxRecord} record
   * @returns {Promise<void> | void}
   */
  add(record) {
    if (this.state === 'closed') throw new SwitchyardError('E_CLOSED', 'the MQTT link is closed');
    if (this.records.size >= this.config.outboxCapacity || this.waitingForRoom.length > 0) {
      return new Promise((resolve, reject) => {
        this.waitingForRoom.push(() => {
          try {
            resolve(this.add(record));
          } catch (error) {
            reject(error);
          }
        });
      });
    }
    record.key = this.nextKey++;
    this.records.set(record.key, record);
    this.counters.written++;
    if (this.syncStore) {
      this.store.write([record]);
      this.queue.push(record);
      this.pump();
      return;
    }
    // Accepted now (the outbox's bound, not the store's speed, is what holds publishers back);
    // it is sent once its batch is stored.
    this.write(record);
  }

  /**
   * Batches store writes: every record added in one turn goes in one transaction.
   * @param {OutboxRecord} record
   */
  write(record) {
    if (!this.writeBatch) {
      const batch = { records: /** @type {OutboxRecord[]} */ ([]), done: /** @type {any[]} */ ([]) };
      this.writeBatch = batch;
      const previous = this.lastCommit;
      this.lastCommit = new Promise((resolve) => queueMicrotask(() => previous.then(() => this.commit(batch)).then(resolve)));
    }
    this.writeBatch.records.push(record);
  }

  /** @param {{ records: OutboxRecord[], done: Array<{ resolve: () => void, reject: (e: unknown) => void }> }} batch */
  async commit(batch) {
    this.writeBatch = null;
    try {
      await this.store.write(batch.records);
    } catch (error) {
      // Not durable (counted and reported), but not lost: the records are sent from memory.
      this.counters.storeErrors++;
      this.lastError = `outbox store: ${/** @type {Error} */ (error)?.message ?? error}`;
    }
    if (this.state === 'closed') return;
    for (const record of batch.records) if (this.records.has(record.key)) this.queue.push(record);
    this.settleDrain();
    this.pump();
  }

  /** Removes a record for good (acknowledged or dead-lettered) and lets waiting adds in. */
  /** @param {OutboxRecord} record */
  forget(record) {
    this.records.delete(record.key);
    if (this.syncStore) this.store.remove([record.key]);
    else {
      this.removeBatch.push(record.key);
      if (!this.removeScheduled) {
        this.removeScheduled = true;
        queueMicrotask(() => {
          this.removeScheduled = false;
          const keys = this.removeBatch;
          this.removeBatch = [];
          // A removal that fails leaves the record to be sent again after a reload: the
          // receivers drop that copy by its id.
          this.lastRemove = Promise.resolve(this.store.remove(keys)).catch((error) => {
            this.counters.storeErrors++;
            this.lastError = `outbox store: ${error?.message ?? error}`;
          });
        });
      }
    }
    this.release();
    if (this.records.size === 0) this.settleDrain();
  }

  release() {
    while (this.waitingForRoom.length > 0 && this.records.size < this.config.outboxCapacity) {
      /** @type {() => void} */ (this.waitingForRoom.shift())();
    }
  }

  // ---- outbox → broker ---------------------------------------------------------------------

  pump() {
    if (this.state !== 'connected') return;
    const maxAge = this.config.retry.maxAgeMs;
    while (this.inflight.size < this.window && this.queueHead < this.queue.length) {
      const record = this.queue[this.queueHead++];
      if (!this.records.has(record.key) || this.inflight.has(record.key)) continue;
      if (Date.now() - record.createdAt > maxAge) {
        this.deadLetter(record, 'expired', `not acknowledged within retry.maxAgeMs (${maxAge} ms)`);
        continue;
      }
      if (this.maxPacket !== Infinity && packetSize(record) > this.maxPacket) {
        // The broker would drop the connection for it, forever: refuse it now.
        this.deadLetter(record, 'refused', `larger than the broker's Maximum Packet Size (${this.maxPacket} bytes)`);
        continue;
      }
      this.send(record);
    }
    if (this.queueHead > 1024 && this.queueHead * 2 > this.queue.length) {
      this.queue = this.queue.slice(this.queueHead);
      this.queueHead = 0;
    }
  }

  /** @param {OutboxRecord} record */
  send(record) {
    const generation = this.generation;
    const sentAt = now();
    this.inflight.set(record.key, record);
    this.counters.sent++;
    this.client.publish(
      record.topic,
      record.body,
      {
        qos: 1,
        properties: { userProperties: userProperties(record) },
      },
      (/** @type {any} */ error) => {
        // A socket that is gone had its records requeued; while closing, PUBACKs still remove.
        if (generation !== this.generation || (this.state === 'closed' && !this.closing)) return;
        this.inflight.delete(record.key);
        if (error) this.refused(record, error);
        else {
          this.counters.acked++;
          this.rtts[this.rttNext] = now() - sentAt;
          this.rttNext = (this.rttNext + 1) % RTT_SAMPLES;
          this.forget(record);
        }
        this.pump();
      },
    );
  }

  /**
   * The broker answered PUBACK with an error reason code (or mqtt.js refused the packet).
   * @param {OutboxRecord} record
   * @param {any} error
   */
  refused(record, error) {
    this.counters.refused++;
    record.attempts++;
    const why = `${error?.message ?? error}${typeof error?.code === 'number' ? ` (reason code ${error.code})` : ''}`;
    this.lastError = why;
    if (record.attempts >= this.config.retry.attempts) {
      this.deadLetter(record, 'refused', why);
      return;
    }
    this.counters.retried++;
    if (!this.syncStore) Promise.resolve(this.store.write([record])).catch(() => {});
    const delay = backoffDelay(this.config.backoff, record.attempts);
    const timer = setTimeout(() => {
      this.retryTimers.delete(timer);
      if (this.state === 'closed' || !this.records.has(record.key)) return;
      this.requeue([record]);
      this.pump();
    }, delay);
    this.retryTimers.add(timer);
  }

  /**
   * Puts records back at the head of the queue, in key order.
   * @param {OutboxRecord[]} records
   */
  requeue(records) {
    const rest = this.queue.slice(this.queueHead);
    this.queue = [...records.sort((a, b) => a.key - b.key), ...rest];
    this.queueHead = 0;
  }

  /**
   * @param {OutboxRecord} record
   * @param {'refused' | 'expired'} reason
   * @param {string} lastError
   */
  deadLetter(record, reason, lastError) {
    this.counters.deadLettered++;
    let payload;
    try {
      payload = record.body === '' ? undefined : JSON.parse(record.body);
    } catch {
      payload = record.body;
    }
    /** @type {DeadLetter} */
    const letter = {
      id: `${record.realm}:${record.id}`,
      topic: record.busTopic,
      mqttTopic: record.topic,
      payload,
      reason,
      attempts: record.attempts,
      lastError,
      createdAt: record.createdAt,
      deadLetteredAt: Date.now(),
    };
    this.dead.push(letter);
    if (this.dead.length > this.config.deadLetterCapacity) this.dead.shift();
    this.forget(record);
    if (this.config.onDeadLetter) {
      try {
        this.config.onDeadLetter(letter);
      } catch (error) {
        console.error('switchyard/bridge: onDeadLetter threw', error);
      }
    }
  }

  // ---- the connection ----------------------------------------------------------------------

  connect() {
    if (this.state === 'closed') return;
    if (this.bus.closed) {
      void this.close();
      return;
    }
    this.state = 'connecting';
    const generation = ++this.generation;
    const config = this.config;
    const client = this.mqtt.connect(config.url, {
      protocolVersion: 5,
      clientId: config.clientId,
      clean: false,
      reconnectPeriod: 0,
      resubscribe: false,
      connectTimeout: config.connectTimeoutMs,
      keepalive: config.keepaliveSec,
      properties: { sessionExpiryInterval: config.sessionExpirySec },
      ...(config.username === undefined ? {} : { username: config.username }),
      ...(config.password === undefined ? {} : { password: config.password }),
    });
    this.client = client;
    // mqtt.js emits `error` for a refused CONNACK or a socket error; `close` follows.
    client.on('error', (/** @type {any} */ error) => {
      if (generation === this.generation) this.lastError = error?.message ?? String(error);
    });
    client.on('connect', (/** @type {any} */ connack) => {
      if (generation !== this.generation || this.state === 'closed') return;
      this.online(client, connack);
    });
    client.on('message', (/** @type {string} */ topic, /** @type {Uint8Array} */ payload, /** @type {any} */ packet) => {
      if (generation !== this.generation || this.state === 'closed') return;
      this.incoming(topic, payload, packet);
    });
    client.on('close', () => this.lost(generation));
  }

  /**
   * @param {any} client
   * @param {any} connack
   */
  online(client, connack) {
    this.state = 'connected';
    this.counters.connects++;
    // The backoff resets only once the connection has lasted: a broker that accepts and then
    // drops the client (session takeover, an ACL disconnect) is not retried in lockstep.
    const generation = this.generation;
    this.stableTimer = setTimeout(() => {
      if (generation === this.generation) this.attempt = 0;
    }, Math.min(this.config.backoff.maxMs, 10_000));
    const receiveMaximum = connack?.properties?.receiveMaximum;
    this.window = Math.max(1, Math.min(this.config.maxInFlight, typeof receiveMaximum === 'number' ? receiveMaximum : 65535));
    const maximumPacketSize = connack?.properties?.maximumPacketSize;
    this.maxPacket = typeof maximumPacketSize === 'number' ? maximumPacketSize : Infinity;
    if (this.filters.length > 0) {
      // No Local: the broker never sends this client its own messages back. Subscribing again
      // on every connect is harmless (it replaces the session's subscription).
      const topics = Object.fromEntries(this.filters.map((f) => [f.filter, { qos: 1, nl: true }]));
      client.subscribe(topics, (/** @type {any} */ error) => {
        if (error && this.state !== 'closed') this.lastError = `subscribe: ${error.message ?? error}`;
      });
    }
    const waiters = this.connectedWaiters;
    this.connectedWaiters = [];
    for (const resolve of waiters) resolve();
    this.pump();
  }

  /** @param {number} generation */
  lost(generation) {
    if (generation !== this.generation || this.state === 'closed') return;
    this.generation++;
    if (this.stableTimer) clearTimeout(this.stableTimer);
    const old = this.client;
    this.client = null;
    old.end(true);
    // What was sent without a PUBACK goes again, first; receivers drop a second copy by id.
    if (this.inflight.size > 0) {
      this.requeue([...this.inflight.values()]);
      this.inflight.clear();
    }
    this.state = 'waiting';
    this.attempt++;
    this.counters.reconnects++;
    this.timer = setTimeout(() => {
      this.timer = null;
      this.connect();
    }, backoffDelay(this.config.backoff, this.attempt));
  }

  // ---- broker → bus ------------------------------------------------------------------------

  /**
   * A PUBLISH from the broker: checked, deduplicated, then published on the bus. Never throws
   * (mqtt.js would surface it as a client error): every refusal is counted.
   * @param {string} mqttTopic
   * @param {Uint8Array} bytes
   * @param {any} packet
   */
  incoming(mqttTopic, bytes, packet) {
    if (this.bus.closed) {
      // The bus is gone: stop before consuming more of the session's messages.
      void this.close();
      return;
    }
    this.counters.received++;
    const config = this.config;
    const decoded = decodeIncoming(mqttTopic, bytes, packet?.properties, { prefix: config.prefix, maxBytes: config.maxMessageBytes });
    if (!decoded.ok) {
      this.dropped[decoded.reason]++;
      this.lastError = `dropped from the broker (${decoded.reason}): ${decoded.detail}`;
      return;
    }
    const message = decoded.message;
    if (message.origin === null) {
      if (config.foreign === 'drop') {
        this.dropped.foreign++;
        return;
      }
    } else if (message.origin.realm === config.realm) {
      this.dropped.echo++; // this bus's own message, back through another bridge
      return;
    }
    if (message.origin !== null && message.origin.hops > config.hopLimit) {
      this.dropped.hopLimit++;
      return;
    }
    if (!this.allExact && !this.filters.some((f) => matches(f.pattern, message.topic))) {
      this.dropped.filtered++;
      return;
    }
    if (message.key !== null) {
      if (!this.seenIncoming.add(message.key)) {
        this.counters.duplicates++;
        return;
      }
      this.injected.add(message.key);
    } else {
      this.counters.foreign++;
    }
    const origin = message.origin ?? foreignOrigin(this.bus, config.realm);
    try {
      publishIncoming(this.bus, message.topic, message.payload, origin, message.headers, message.correlationId);
      this.counters.delivered++;
    } catch (error) {
      this.dropped.rejected++;
      this.lastError = `bus refused '${message.topic}': ${/** @type {Error} */ (error)?.message ?? error}`;
    }
  }

  // ---- the public face ---------------------------------------------------------------------

  /** Resolves when the link is connected (at once if it is). */
  whenConnected() {
    if (this.state === 'connected') return Promise.resolve();
    if (this.state === 'closed') return Promise.reject(new SwitchyardError('E_CLOSED', 'the MQTT link is closed'));
    return new Promise((resolve, reject) =>
      this.connectedWaiters.push(() => (this.state === 'closed' ? reject(new SwitchyardError('E_CLOSED', 'the MQTT link is closed')) : resolve(undefined))),
    );
  }

  /** Resolves when the outbox is empty (every record acknowledged or dead-lettered). */
  drained() {
    if (this.records.size === 0 && this.waitingForRoom.length === 0 && !this.writeBatch) return Promise.resolve();
    return new Promise((resolve) => this.drainWaiters.push(() => resolve(undefined)));
  }

  settleDrain() {
    if (this.records.size > 0 || this.waitingForRoom.length > 0 || this.writeBatch) return;
    const waiters = this.drainWaiters;
    this.drainWaiters = [];
    for (const resolve of waiters) resolve();
  }

  metrics() {
    const sorted = this.rtts.slice().sort((a, b) => a - b);
    const pick = (/** @type {number} */ q) => (sorted.length === 0 ? null : sorted[Math.min(sorted.length - 1, Math.floor(q * sorted.length))]);
    return {
      state: this.state,
      clientId: this.config.clientId,
      store: this.store.kind,
      outbox: this.records.size,
      waitingForRoom: this.waitingForRoom.length,
      inFlight: this.inflight.size,
      ...this.counters,
      dropped: { ...this.dropped },
      deadLetters: this.dead.length,
      rttMs: { p50: pick(0.5), p99: pick(0.99), max: sorted.length === 0 ? null : sorted[sorted.length - 1], samples: sorted.length },
      lastError: this.lastError,
    };
  }

  deadLetters() {
    return this.dead.slice();
  }

  async close() {
    if (this.state === 'closed') return;
    this.state = 'closed';
    // PUBACKs of what is in flight are still handled until the socket ends (see `send`).
    this.closing = true;
    for (const sub of this.subscriptions) sub.unsubscribe();
    if (this.timer) clearTimeout(this.timer);
    if (this.stableTimer) clearTimeout(this.stableTimer);
    for (const timer of this.retryTimers) clearTimeout(timer);
    this.retryTimers.clear();
    const waiting = this.waitingForRoom;
    this.waitingForRoom = [];
    for (const next of waiting) next(); // each rejects with E_CLOSED
    for (const resolve of this.drainWaiters) resolve();
    this.drainWaiters = [];
    for (const resolve of this.connectedWaiters) resolve(); // each rejects: see whenConnected
    this.connectedWaiters = [];
    const client = this.client;
    const wasConnected = client?.connected === true;
    this.client = null;
    // A clean DISCONNECT when connected (the session and its subscriptions stay on the broker
    // for `sessionExpirySec`); otherwise drop the socket at once.
    if (client) {
      const ended = new Promise((resolve) => client.end(!wasConnected, {}, () => resolve(undefined)));
      // mqtt.js's clean end waits for what is in flight; a broker that does not answer gets 1 s.
      let timer;
      const late = new Promise((resolve) => (timer = setTimeout(resolve, 1000, 'late')));
      if ((await Promise.race([ended, late])) === 'late') client.end(true);
      clearTimeout(timer);
    }
    this.closing = false;
    this.generation++;
    // Let the last removals reach the store before closing it (else they run again after a reload).
    await Promise.resolve();
    await this.lastRemove;
    await this.lastCommit;
    this.store.close();
  }
}
