// @ts-check
// A bounded set of recently seen keys (first in, first out): the receiver's duplicate filter
// and the sender's record of what it injected into the bus.

export class RecentSet {
  /** @param {number} capacity most keys remembered (≥ 1) */
  constructor(capacity) {
    this.capacity = capacity;
    /** @type {Set<string | number>} */
    this.keys = new Set();
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
    this.keys.add(key);
    if (this.keys.size > this.capacity) {
      const oldest = this.keys.values().next().value;
      if (oldest !== undefined) this.keys.delete(oldest);
    }
    return true;
  }

  /** @param {string | number} key */
  delete(key) {
    return this.keys.delete(key);
  }

  get size() {
    return this.keys.size;
  }
}
