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
//   const liveness = watchPeer(navigator.locks, `switchyard.port.${realm}.${linkId}.${id}`, post, onGone);
//   liveness.receive(aliveMessage);  // from the other end
//   liveness.pause(); liveness.resume(); // pagehide / pageshow of the back/forward cache
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
 * Holds a lock named `baseName` (plus a suffix per holding) while open and posts `{ lock, reply }`
 * through `post` once it is held; after `receive` of the other end's `alive`, calls `onGone()`
 * once if that end's lock is released without a close on this side or a newer `alive`.
 *
 * `pause()` tells the other end (`away`: it stops watching) and lets go of everything (a page
 * entering the back/forward cache must not hold a lock: browsers do not cache such pages);
 * `resume()` takes a new lock and announces it, and the other end watches the new name.
 * @param {LockManager} locks
 * @param {string} baseName
 * @param {(fields: { lock: string, reply: boolean }) => void} post
 * @param {() => void} onGone
 * @param {() => void} postAway tells the other end this one lets go of its lock for a while
 */
export function watchPeer(locks, baseName, post, onGone, postAway) {
  let closed = false;
  let paused = false;
  let holdings = 0;
  /** The lock this end holds now (null while taking it, paused or closed). */
  let heldName = /** @type {string | null} */ (null);
  /** @type {() => void} */
  let release = () => {};
  /** The other end's lock being watched, and how to stop watching it. */
  let watchedName = /** @type {string | null} */ (null);
  let stopWatching = new AbortController();

  function hold() {
    const name = `${baseName}.${++holdings}`;
    const holding = new Promise((/** @type {(value?: unknown) => void} */ resolve) => (release = resolve));
    locks
      .request(name, { mode: 'exclusive' }, () => {
        if (closed || paused) return undefined;
        heldName = name;
        post({ lock: name, reply: false });
        return holding;
      })
      .catch(() => {
        // No lock for this realm (a sandboxed frame, storage denied): the other end cannot watch it.
      });
  }

  function letGo() {
    heldName = null;
    release();
  }

  /** @param {string} name */
  async function watch(name) {
    const { signal } = stopWatching;
    const state = await locks.query();
    if (closed || signal.aborted || !(state.held ?? []).some((lock) => lock.name === name)) return;
    await locks.request(name, { mode: 'exclusive', signal }, () => {
      setTimeout(() => {
        // A newer `alive` (the other end came back from the back/forward cache) or a `bye`
        // within the grace: not a death.
        if (!closed && !paused && watchedName === name) onGone();
      }, BYE_GRACE_MS);
    });
  }

  function stopWatch() {
    stopWatching.abort();
    stopWatching = new AbortController();
  }

  hold();

  return {
    /**
     * The other end's `alive` message (`{ lock, reply }`): answered when it was not itself an
     * answer, and its lock watched from now on (a port has one other end: a new name replaces
     * the one watched before).
     * @param {{ lock: string, reply: boolean }} message
     */
    receive(message) {
      if (closed || typeof message.lock !== 'string' || !message.lock.startsWith(LOCK_PREFIX)) return;
      if (message.lock.startsWith(`${baseName}.`)) return;
      if (!message.reply && heldName !== null) post({ lock: heldName, reply: true });
      if (message.lock === watchedName || paused) return;
      stopWatch();
      watchedName = message.lock;
      watch(message.lock).catch(() => {
        // Aborted (a newer name, pause, close), or the lock manager went away with the realm.
      });
    },
    /**
     * Lets go of this end's lock and stops watching (the page is entering the back/forward
     * cache), after telling the other end (`away`), which stops watching it until `alive`.
     */
    pause() {
      if (closed || paused) return;
      paused = true;
      postAway();
      letGo();
      stopWatch();
      watchedName = null;
    },
    /** The other end let go of its lock for a while (`away`): its release is no death. */
    away() {
      stopWatch();
      watchedName = null;
    },
    /** Takes a new lock and announces it (the page is back); the other end answers with its own. */
    resume() {
      if (closed || !paused) return;
      paused = false;
      hold();
    },
    /** Releases this end's lock and stops watching the other's. */
    close() {
      if (closed) return;
      closed = true;
      letGo();
      stopWatch();
    },
  };
}
