// @ts-check
// The tab group of `connectMqtt(bus, { tabs: { channel } })`: the realms of one origin (tabs,
// iframes, dedicated workers) that bridge to one broker as one MQTT client. One of them, the
// leader, holds the socket; the others follow.
//
// * Who leads: the election of the tabs bridge (../tabs/election.js), on a lock of its own
//   (`switchyard.mqtt/<channel>/<url and prefix>`): with Web Locks the browser hands the lock to
//   the next realm the moment the leader's tab closes or crashes; a leader that stops beating
//   (frozen without notice, stuck in a long task) for `deposeAfterMs` (10 s: a new leader costs a
//   reconnect and re-sends what was in flight, and a stuck leader loses nothing) is deposed. A
//   page that freezes or enters the back/forward cache gives the lead up first and takes part
//   again when it resumes.
// * What travels on the group's BroadcastChannel (`switchyard.mqtt/<channel>`), every message
//   `{ sy: 'mqtt-tabs', v: 1, kind, from, ... }`:
//     beat  { leader, state, hidden, subscribe }  every realm, each heartbeat (the leader's
//                                       socket state; the realm's subscribe patterns)
//     bye   {}                          a realm that closes
//     wrote { records }                 a follower appended these records to the shared outbox
//     msgs  { msgs: [...] }             the leader: what it received from the broker
//     done  { keys: [...] }             the leader: outbox records acknowledged (PUBACK)
//     dead  { letters: [...] }          the leader: records dead-lettered, with their keys
//   Records themselves never travel here: the outbox in IndexedDB is the hand-off (see
//   stores.js, `SharedIdbStore`), so a leader that vanishes loses none of them.
// * Anything else on the channel (another version, a forged shape) is ignored and counted.

import { election } from '../tabs/election.js';

const MARK = 'mqtt-tabs';
const VERSION = 1;
/** How long followers wait for a leader whose page is hidden (throttled timers, still alive). */
const HIDDEN_LEADER_MS = 90_000;

/**
 * @typedef {object} GroupHooks
 * @property {(leading: boolean) => void} onLeading this realm starts or stops leading
 * @property {(message: any) => void} onMessage a well-formed message from another realm
 * @property {() => string} state this realm's link state (sent in its beats)
 * @property {() => object} announce more fields of this realm's beats (its subscriptions)
 * @property {() => void} onResume the page runs again after a freeze (messages may be missed)
 */

/**
 * @typedef {object} Group
 * @property {(kind: string, fields?: object) => void} post
 * @property {() => boolean} leading
 * @property {() => string | null} leaderState the leader's socket state (this realm's if it leads)
 * @property {() => number} peers other realms heard within 3 heartbeats
 * @property {() => number} ignored messages on the channel that were not the group's
 * @property {() => void} ignore counts one more (a group message whose content is ill-formed)
 * @property {() => void} beat sends a beat now (after a change of state)
 * @property {() => void} close
 */

/**
 * Joins the group on `channel`.
 * @param {string} channel
 * @param {string} realm
 * @param {number} hb heartbeat, ms
 * @param {number} deposeAfterMs silence after which a follower takes the lead from a leader
 * @param {GroupHooks} hooks
 * @returns {Group}
 */
export function joinGroup(channel, realm, hb, deposeAfterMs, hooks) {
  const name = `switchyard.mqtt/${channel}`;
  /** @type {BroadcastChannel | null} */
  let bc = null;
  /** realm → when last heard (performance clock). @type {Map<string, number>} */
  const peers = new Map();
  let leaderSeenAt = now();
  let leaderHidden = false;
  /** @type {string | null} */
  let leaderState = null;
  let ignored = 0;
  let paused = false;
  let closed = false;
  /** @type {ReturnType<typeof setInterval> | undefined} */
  let beatTimer;
  const doc = typeof (/** @type {any} */ (globalThis).document) === 'object' ? /** @type {any} */ (globalThis).document : undefined;

  const vote = election(name, realm, hb, (leading) => hooks.onLeading(leading));

  /** @param {string} kind @param {object} [fields] */
  function post(kind, fields = {}) {
    if (bc === null) return;
    bc.postMessage({ sy: MARK, v: VERSION, kind, from: realm, ...fields });
  }

  /** @param {MessageEvent} event */
  function receive(event) {
    const m = event.data;
    if (m === null || typeof m !== 'object' || m.sy !== MARK || m.v !== VERSION || typeof m.from !== 'string' || typeof m.kind !== 'string') {
      ignored++;
      return;
    }
    if (m.from === realm) return;
    const t = now();
    peers.set(m.from, t);
    if (m.kind === 'beat') {
      if (m.leader === true) {
        leaderSeenAt = t;
        leaderHidden = m.hidden === true;
        leaderState = typeof m.state === 'string' ? m.state : null;
      }
    } else if (m.kind === 'bye') {
      peers.delete(m.from);
      vote.leaderOf(peers, t);
    }
    try {
      hooks.onMessage(m);
    } catch {
      ignored++; // a message of the right mark but the wrong shape
    }
  }

  function beat() {
    if (closed || paused) return;
    const t = now();
    for (const [peer, heard] of peers) if (t - heard > 3 * hb) peers.delete(peer);
    vote.leaderOf(peers, t);
    const patience = leaderHidden ? HIDDEN_LEADER_MS : deposeAfterMs + Math.random() * hb;
    if (!vote.leading && t - leaderSeenAt > patience) {
      leaderSeenAt = t;
      leaderState = null;
      vote.deposed();
    }
    post('beat', { leader: vote.leading, state: hooks.state(), hidden: doc?.visibilityState === 'hidden', ...hooks.announce() });
  }

  function open() {
    const ch = new BroadcastChannel(name);
    ch.onmessage = receive;
    ch.onmessageerror = () => ignored++;
    bc = ch;
    leaderSeenAt = now();
    vote.start();
    beatTimer = setInterval(beat, hb);
    unref(beatTimer);
    beat();
  }

  function shut() {
    clearInterval(beatTimer);
    vote.stop();
    bc?.close();
    bc = null;
  }

  /** Freezing or entering the back/forward cache: give up the lead and the channel. */
  function pause() {
    if (paused || closed) return;
    paused = true;
    post('bye');
    shut();
  }

  function resume() {
    if (!paused || closed) return;
    paused = false;
    peers.clear();
    open();
    hooks.onResume();
  }

  /** @type {[any, string, (event: any) => void][]} */
  const listeners = [];
  if (doc !== undefined) {
    listeners.push([doc, 'freeze', pause], [doc, 'resume', resume]);
    const win = /** @type {any} */ (globalThis);
    if (typeof win.addEventListener === 'function') {
      listeners.push(
        [win, 'pagehide', (event) => event.persisted && pause()],
        [win, 'pageshow', (event) => event.persisted && resume()],
      );
    }
    for (const [target, type, listener] of listeners) target.addEventListener(type, listener);
  }

  open();

  return {
    post,
    leading: () => vote.leading,
    leaderState: () => (vote.leading ? hooks.state() : leaderState),
    peers: () => {
      const t = now();
      let live = 0;
      for (const heard of peers.values()) if (t - heard <= 3 * hb) live++;
      return live;
    },
    ignored: () => ignored,
    ignore: () => void ignored++,
    beat,
    close() {
      if (closed) return;
      post('bye');
      closed = true;
      for (const [target, type, listener] of listeners) target.removeEventListener(type, listener);
      shut();
    },
  };
}

/** Milliseconds on a monotonic clock. */
function now() {
  return performance.now();
}

/**
 * Lets Node exit while only the group's timer is pending.
 * @param {any} timer
 */
function unref(timer) {
  if (typeof timer === 'object' && timer !== null && typeof timer.unref === 'function') timer.unref();
}
