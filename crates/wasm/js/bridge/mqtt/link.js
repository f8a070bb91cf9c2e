// @ts-check
// One bus ↔ one MQTT broker: the bus subscriptions that fill the outbox, the sender that drains
// it (QoS 1, a bounded in-flight window, a record leaves only on PUBACK), the receiver that
// checks and injects what the broker sends, and the reconnect loop (backoff with jitter).

import { SwitchyardError } from 'switchyard';
import { backoffDelay } from './backoff.js';
import { RecentSet } from '../recent.js';
import { decodeIncoming, encodePayload, foreignOrigin, isForeignRealm, userProperties } from './wire.js';
import { matches, toMqttFilter, toMqttTopic } from './topics.js';
import { originOf, publishIncoming } from './origin.js';
import { joinGroup } from './group.js';
import { coalesceWrites } from './frames.js';
import { deliveredOn, markDelivered } from '../tabs/link.js';

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
 * @property {{ name: string, channel: string, heartbeatMs: number, deposeAfterMs: number } | null} tabs the tab group (one socket per group; `name` as given, `channel` with the broker's hash), or null (this realm's own socket)
 * @property {boolean} clientIdGiven whether the app chose `clientId` (else the group's stored one is used)
 */

/**
 * @typedef {object} DeadLetter
 * @property {string} id
 * @property {string} topic the bus topic
 * @property {string} mqttTopic
 * @property {unknown} payload
 * @property {'refused' | 'expired'} reason
 * @property {string} [writer] the realm whose link wrote the record (tab groups)
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

/** An integer a record's numeric fields may hold. */
const count = (/** @type {unknown} */ n) => typeof n === 'number' && Number.isSafeInteger(n) && n >= 0;
const text = (/** @type {unknown} */ v) => typeof v === 'string';

/**
 * Whether `r` has an outbox record's shape (what the sender reads from it).
 * @param {any} r
 * @returns {r is OutboxRecord}
 */
function isRecord(r) {
  return (
    r !== null &&
    typeof r === 'object' &&
    count(r.key) &&
    count(r.id) &&
    count(r.seq) &&
    count(r.hops) &&
    count(r.attempts) &&
    typeof r.createdAt === 'number' &&
    text(r.realm) &&
    text(r.topic) &&
    text(r.busTopic) &&
    text(r.body) &&
    (r.correlationId === null || text(r.correlationId)) &&
    (r.headers === null || (typeof r.headers === 'object' && Object.values(r.headers).every(text)))
  );
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
    /** @type {'connecting' | 'connected' | 'waiting' | 'closed' | 'follower'} */
    this.state = config.tabs ? 'follower' : 'connecting';
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
    /**
     * MQTT topic → the record refused and waiting for its retry, and the later records of that
     * topic held until it is acknowledged or dead-lettered (a publisher's order per topic).
     * @type {Map<string, { key: number, held: OutboxRecord[] }>}
     */
    this.holds = new Map();
    /** @type {Array<() => void>} adds waiting for room */
    this.waitingForRoom = [];
    /** @type {{ records: OutboxRecord[], done: Array<{ resolve: () => void, reject: (e: unknown) => void }> } | null} */
    this.writeBatch = null;
    /** @type {number[]} */
    this.removeBatch = [];
    this.removeScheduled = false;
    /** Whether a removal transaction is running (the next batch waits for it). */
    this.removing = false;
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

    // Tab groups (see group.js): the keys of records this realm wrote that are not yet
    // acknowledged or dead-lettered (the leader tells), the keys the leader already forgot (its
    // removals may not have committed when it reads the store again), the highest key read.
    /** @type {Set<number>} */
    this.mine = new Set();
    this.gone = new RecentSet(65_536);
    this.readKey = 0;
    this.pulling = false;
    this.pullAgain = false;
    /** @type {number[]} */
    this.doneBatch = [];
    /** @type {Array<DeadLetter & { key: number }>} */
    this.deadBatch = [];
    /** @type {any[]} messages from the broker to hand to the followers (one post per turn) */
    this.forwardBatch = [];
    /** Changes of role (a stale async step of an earlier one stops when it differs). */
    this.leadings = 0;
    /** Times this realm became the group's leader. */
    this.leaderships = 0;
    /** Records being appended to the shared store. */
    this.appending = 0;
    /** @type {ReturnType<typeof setInterval> | undefined} */
    this.pullTimer = undefined;
    /** @type {any} */
    this.expiryTimer = undefined;
    /** @type {any} */
    this.reconcileTimer = undefined;
    /** Tab groups: the subscribe patterns each other realm announced (the leader subscribes to all). @type {Map<string, string[]>} */
    this.peerPatterns = new Map();
    /** MQTT filters subscribed on the current connection. @type {Set<string>} */
    this.subscribed = new Set();
    this.reconciling = false;
    /** The delivered origins of this bus, shared with the tabs bridge (one delivery per bus). */
    this.delivered = deliveredOn(bus);
    /** @type {import('./group.js').Group | null} */
    this.group = null;

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
    if (config.retry.maxAgeMs !== Infinity) {
      // Records that cannot be sent (no broker, no leader with a socket) still expire.
      this.expiryTimer = setInterval(() => this.expire(), Math.max(20, Math.min(1000, config.retry.maxAgeMs / 4)));
      if (typeof this.expiryTimer === 'object' && typeof this.expiryTimer.unref === 'function') this.expiryTimer.unref();
    }
    if (config.tabs) {
      const tabs = config.tabs;
      this.group = joinGroup(tabs.channel, config.realm, tabs.heartbeatMs, tabs.deposeAfterMs, {
        onLeading: (leading) => (leading ? void this.lead() : this.follow()),
        onMessage: (m) => this.fromGroup(m),
        state: () => this.state,
        announce: () => ({ subscribe: config.subscribe }),
        onResume: () => this.reconcile(),
      });
      // What this realm wrote and a `done` it missed (frozen meanwhile) settled: checked now and then.
      this.reconcileTimer = setInterval(() => this.reconcile(), 5000);
      if (typeof this.reconcileTimer === 'object' && typeof this.reconcileTimer.unref === 'function') this.reconcileTimer.unref();
    } else this.connect();
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
      // In a tab group, a message from another tab (shareTopics, linkPort) is bridged by the
      // realm that published it, through its own link of the group: not a second time here.
      if (this.group && this.delivered.get(`${origin.realm}:${origin.id}`) === 'tabs') return;
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
    if (this.outboxSize() >= this.config.outboxCapacity || this.waitingForRoom.length > 0) {
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
    this.counters.written++;
    if (this.group) {
      // The key comes from the shared store (see commit); the leader sends it from there.
      record.writer = this.config.realm;
      this.write(record);
      return;
    }
    record.key = this.nextKey++;
    this.records.set(record.key, record);
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
    if (this.group) return this.commitShared(batch.records);
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

  /**
   * Tab groups: appends this realm's records to the shared outbox. The leader sends them from
   * there; a follower nudges the leader. A failed append is retried (the records stay counted
   * in this realm's outbox, and publishers wait for room as usual).
   * @param {OutboxRecord[]} records
   */
  async commitShared(records) {
    this.appending += records.length;
    try {
      await /** @type {import('./stores.js').SharedIdbStore} */ (this.store).append(records);
    } catch (error) {
      this.counters.storeErrors++;
      this.lastError = `outbox store: ${/** @type {Error} */ (error)?.message ?? error}`;
      const timer = setTimeout(() => {
        this.retryTimers.delete(timer);
        this.appending -= records.length;
        if (this.state === 'closed') return;
        for (const record of records) this.write(record);
      }, 1000);
      this.retryTimers.add(timer);
      return;
    }
    this.appending -= records.length;
    // A key the leader already settled (it read the store before this realm ran on) is done.
    for (const record of records) if (!this.gone.has(record.key)) this.mine.add(record.key);
    if (this.state === 'closed') {
      this.settleDrain();
      return;
    }
    if (this.group?.leading()) {
      for (const record of records) {
        if (this.records.has(record.key) || this.gone.has(record.key)) continue;
        this.records.set(record.key, record);
        this.queue.push(record);
      }
      this.pump();
    } else {
      // The records ride along, so the leader need not read them back: the store, which has
      // them already, stays the truth for a leader that missed this (it reads it on taking
      // over, and every second).
      this.group?.post('wrote', { records });
    }
    this.settleDrain();
  }

  /** Records in this realm's outbox: its own not yet acknowledged in a tab group. */
  outboxSize() {
    if (!this.group) return this.records.size;
    return this.mine.size + this.appending + (this.writeBatch?.records.length ?? 0);
  }

  /** Removes a record for good (acknowledged or dead-lettered) and lets waiting adds in. */
  /**
   * @param {OutboxRecord} record
   * @param {DeadLetter | null} [letter] when it was dead-lettered
   */
  forget(record, letter = null) {
    this.records.delete(record.key);
    const hold = this.holds.size === 0 ? undefined : this.holds.get(record.topic);
    if (hold !== undefined && hold.key === record.key) {
      // The retried record is done: what waited behind it goes next, in order.
      this.holds.delete(record.topic);
      if (hold.held.length > 0) this.requeue(hold.held);
    }
    if (this.group) this.settled(record.key, letter);
    if (this.syncStore) this.store.remove([record.key]);
    else {
      this.removeBatch.push(record.key);
      if (!this.removeScheduled && !this.removing) {
        this.removeScheduled = true;
        queueMicrotask(() => {
          this.removeScheduled = false;
          this.flushRemovals();
        });
      }
    }
    this.release();
    if (this.outboxSize() === 0) this.settleDrain();
  }

  /**
   * Deletes the acknowledged keys from the store: one transaction at a time, the keys settled
   * meanwhile in the next. PUBACKs arrive one task each, and a transaction per PUBACK would queue
   * thousands of them, holding back every other writer of the database (a tab group's followers
   * appending to the shared outbox waited seconds behind such a queue, measured).
   */
  flushRemovals() {
    if (this.removeBatch.length === 0) return;
    const keys = this.removeBatch;
    this.removeBatch = [];
    this.removing = true;
    this.lastRemove = Promise.resolve()
      .then(() => this.store.remove(keys))
      .catch((error) => {
        // A removal that fails leaves the record to be sent again after a reload: the
        // receivers drop that copy by its id.
        this.counters.storeErrors++;
        this.lastError = `outbox store: ${error?.message ?? error}`;
      })
      .then(() => {
        this.removing = false;
        if (this.removeBatch.length === 0) return undefined;
        this.flushRemovals();
        return this.lastRemove;
      });
  }

  /**
   * Tab groups, on the leader: `key` left the shared outbox (acknowledged, or dead-lettered as
   * `letter`). Its writer is told in the next `done` or `dead` post (one per turn).
   * @param {number} key
   * @param {DeadLetter | null} letter
   */
  settled(key, letter) {
    this.gone.add(key);
    this.mine.delete(key);
    if (letter) this.deadBatch.push({ ...letter, key });
    else this.doneBatch.push(key);
    if (this.doneBatch.length + this.deadBatch.length === 1) {
      queueMicrotask(() => {
        const keys = this.doneBatch;
        const letters = this.deadBatch;
        this.doneBatch = [];
        this.deadBatch = [];
        if (keys.length > 0) this.group?.post('done', { keys });
        if (letters.length > 0) this.group?.post('dead', { letters });
      });
    }
  }

  release() {
    while (this.waitingForRoom.length > 0 && this.outboxSize() < this.config.outboxCapacity) {
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
      const hold = this.holds.size === 0 ? undefined : this.holds.get(record.topic);
      if (hold !== undefined && hold.key !== record.key) {
        // An earlier record of this topic waits for its retry: this one goes after it.
        hold.held.push(record);
        continue;
      }
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

  /**
   * Dead-letters (`'expired'`) the records older than `retry.maxAgeMs` that are not in flight:
   * those waiting for a connection, for room in the in-flight window, or for a retry. `pump`
   * checks each record again as it sends it.
   */
  expire() {
    if (this.state === 'closed') return;
    const maxAge = this.config.retry.maxAgeMs;
    const t = Date.now();
    for (const record of [...this.records.values()]) {
      if (t - record.createdAt <= maxAge || this.inflight.has(record.key)) continue;
      const why = this.state === 'connected' ? '' : ` while ${this.group && this.state === 'follower' ? 'no tab of the group held a connection' : `the broker was unreachable${this.lastError ? ` (${this.lastError})` : ''}`}`;
      this.deadLetter(record, 'expired', `not acknowledged within retry.maxAgeMs (${maxAge} ms)${why}`);
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
    // Until it is acknowledged or dead-lettered, later records of its topic wait (see `pump`).
    if (!this.holds.has(record.topic)) this.holds.set(record.topic, { key: record.key, held: [] });
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
    if (record.writer !== undefined) letter.writer = record.writer;
    this.dead.push(letter);
    if (this.dead.length > this.config.deadLetterCapacity) this.dead.shift();
    this.forget(record, letter);
    // The leader of a tab group keeps every dead letter of the group; the realm that wrote the
    // record is told (`dead`) and calls its own `onDeadLetter`.
    if (record.writer !== undefined && record.writer !== this.config.realm) return;
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
      manualConnect: true,
    });
    // What the link writes in one turn (a refill of the in-flight window, the PUBACKs of one
    // read) leaves as one WebSocket frame (frames.js). mqtt.js before `manualConnect` built its
    // stream already: only CONNECT is written to it (corked until the next tick).
    const build = client.streamBuilder;
    if (typeof build === 'function') client.streamBuilder = (/** @type {any} */ c) => coalesceWrites(build(c));
    // mqtt.js calls its `debug` logger several times a packet, enabled or not: while it is off
    // (no DEBUG=mqttjs*; `enabled` is then false or undefined), a no-op instead.
    if (typeof client.log === 'function' && 'enabled' in client.log && !client.log.enabled) client.log = () => {};
    if (client.stream) coalesceWrites(client.stream);
    else client.connect();
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
    this.subscribed = new Set();
    // No Local: the broker never sends this client its own messages back. Subscribing again on
    // every connect is harmless (it replaces the session's subscription). A group's leader
    // subscribes to what every realm of the group announced.
    this.subscribeTo(this.filters.map((f) => f.filter));
    for (const patterns of this.peerPatterns.values()) this.subscribeTo(this.mqttFilters(patterns));
    this.resolveConnected();
    this.group?.beat(); // followers learn at once that the group is connected
    this.pump();
  }

  /**
   * Subscribes the connection to the filters among `filters` it has not subscribed to yet.
   * @param {string[]} filters
   */
  subscribeTo(filters) {
    const fresh = filters.filter((f) => !this.subscribed.has(f));
    if (fresh.length === 0 || !this.client || this.state !== 'connected') return;
    for (const f of fresh) this.subscribed.add(f);
    this.client.subscribe(Object.fromEntries(fresh.map((f) => [f, { qos: 1, nl: true }])), (/** @type {any} */ error) => {
      if (error && this.state !== 'closed') this.lastError = `subscribe: ${error.message ?? error}`;
    });
  }

  /**
   * The MQTT filters of another realm's announced bus patterns (ones MQTT cannot carry, or not
   * strings, are left out: that realm refused them itself).
   * @param {string[]} patterns
   */
  mqttFilters(patterns) {
    const filters = [];
    for (const pattern of patterns) {
      try {
        filters.push(toMqttFilter(pattern, this.config.prefix).filter);
      } catch {
        this.group?.ignore();
      }
    }
    return filters;
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
    this.group?.beat();
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
    // A group's leader is subscribed for every realm: what only others want is forwarded only.
    const mine = (this.allExact && !this.group) || this.filters.some((f) => matches(f.pattern, message.topic));
    if (!mine && !this.group) {
      this.dropped.filtered++;
      return;
    }
    if (message.key !== null) {
      if (!this.seenIncoming.add(message.key)) {
        this.counters.duplicates++;
        return;
      }
    } else {
      this.counters.foreign++;
    }
    const origin = message.origin ?? foreignOrigin(this.bus, config.realm);
    const entry = { topic: message.topic, payload: message.payload, origin, headers: message.headers, correlationId: message.correlationId };
    if (this.group) this.forward(entry);
    if (mine) this.inject(entry, 'mqtt', message.key ?? undefined);
  }

  /**
   * Publishes a message from the broker on this bus, unless it reached the bus already by
   * another path (the tabs bridge, or another link of the group): each bus delivers it once.
   * @param {{ topic: string, payload: unknown, origin: import('./origin.js').Origin, headers: Record<string, string> | null, correlationId: string | null }} entry
   * @param {'mqtt' | 'mqtt-tabs'} kind `'mqtt-tabs'` when the group's leader forwarded it
   * @param {string} [key] its origin's `realm:id`, when the caller has it already
   */
  inject(entry, kind, key = `${entry.origin.realm}:${entry.origin.id}`) {
    // Remembered either way: the copy another path delivered is not sent back to the broker.
    this.injected.add(key);
    if (this.delivered.has(key)) {
      this.counters.duplicates++;
      return;
    }
    markDelivered(this.delivered, key, kind);
    try {
      publishIncoming(this.bus, entry.topic, entry.payload, entry.origin, entry.headers, entry.correlationId);
      this.counters.delivered++;
    } catch (error) {
      this.delivered.delete(key);
      this.dropped.rejected++;
      this.lastError = `bus refused '${entry.topic}': ${/** @type {Error} */ (error)?.message ?? error}`;
    }
  }

  /**
   * The leader of a tab group hands a message from the broker to the followers (one post per
   * turn).
   * @param {object} entry
   */
  forward(entry) {
    this.forwardBatch.push(entry);
    if (this.forwardBatch.length > 1) return;
    queueMicrotask(() => {
      const msgs = this.forwardBatch;
      this.forwardBatch = [];
      try {
        this.group?.post('msgs', { msgs });
      } catch (error) {
        // A payload the channel cannot clone (the broker's bytes and JSON always can).
        this.lastError = `tab group: ${/** @type {Error} */ (error)?.message ?? error}`;
      }
    });
  }

  // ---- the tab group -----------------------------------------------------------------------

  /** This realm now leads its tab group: read the shared outbox, then connect. */
  async lead() {
    if (this.state === 'closed') return;
    this.leadings++;
    this.leaderships++;
    this.state = 'connecting';
    const leadership = this.leadings;
    const store = /** @type {import('./stores.js').SharedIdbStore} */ (this.store);
    try {
      if (!this.config.clientIdGiven) this.config.clientId = await store.sharedClientId(this.config.clientId);
    } catch (error) {
      this.counters.storeErrors++;
      this.lastError = `outbox store: ${/** @type {Error} */ (error)?.message ?? error}`;
    }
    if (leadership !== this.leadings || this.state !== 'connecting') return; // stepped down meanwhile
    this.readKey = 0;
    this.pullTimer = setInterval(() => this.pull(), 1000);
    this.pull();
    this.connect();
  }

  /** This realm no longer leads (another took over, or the page froze): drop the socket. */
  follow() {
    this.leadings++;
    if (this.pullTimer) clearInterval(this.pullTimer);
    this.pullTimer = undefined;
    if (this.state === 'closed') return;
    this.generation++;
    if (this.timer) clearTimeout(this.timer);
    this.timer = null;
    if (this.stableTimer) clearTimeout(this.stableTimer);
    for (const timer of this.retryTimers) clearTimeout(timer);
    this.retryTimers.clear();
    const client = this.client;
    this.client = null;
    client?.end(true);
    // What was in flight stays in the shared outbox: the next leader sends it again.
    this.records.clear();
    this.queue = [];
    this.queueHead = 0;
    this.inflight.clear();
    this.holds.clear();
    this.state = 'follower';
    this.group?.beat();
  }

  /**
   * The leader reads what the group appended to the shared outbox since it last looked (on a
   * `wrote` nudge, and every second in case one was missed). One read at a time.
   */
  pull() {
    if (!this.group?.leading() || this.state === 'closed') return;
    if (this.pulling) {
      this.pullAgain = true;
      return;
    }
    this.pulling = true;
    const leadership = this.leadings;
    const store = /** @type {import('./stores.js').SharedIdbStore} */ (this.store);
    store
      .readAfter(this.readKey)
      .then((records) => {
        if (leadership !== this.leadings || this.state === 'closed') return;
        for (const record of records) {
          if (record.key > this.readKey) this.readKey = record.key;
          if (this.records.has(record.key) || this.gone.has(record.key)) continue;
          this.records.set(record.key, record);
          this.queue.push(record);
        }
        this.pump();
      })
      .catch((error) => {
        this.counters.storeErrors++;
        this.lastError = `outbox store: ${error?.message ?? error}`;
      })
      .finally(() => {
        this.pulling = false;
        if (this.pullAgain) {
          this.pullAgain = false;
          this.pull();
        }
      });
  }

  /**
   * The leader takes records a follower appended (its `wrote` message): sent without reading
   * the store. Anything not shaped as a record is ignored and counted, and the store read.
   * @param {unknown} records
   */
  take(records) {
    if (!Array.isArray(records) || !records.every(isRecord)) {
      this.group?.ignore();
      this.pull();
      return;
    }
    for (const record of records) {
      if (this.records.has(record.key) || this.gone.has(record.key)) continue;
      this.records.set(record.key, record);
      this.queue.push(record);
    }
    this.pump();
  }

  /**
   * A message from another realm of the group (group.js checked its envelope).
   * @param {any} m
   */
  fromGroup(m) {
    if (this.state === 'closed') return;
    switch (m.kind) {
      case 'beat':
        if (m.leader === true && m.state === 'connected') this.resolveConnected();
        if (Array.isArray(m.subscribe) && m.subscribe.length <= 256 && m.subscribe.every((/** @type {unknown} */ p) => typeof p === 'string')) {
          if (!this.peerPatterns.has(m.from) && this.peerPatterns.size >= 1024) break;
          const known = this.peerPatterns.get(m.from);
          if (known === undefined || known.length !== m.subscribe.length || known.some((p, i) => p !== m.subscribe[i])) {
            this.peerPatterns.set(m.from, m.subscribe);
            if (this.group?.leading()) this.subscribeTo(this.mqttFilters(m.subscribe));
          }
        }
        break;
      case 'bye':
        // Its subscriptions stay on the session until the next connect (harmless: followers
        // take only what their own patterns match).
        this.peerPatterns.delete(m.from);
        break;
      case 'wrote':
        if (this.group?.leading() && this.state !== 'follower') this.take(m.records);
        break;
      case 'msgs':
        if (this.group?.leading()) break;
        for (const entry of m.msgs) this.fromLeader(entry);
        break;
      case 'done': {
        let any = false;
        for (const key of m.keys) {
          this.gone.add(key); // leading later, this realm will not send it again
          any = this.mine.delete(key) || any;
        }
        if (any) {
          this.release();
          this.settleDrain();
        }
        break;
      }
      case 'dead':
        for (const letter of m.letters) {
          const known = this.mine.delete(letter.key);
          if (letter.writer !== this.config.realm || (!known && this.gone.has(letter.key))) {
            this.gone.add(letter.key);
            continue; // another realm's, or told already
          }
          this.gone.add(letter.key);
          const { key: _key, ...rest } = letter;
          this.counters.deadLettered++;
          this.dead.push(rest);
          if (this.dead.length > this.config.deadLetterCapacity) this.dead.shift();
          if (this.config.onDeadLetter) {
            try {
              this.config.onDeadLetter(rest);
            } catch (error) {
              console.error('switchyard/bridge: onDeadLetter threw', error);
            }
          }
          this.release();
          this.settleDrain();
        }
        break;
    }
  }

  /**
   * A message from the broker that the group's leader forwarded: remembered by its key (so this
   * realm, leading later, drops the broker's second copy) and published here once.
   * @param {any} entry
   */
  fromLeader(entry) {
    if (!entry || typeof entry.topic !== 'string' || !entry.origin || typeof entry.origin.realm !== 'string' || !Number.isSafeInteger(entry.origin.id)) {
      this.dropped.forged++;
      return;
    }
    this.counters.received++;
    // The leader subscribes for the whole group: this realm takes what its own patterns match.
    if (!this.filters.some((f) => matches(f.pattern, entry.topic))) return;
    if (!isForeignRealm(entry.origin.realm) && !this.seenIncoming.add(`${entry.origin.realm}:${entry.origin.id}`)) {
      this.counters.duplicates++;
      return;
    }
    this.inject(
      { topic: entry.topic, payload: entry.payload, origin: entry.origin, headers: entry.headers ?? null, correlationId: entry.correlationId ?? null },
      'mqtt-tabs',
    );
  }

  /**
   * Tab groups: drops from this realm's outbox count the records no longer in the shared outbox
   * (acknowledged or dead-lettered while this realm missed the leader's `done`, frozen or in
   * the back/forward cache). A dead letter missed that way is in the leader's `deadLetters()`.
   */
  reconcile() {
    if (this.mine.size === 0 || this.reconciling || this.state === 'closed') return;
    this.reconciling = true;
    const keys = [...this.mine];
    /** @type {import('./stores.js').SharedIdbStore} */ (this.store)
      .presentKeys(keys)
      .then((present) => {
        let any = false;
        for (const key of keys) {
          if (present.has(key) || !this.mine.delete(key)) continue;
          this.gone.add(key);
          any = true;
        }
        if (any) {
          this.release();
          this.settleDrain();
        }
      })
      .catch((error) => {
        this.counters.storeErrors++;
        this.lastError = `outbox store: ${error?.message ?? error}`;
      })
      .finally(() => (this.reconciling = false));
  }

  resolveConnected() {
    const waiters = this.connectedWaiters;
    this.connectedWaiters = [];
    for (const resolve of waiters) resolve();
  }

  // ---- the public face ---------------------------------------------------------------------

  /** Resolves when the link is connected (at once if it is). */
  whenConnected() {
    if (this.state === 'connected') return Promise.resolve();
    if (this.state === 'follower' && this.group?.leaderState() === 'connected') return Promise.resolve();
    if (this.state === 'closed') return Promise.reject(new SwitchyardError('E_CLOSED', 'the MQTT link is closed'));
    return new Promise((resolve, reject) =>
      this.connectedWaiters.push(() => (this.state === 'closed' ? reject(new SwitchyardError('E_CLOSED', 'the MQTT link is closed')) : resolve(undefined))),
    );
  }

  /** Resolves when the outbox is empty (every record acknowledged or dead-lettered). */
  drained() {
    if (this.outboxSize() === 0 && this.waitingForRoom.length === 0 && !this.writeBatch) return Promise.resolve();
    return new Promise((resolve) => this.drainWaiters.push(() => resolve(undefined)));
  }

  settleDrain() {
    if (this.outboxSize() > 0 || this.waitingForRoom.length > 0 || this.writeBatch) return;
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
      outbox: this.outboxSize(),
      waitingForRoom: this.waitingForRoom.length,
      inFlight: this.inflight.size,
      ...this.counters,
      dropped: { ...this.dropped },
      deadLetters: this.dead.length,
      rttMs: { p50: pick(0.5), p99: pick(0.99), max: sorted.length === 0 ? null : sorted[sorted.length - 1], samples: sorted.length },
      lastError: this.lastError,
      tabs: this.group
        ? {
            channel: /** @type {{ name: string }} */ (this.config.tabs).name,
            broadcastChannel: `switchyard.mqtt/${/** @type {{ channel: string }} */ (this.config.tabs).channel}`,
            role: this.group.leading() ? 'leader' : 'follower',
            leaderState: this.group.leaderState(),
            peers: this.group.peers(),
            sharedOutbox: this.group.leading() ? this.records.size : null,
            leaderships: this.leaderships,
            ignored: this.group.ignored(),
          }
        : null,
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
    if (this.pullTimer) clearInterval(this.pullTimer);
    if (this.expiryTimer) clearInterval(this.expiryTimer);
    if (this.reconcileTimer) clearInterval(this.reconcileTimer);
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
    // A group's leader gives the lead up only now: the next one connects once this socket's
    // PUBACKs are in (and their records' writers told), so it sends none of them again.
    await Promise.resolve();
    this.group?.close();
    // Let the last removals reach the store before closing it (else they run again after a reload).
    await Promise.resolve();
    await this.lastRemove;
    await this.lastCommit;
    this.store.close();
  }
}
