// @ts-check
// What every link does, whatever carries its messages (a BroadcastChannel in share.js, a
// MessagePort in port.js):
//
// * Outgoing: one subscription per shared pattern (named `bridge:<label>`) hands each message to
//   `onLocal`, which queues it; the queue is flushed in a microtask, as one posted batch, so a
//   loop of publishes costs one structured clone of an array. The queue is bounded (`capacity`):
//   past it the oldest (or newest) message is dropped, counted and traced. Each sent message gets
//   the next position `n` of this link's stream, so receivers deliver them in publish order, once.
// * Incoming: entries are delivered per sender in `n` order; one already delivered (n below the
//   sender's next) is a duplicate and skipped; a jump ahead is a gap, which the transport may
//   fill (share.js asks the leader's log) or which is reported. Each is published on the bus with
//   `origin` (the realm that published it first), its headers and correlation id; its `meta.id`
//   here is this bus's.
// * No echo, no loops: a message this link published is not sent back (it is recognised by its
//   origin), one that crossed `hopLimit` links is not forwarded, and one that reaches this bus a
//   second time by another path (two links forming a cycle) is skipped by its origin.
// * Diagnostics: drops, gaps, ignored messages, refused publishes and uncloneable payloads are
//   counted (`metrics()`) and published on this bus as `$bridge.<what>` (never shared), so they
//   show in its trace, its `on('published')` listeners and the visualiser.

import { SwitchyardError } from 'switchyard';

import { MAX_REMOTES } from '../registry.js';
import { RecentMap } from '../recent.js';
import { isMarked, message, readEntry, readMessage } from './protocol.js';

/** Topics of the link's own diagnostics (never shared). */
export const DIAGNOSTICS_PREFIX = '$bridge.';
/** Origins remembered per bus to skip a message reaching it twice. */
const RECENT_ORIGINS = 16_384;
/** Senders remembered per link. */
const MAX_SENDERS = 1024;
/** The farthest a received message may jump ahead of its sender's stream (see `accept`). */
const MAX_JUMP = 1 << 20;

/** bus → its realm id as links give it in `meta.origin.realm`. */
const realms = new WeakMap();
/** bus → Map of recently delivered origins (`realm:id`) → the kind of link that delivered it
 * (`'tabs'`, `'mqtt'`, `'mqtt-tabs'`), in arrival order. Shared by every bridge on the bus, so a
 * message reaching it by two paths (a broker and another tab) is delivered once. */
const recentByBus = new WeakMap();

/**
 * The recently delivered origins of `bus` (see `recentByBus`).
 * @param {object} bus
 * @returns {RecentMap<string>}
 */
export function deliveredOn(bus) {
  let recent = recentByBus.get(bus);
  if (recent === undefined) {
    recent = new RecentMap(RECENT_ORIGINS);
    recentByBus.set(bus, recent);
  }
  return recent;
}

/**
 * Records that the message with origin key `key` was delivered on `bus` by a link of `kind`.
 * @param {RecentMap<string>} recent from `deliveredOn` (the oldest goes when full)
 * @param {string} key
 * @param {string} kind
 */
export function markDelivered(recent, key, kind) {
  recent.set(key, kind);
}
let nextLinkId = 1;

/**
 * The realm id of `bus` (made once per bus).
 * @param {object} bus
 * @param {string | undefined} chosen
 */
export function realmOf(bus, chosen) {
  if (chosen !== undefined) return chosen;
  let realm = realms.get(bus);
  if (realm === undefined) {
    realm = randomId();
    realms.set(bus, realm);
  }
  return realm;
}

/** A random id (a UUID where `crypto.randomUUID` exists, 32 hex digits otherwise). */
export function randomId() {
  return typeof crypto?.randomUUID === 'function' ? crypto.randomUUID() : fallbackId();
}

function fallbackId() {
  const bytes = new Uint8Array(16);
  crypto.getRandomValues(bytes);
  return [...bytes].map((b) => b.toString(16).padStart(2, '0')).join('');
}

/**
 * @typedef {import('./protocol.js').Entry} Entry
 * @typedef {import('./options.js').LinkConfig} LinkConfig
 * @typedef {{ topic: string, payload: unknown, headers: Record<string, string> | null,
 *   correlationId: string | null, origin: import('./protocol.js').Origin }} Outgoing
 */

/** The counters of `metrics()`. */
function zeroMetrics() {
  return {
    sent: 0,
    received: 0,
    dropped: 0,
    hopLimited: 0,
    uncloneable: 0,
    duplicates: 0,
    ignored: 0,
    refused: 0,
    caughtUp: 0,
    missed: 0,
    gaps: 0,
    retained: 0,
    leaderships: 0,
    peers: 0,
    queued: 0,
  };
}

export class LinkCore {
  /**
   * @param {any} bus
   * @param {LinkConfig} config
   * @param {string} label `tabs:<channel>` or `port`
   * @param {(message: object) => void} post sends one protocol message (may throw DataCloneError)
   */
  constructor(bus, config, label, post) {
    this.bus = bus;
    this.config = config;
    this.label = label;
    this.post = post;
    this.realm = realmOf(bus, config.realm);
    this.linkId = nextLinkId++;
    /** This link's stream, as receivers name it. */
    this.key = `${this.realm}:${this.linkId}`;
    this.closed = false;
    this.paused = false;
    /** Called once when the link closes, whatever closed it (share.js, port.js tear down). */
    this.onClose = () => {};
    /** Whether a topic is one this link shares. */
    this.shares = compilePatterns(config.topics);
    /** @type {any[]} */
    this.subscriptions = [];
    /** @type {Outgoing[]} */
    this.queue = [];
    this.flushScheduled = false;
    /** Position of the last message sent. */
    this.sentN = 0;
    /** The last message id handed to `onLocal` (a message matching two patterns comes twice). */
    this.lastId = -1;
    /** sender → { next } */
    this.senders = new Map();
    /** Origins (`realm:id`) this link published and must not send back. */
    /** @type {RecentMap<boolean>} */
    this.injected = new RecentMap(RECENT_ORIGINS);
    this.recent = deliveredOn(bus);
    this.metricsData = zeroMetrics();
    /** Counts reported at the next microtask (coalesced). */
    this.pendingReports = { dropped: 0, ignored: 0 };
    this.reportScheduled = false;
    /** Called with each batch of entries sent (share.js keeps its log). @type {(entries: Entry[]) => void} */
    this.onSent = () => {};
    /** Called with each entry delivered here. @type {(entry: Entry) => void} */
    this.onDelivered = () => {};
    /** Called with control messages (anything but `msgs`). @type {(message: any) => void} */
    this.onControl = () => {};
    /**
     * Called when an entry jumps ahead of its sender's stream: `true` if the transport will fill
     * the gap (the entry and everything after are then held until `release`).
     * @type {(entry: Entry) => boolean}
     */
    this.onGap = () => false;
    /** While set, received messages wait here (share.js, during a catch-up). @type {any[] | null} */
    this.held = null;
  }

  /** Subscribes to every shared pattern; on a bad pattern, removes what it made and throws. */
  start() {
    const onLocal = (/** @type {unknown} */ payload, /** @type {any} */ meta) => this.onLocal(payload, meta);
    try {
      for (const pattern of this.config.topics) {
        this.subscriptions.push(
          this.bus.subscribe(pattern, onLocal, {
            name: `bridge:${this.label}`,
            retry: { attempts: 1 },
            capacity: 2 ** 24,
            overflow: 'drop-oldest',
          }),
        );
      }
    } catch (error) {
      for (const sub of this.subscriptions) sub.unsubscribe();
      this.subscriptions = [];
      throw error;
    }
  }

  /**
   * A message published on this bus on a shared topic.
   * @param {unknown} payload
   * @param {any} meta
   */
  onLocal(payload, meta) {
    if (this.closed || meta.id === this.lastId) return;
    this.lastId = meta.id;
    if (meta.topic.startsWith(DIAGNOSTICS_PREFIX)) return;
    const from = meta.origin;
    let origin;
    if (from === null) {
      origin = { realm: this.realm, id: meta.id, seq: meta.seq, hops: 1 };
    } else {
      const key = `${from.realm}:${from.id}`;
      if (this.injected.delete(key)) return;
      if (from.hops >= this.config.hopLimit) {
        this.metricsData.hopLimited++;
        return;
      }
      origin = { realm: from.realm, id: from.id, seq: from.seq, hops: from.hops + 1 };
    }
    const headers = meta.headers;
    this.queue.push({
      topic: meta.topic,
      payload,
      headers: headers !== undefined && Object.keys(headers).length > 0 ? headers : null,
      correlationId: meta.correlationId,
      origin,
    });
    if (this.queue.length > this.config.capacity) {
      if (this.config.overflow === 'drop-oldest') this.queue.shift();
      else this.queue.pop();
      this.metricsData.dropped++;
      this.report('dropped');
    }
    if (!this.flushScheduled) {
      this.flushScheduled = true;
      queueMicrotask(() => this.flush());
    }
  }

  /** Sends the queue as one batch (message by message if a payload cannot be cloned). */
  flush() {
    this.flushScheduled = false;
    // Paused (the page is freezing): what is queued waits for `resume`, keeping its order.
    if (this.queue.length === 0 || this.paused) return;
    const queue = this.queue;
    this.queue = [];
    const at = Date.now();
    const first = this.sentN;
    const entries = queue.map((q, i) => /** @type {Entry} */ ({ s: this.key, n: first + i + 1, at, ...q }));
    try {
      this.post(message('msgs', this.realm, { link: this.linkId, msgs: entries }));
      this.sentN += entries.length;
      this.metricsData.sent += entries.length;
      this.onSent(entries);
      return;
    } catch {
      // A payload cannot be cloned (a DataCloneError, or whatever a getter the clone ran threw).
    }
    // Send them one by one, in order: only the bad ones stay behind.
    for (const q of queue) {
      const entry = /** @type {Entry} */ ({ s: this.key, n: this.sentN + 1, at, ...q });
      try {
        this.post(message('msgs', this.realm, { link: this.linkId, msgs: [entry] }));
      } catch (error) {
        this.metricsData.uncloneable++;
        this.diagnose('uncloneable', {
          topic: q.topic,
          id: q.origin.realm === this.realm ? q.origin.id : null,
          error: String(/** @type {any} */ (error)?.message ?? error),
        });
        continue;
      }
      this.sentN++;
      this.metricsData.sent++;
      this.onSent([entry]);
    }
  }

  /**
   * A message from the transport. Never throws: anything malformed is counted.
   * @param {unknown} data
   */
  receive(data) {
    if (this.closed) return;
    try {
      const m = readMessage(data);
      if (m === null) {
        this.ignore();
        return;
      }
      if (m.from === this.realm) return;
      // During a catch-up, messages wait (control messages, the answer among them, do not).
      if (this.held !== null && m.kind === 'msgs') {
        this.held.push(m);
        return;
      }
      this.dispatch(m);
    } catch {
      this.ignore();
    }
  }

  /** @param {any} m a message `readMessage` accepted */
  dispatch(m) {
    if (m.kind !== 'msgs') {
      this.onControl(m);
      return;
    }
    const sender = `${m.from}:${m.link}`;
    for (let i = 0; i < m.msgs.length; i++) {
      const entry = readEntry(m.msgs[i]);
      if (entry === null || entry.s !== sender) {
        this.ignore();
        continue;
      }
      if (!this.accept(entry, true) && this.held !== null) {
        // A gap the transport is filling: the rest of this batch waits with later messages.
        this.held.unshift({ ...m, msgs: m.msgs.slice(i) });
        return;
      }
    }
  }

  /**
   * Delivers `entry` in its sender's order. Returns false when it jumped ahead and the transport
   * took over the gap (the entry is not delivered yet).
   * @param {Entry} entry
   * @param {boolean} mayAsk whether a gap may be handed to the transport
   * @param {boolean} [fromLog]
   */
  accept(entry, mayAsk, fromLog = false) {
    let state = this.senders.get(entry.s);
    if (state === undefined) state = this.sender(entry.s, entry.n);
    if (entry.n < state.next) {
      this.metricsData.duplicates++;
      return true;
    }
    if (entry.n - state.next > MAX_JUMP) {
      // No real sender gets this far ahead of what reached a listening realm: a forged or
      // damaged position, which must not silence the sender's next messages.
      this.ignore();
      return true;
    }
    if (entry.n > state.next) {
      if (mayAsk && this.onGap(entry)) return false;
      this.gap(entry.s, state.next, entry.n - state.next);
    }
    state.next = entry.n + 1;
    if (this.deliver(entry) && fromLog) this.metricsData.caughtUp++;
    return true;
  }

  /**
   * Starts following `sender` at position `next` (the oldest followed sender goes past
   * MAX_SENDERS).
   * @param {string} sender
   * @param {number} next
   */
  sender(sender, next) {
    const state = { next };
    this.senders.set(sender, state);
    if (this.senders.size > MAX_SENDERS) dropFirst(this.senders);
    return state;
  }

  /**
   * Reports `count` messages of `sender` from position `from` as missed, and moves past them.
   * @param {string} sender
   * @param {number} from
   * @param {number} count
   */
  gap(sender, from, count) {
    if (count <= 0) return;
    const state = this.senders.get(sender);
    if (state !== undefined && state.next < from + count) state.next = from + count;
    this.metricsData.gaps++;
    this.metricsData.missed += count;
    this.diagnose('gap', { sender: sender.slice(0, sender.lastIndexOf(':')), from, missed: count });
  }

  /**
   * Publishes `entry` on this bus unless it reached it already (by another path).
   * @param {Entry} entry
   * @returns {boolean} whether it was published
   */
  deliver(entry) {
    if (entry.topic.startsWith('$') || !this.shares(entry.topic)) {
      // Not a topic this realm shares (another realm shares more), or a forged diagnostic.
      this.ignore();
      return false;
    }
    const key = `${entry.origin.realm}:${entry.origin.id}`;
    if (this.recent.has(key) || entry.origin.realm === this.realm) {
      this.metricsData.duplicates++;
      return false;
    }
    /** @type {Record<string, unknown>} */
    const options = { origin: entry.origin };
    if (entry.headers !== null) options.headers = entry.headers;
    if (entry.correlationId !== null) options.correlationId = entry.correlationId;
    this.injected.set(key, true);
    // Marked before it is published: a bridge handler seeing it knows it came from another tab.
    markDelivered(this.recent, key, 'tabs');
    try {
      this.bus.publish(entry.topic, entry.payload, options);
    } catch (error) {
      this.injected.delete(key);
      this.recent.delete(key);
      if (error instanceof SwitchyardError && error.code === 'E_CLOSED') {
        this.close();
        return false;
      }
      this.metricsData.refused++;
      this.diagnose('refused', {
        topic: entry.topic,
        code: error instanceof SwitchyardError ? error.code : null,
        error: String(/** @type {any} */ (error)?.message ?? error),
      });
      return false;
    }
    this.metricsData.received++;
    this.onDelivered(entry);
    return true;
  }

  /** Counts one ignored message (reported once per microtask). */
  ignore() {
    this.metricsData.ignored++;
    this.report('ignored');
  }

  /**
   * Coalesces a count into one diagnostic per microtask.
   * @param {'dropped' | 'ignored'} what
   */
  report(what) {
    this.pendingReports[what]++;
    if (this.reportScheduled) return;
    this.reportScheduled = true;
    queueMicrotask(() => {
      this.reportScheduled = false;
      const { dropped, ignored } = this.pendingReports;
      this.pendingReports = { dropped: 0, ignored: 0 };
      if (dropped > 0) this.diagnose('dropped', { count: dropped, overflow: this.config.overflow });
      if (ignored > 0) this.diagnose('ignored', { count: ignored });
    });
  }

  /**
   * Publishes `$bridge.<what>` on this bus (local only): the trace and the visualiser show it.
   * @param {string} what
   * @param {object} detail
   */
  diagnose(what, detail) {
    try {
      if (!this.bus.closed) {
        this.bus.publish(DIAGNOSTICS_PREFIX + what, { link: this.label, realm: this.realm, ...detail });
      }
    } catch {
      // A closed bus, or a diagnostics subscriber refusing (reject queue): the count remains.
    }
  }

  /** @returns {import('../../bridge.d.ts').LinkMetrics} */
  metrics() {
    return { ...this.metricsData, queued: this.queue.length };
  }

  /**
   * What a visualiser shows of this link (registry.js; `links` of the attach state).
   * @param {'tabs' | 'port'} kind
   * @param {import('../../bridge.d.ts').LinkState} state
   * @param {import('../../bridge.d.ts').LinkMetrics} m its `metrics()`
   * @param {Iterable<string>} remotes realms heard from (at most MAX_REMOTES are listed)
   * @returns {import('../../bridge.d.ts').LinkView}
   */
  view(kind, state, m, remotes) {
    /** @type {string[]} */
    const listed = [];
    for (const realm of remotes) {
      if (listed.length === MAX_REMOTES) break;
      listed.push(realm);
    }
    return {
      id: 0,
      kind,
      name: this.label,
      realm: this.realm,
      state,
      topics: [...this.config.topics],
      remotes: listed,
      sent: m.sent,
      received: m.received,
      queued: m.queued,
      dropped: m.dropped,
      duplicates: m.duplicates,
      gaps: m.gaps,
      missed: m.missed,
      // A port has one other end, heard from or not; a channel counts its live peers.
      peers: kind === 'port' ? listed.length : m.peers,
      inFlight: null,
      rttP50Ms: null,
      rttP99Ms: null,
      reconnects: null,
      deadLettered: null,
      lastError: null,
      metrics: m,
    };
  }

  /** The realms of the senders this link follows (the other ends of a port). */
  senderRealms() {
    const realms = new Set();
    for (const sender of this.senders.keys()) realms.add(sender.slice(0, sender.lastIndexOf(':')));
    return realms;
  }

  /**
   * `link.publish`: the payload must survive a structured clone, else nothing is published.
   * @param {string} topic
   * @param {unknown} payload
   * @param {unknown} options
   */
  publish(topic, payload, options) {
    try {
      structuredClone(payload);
    } catch (error) {
      throw new SwitchyardError(
        'E_NOT_CLONEABLE',
        `publish to \`${String(topic)}\` refused: the payload cannot be structured-cloned to another realm (${String(/** @type {any} */ (error)?.message ?? error)}); nothing was published`,
      );
    }
    return this.bus.publish(topic, payload, options);
  }

  /** Sends what is queued, unsubscribes; the transport closes itself. Idempotent. */
  close() {
    if (this.closed) return false;
    this.paused = false;
    if (!this.bus.closed) this.flush();
    this.closed = true;
    for (const sub of this.subscriptions) if (sub.active) sub.unsubscribe();
    this.subscriptions = [];
    this.held = null;
    this.onClose();
    return true;
  }
}

/**
 * Removes the first (oldest) key of `map`.
 * @param {Map<any, any>} map
 */
export function dropFirst(map) {
  const first = map.keys().next();
  if (!first.done) map.delete(first.value);
}

/**
 * A test of whether a topic matches one of `patterns` (`*` one segment, `**` any number, as the
 * bus matches; the patterns were checked by `subscribe`).
 * @param {string[]} patterns
 * @returns {(topic: string) => boolean}
 */
export function compilePatterns(patterns) {
  const escape = (/** @type {string} */ text) => text.replace(/[\\^$.*+?()[\]{}|]/g, '\\$&');
  const sources = patterns.map((pattern) => {
    const parts = pattern.split('.');
    let source = '';
    parts.forEach((part, i) => {
      const dot = i === 0 ? '' : '\\.';
      if (part === '**') source += i === 0 ? '(?:[^.]+(?:\\.[^.]+)*)?' : '(?:\\.[^.]+)*';
      else if (part === '*') source += `${dot}[^.]+`;
      else source += `${dot}${escape(part)}`;
    });
    // `**` first and followed by more: its dot belongs to what follows.
    return source.replace(/^\(\?:\[\^\.\]\+\(\?:\\\.\[\^\.\]\+\)\*\)\?\\\./, '(?:[^.]+\\.)*');
  });
  const regex = new RegExp(`^(?:${sources.join('|')})$`);
  return (topic) => regex.test(topic);
}

export { isMarked };
