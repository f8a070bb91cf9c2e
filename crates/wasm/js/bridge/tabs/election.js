// @ts-check
// Who leads a channel. The leader answers the realms that join (`hello`: the retained messages)
// and those that wake (`sync`: what they missed, from the log). Delivery never goes through the
// leader (every realm posts to the channel itself), so a change of leader loses and doubles
// nothing; it only moves who answers.
//
// * With Web Locks (browsers, their workers): the realm holding the exclusive lock named after
//   the channel leads; every other realm waits in the lock's queue, so when the leader's tab
//   closes or crashes the browser grants the lock to the next one at once. A leader that stops
//   beating (frozen, paused in a debugger, stuck in a loop) for 3 heartbeats is deposed: a
//   follower takes the lock with `steal`, and the old leader, when it runs again, sees its lock
//   request fail and queues as a follower. A page that freezes (`freeze`, `pagehide`) gives the
//   lock up first.
// * Without Web Locks, and in Node (whose BroadcastChannel crosses worker_threads; Node 20 and 22
//   have no `navigator.locks`, and Node 24's abort the process when a worker that held or awaited
//   a lock is terminated, so Node never uses them): every realm beats, and the leader is the live realm (heard within 3
//   heartbeats) with the smallest id. A realm that closes says `bye`, so the next one leads at
//   once; one that crashes is replaced after 3 heartbeats (750 ms by default). A realm that just
//   started listens for 2 heartbeats before it may lead. Two realms may
//   both think they lead for up to a heartbeat after a change; both answering is harmless, since
//   receivers deliver each message once.

/**
 * @typedef {{ start(): void, stop(): void, deposed(): void, readonly leading: boolean,
 *   leaderOf(peers: Map<string, number>, now: number): boolean }} Election
 */

/**
 * This realm's Web Locks, or `undefined` where there are none, or in Node: Node 24's abort the
 * process (a fatal error in its lock manager) when a lock is requested after a worker_thread
 * that held or awaited it was terminated.
 * @returns {any}
 */
export function webLocks() {
  const node = typeof process === 'object' && typeof process?.versions?.node === 'string';
  const locks = /** @type {any} */ (globalThis).navigator?.locks;
  return !node && typeof locks?.request === 'function' ? locks : undefined;
}

/**
 * The election for `name`, calling `onChange(leading)` when this realm starts or stops leading.
 * @param {string} name
 * @param {string} realm
 * @param {number} heartbeatMs
 * @param {(leading: boolean) => void} onChange
 * @returns {Election}
 */
export function election(name, realm, heartbeatMs, onChange) {
  const locks = webLocks();
  if (locks !== undefined) return lockElection(locks, name, onChange);
  return beatElection(realm, heartbeatMs, onChange);
}

/**
 * @param {any} locks
 * @param {string} name
 * @param {(leading: boolean) => void} onChange
 * @returns {Election}
 */
function lockElection(locks, name, onChange) {
  let want = false;
  let leading = false;
  /** The current request (a newer one replaces it). @type {object | null} */
  let current = null;
  /** @type {AbortController | null} */
  let abort = null;
  /** @type {(() => void) | null} */
  let release = null;

  /** @param {boolean} steal */
  function request(steal) {
    const token = {};
    current = token;
    const controller = steal ? null : new AbortController();
    abort = controller;
    const options = controller === null ? { steal: true } : { signal: controller.signal };
    const granted = () => {
      if (current !== token || !want) return undefined; // abandoned: released at once
      return new Promise((resolve) => {
        release = () => resolve(undefined);
        leading = true;
        onChange(true);
      });
    };
    Promise.resolve()
      .then(() => locks.request(name, options, granted))
      .catch(() => {
        // Aborted (we gave up waiting) or stolen from us.
      })
      .then(() => {
        if (current !== token) return;
        current = null;
        release = null;
        if (leading) {
          leading = false;
          onChange(false);
        }
        if (want) request(false);
      });
  }

  return {
    get leading() {
      return leading;
    },
    start() {
      if (want) return;
      want = true;
      request(false);
    },
    stop() {
      want = false;
      abort?.abort();
      abort = null;
      release?.();
    },
    deposed() {
      // The leader stopped beating: take the lock from it.
      if (!want || leading) return;
      abort?.abort();
      request(true);
    },
    leaderOf() {
      return leading;
    },
  };
}

/**
 * @param {string} realm
 * @param {number} heartbeatMs
 * @param {(leading: boolean) => void} onChange
 * @returns {Election}
 */
function beatElection(realm, heartbeatMs, onChange) {
  let want = false;
  let leading = false;
  let startedAt = 0;
  return {
    get leading() {
      return leading;
    },
    start() {
      want = true;
      startedAt = performance.now();
    },
    stop() {
      want = false;
      if (leading) {
        leading = false;
        onChange(false);
      }
    },
    deposed() {},
    leaderOf(peers, now) {
      // A realm that just started listens for two heartbeats before it may lead.
      if (!want || now - startedAt < 2 * heartbeatMs) return false;
      let lead = true;
      for (const [peer, heard] of peers) {
        if (now - heard <= 3 * heartbeatMs && peer < realm) {
          lead = false;
          break;
        }
      }
      if (lead !== leading) {
        leading = lead;
        onChange(lead);
      }
      return lead;
    },
  };
}
