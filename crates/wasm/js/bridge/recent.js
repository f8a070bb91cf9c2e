// @ts-check
// Bounded windows of recently seen keys (first in, first out), for the bridges' duplicate
// filters: the MQTT receiver's, the keys a link injected into its bus, the origins a bus had
// delivered by any bridge.
//
// The oldest key is found in a ring of the keys in arrival order, not as the first key of the
// Set or Map: V8 keeps a deleted entry of a Set or Map as a hole until the table is rebuilt, and
// `keys().next()` walks over every hole at the front, so dropping the oldest that way costs up
// to the window's size per message once the window is full (a 10 000-key window took 15 % of the
// MQTT bridge's time in the benchmark; 200 000 adds to a 65 536-key window, 4.2 s against 0.15 s
// with the ring, measured 2026-12-06).

/** A bounded set of recent keys: adding to a full one forgets the oldest. */
export class RecentSet {
  /** @param {number} capacity most keys remembered (≥ 1) */
  constructor(capacity) {
    this.capacity = Math.max(1, capacity);
    /** @type {Set<string | number>} */
    this.keys = new Set();
    /** @type {Array<string | number>} the keys in arrival order, a ring of `capacity` */
    this.ring = [];
    this.next = 0;
  }

  /** @param {string | number} key */
  has(key) {
    return this.keys.has(key);
  }

  /**
   * Remembers `key`; the oldest key goes when full. Returns false if it was there already.
   * @param {string | number} key
   */
  add(key) {
    if (this.keys.has(key)) return false;
    if (this.ring.length < this.capacity) this.ring.push(key);
    else {
      this.keys.delete(this.ring[this.next]);
      this.ring[this.next] = key;
      this.next = this.next + 1 === this.capacity ? 0 : this.next + 1;
    }
    this.keys.add(key);
    return true;
  }

  get size() {
    return this.keys.size;
  }
}

/**
 * A bounded map of recent keys, in insertion order like a Map (setting a present key keeps its
 * place): setting a new key into a full one forgets the oldest. Keys may be deleted.
 * @template V
 */
export class RecentMap {
  /** @param {number} capacity most keys remembered (≥ 1) */
  constructor(capacity) {
    this.capacity = Math.max(1, capacity);
    /** key → its position in `order` (+ `base`) @type {Map<string, number>} */
    this.at = new Map();
    /** @type {string[]} keys in insertion order; a position whose key was deleted or set again later is stale */
    this.order = [];
    /** @type {V[]} */
    this.values = [];
    /** Position of `order[0]`. */
    this.base = 0;
    /** Index in `order` of the oldest position not yet dropped. */
    this.head = 0;
  }

  get size() {
    return this.at.size;
  }

  /** @param {string} key */
  has(key) {
    return this.at.has(key);
  }

  /**
   * @param {string} key
   * @returns {V | undefined}
   */
  get(key) {
    const position = this.at.get(key);
    return position === undefined ? undefined : this.values[position - this.base];
  }

  /**
   * @param {string} key
   * @param {V} value
   */
  set(key, value) {
    const position = this.at.get(key);
    if (position !== undefined) {
      this.values[position - this.base] = value;
      return this;
    }
    this.at.set(key, this.base + this.order.length);
    this.order.push(key);
    this.values.push(value);
    while (this.at.size > this.capacity) {
      const oldest = this.order[this.head];
      if (this.at.get(oldest) === this.base + this.head) this.at.delete(oldest);
      this.head++;
    }
    this.compact();
    return this;
  }

  /** @param {string} key */
  delete(key) {
    if (!this.at.delete(key)) return false;
    this.compact();
    return true;
  }

  /** Drops the positions before `head`, and rebuilds the order when mostly stale (deletes). */
  compact() {
    const live = this.order.length - this.head;
    if (live > 2 * this.at.size + 64) {
      /** @type {string[]} */
      const order = [];
      /** @type {V[]} */
      const values = [];
      const base = this.base + this.order.length;
      for (const [key, position] of this.at) {
        values.push(this.values[position - this.base]);
        order.push(key);
      }
      this.base = base;
      this.order = order;
      this.values = values;
      this.head = 0;
      for (let i = 0; i < order.length; i++) this.at.set(order[i], base + i);
    } else if (this.head > 1024 && this.head * 2 > this.order.length) {
      this.order = this.order.slice(this.head);
      this.values = this.values.slice(this.head);
      this.base += this.head;
      this.head = 0;
    }
  }
}
