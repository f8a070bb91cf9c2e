// @ts-check
// Noticing, in a browser, that the realm at the other end of a port is gone: a dedicated worker
// the page terminated, one that crashed or called `close()`, an iframe that navigated away.
// A browser fires no event for any of these, and a ping cannot tell a dead worker from a busy
// one (a worker in a long computation answers nothing either). Web Locks can: each end holds an
// exclusive lock named after its link for as long as it lives, tells the other its name (`alive`),
// and the other queues a request for that lock. The browser releases a realm's locks when the
// realm ends, so the request is granted exactly when the other end is gone, however busy it was.
//
// Only a lock the other end really holds in this origin's lock manager is watched (checked with
// `locks.query()`), so a port to another origin, or a forged `alive` naming some other lock,
// never reads as a death. A graceful close posts `bye` before it releases its lock; a grant
// that arrives within `BYE_GRACE_MS` of a `bye` is that close, not a death.
//
//   const liveness = watchPeer(navigator.locks, `switchyard.port.${realm}.${linkId}`, post, onGone);
//   liveness.receive(aliveMessage);  // from the other end
//   liveness.close();                // releases this end's lock, stops watching

/** Every lock name this module takes or watches starts with this. */
export const LOCK_PREFIX = 'switchyard.port.';

/** How long a granted lock waits for the `bye` of a graceful close before it counts as a death. */
export const BYE_GRACE_MS = 100;

/**
 * @typedef {{
 *   request: (name: string, options: any, callback: (lock: unknown) => unknown) => Promise<unknown>,
 *   query: () => Promise<{ held?: { name?: string }[] }>,
 * }} LockManager
 */

/**
 * Holds `ownName` while open and posts `{ lock, reply }` through `post` once it is held; after
 * `receive` of the other end's `alive`, calls `onGone()` once if that end's lock is released
 * without a close on this side.
 * @param {LockManager} locks
 * @param {string} ownName
 * @param {(fields: { lock: string, reply: boolean }) => void} post
 * @param {() => void} onGone
 */
export function watchPeer(locks, ownName, post, onGone) {
  let closed = false;
  let held = false;
  let watching = false;
  /** @type {() => void} */
  let release = () => {};
  const stopWatching = new AbortController();

  const holding = new Promise((/** @type {(value?: unknown) => void} */ resolve) => (release = resolve));
  locks
    .request(ownName, { mode: 'exclusive' }, () => {
      if (closed) return undefined;
      held = true;
      post({ lock: ownName, reply: false });
      return holding;
    })
    .catch(() => {
      // No lock for this realm (a sandboxed frame, storage denied): the other end cannot watch it.
    });

  /** @param {string} name */
  async function watch(name) {
    const state = await locks.query();
    if (closed || !(state.held ?? []).some((lock) => lock.name === name)) return;
    await locks.request(name, { mode: 'exclusive', signal: stopWatching.signal }, () => {
      if (closed) return;
      setTimeout(() => {
        if (!closed) onGone();
      }, BYE_GRACE_MS);
    });
  }

  return {
    /**
     * The other end's `alive` message (`{ lock, reply }`): answered once when it was not itself
     * an answer, and its lock watched (the first one only: a port has one other end).
     * @param {{ lock: string, reply: boolean }} message
     */
    receive(message) {
      if (closed || typeof message.lock !== 'string' || !message.lock.startsWith(LOCK_PREFIX)) return;
      if (message.lock === ownName) return;
      if (!message.reply && held) post({ lock: ownName, reply: true });
      if (watching) return;
      watching = true;
      watch(message.lock).catch(() => {
        // Aborted by close(), or the lock manager went away with the realm.
      });
    },
    /** Releases this end's lock and stops watching the other's. */
    close() {
      if (closed) return;
      closed = true;
      release();
      stopWatching.abort();
    },
  };
}
