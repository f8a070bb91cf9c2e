// @ts-check
// The link protocol: what realms post to each other (over a BroadcastChannel or a MessagePort),
// and the checks every received message passes before it is used. Anything else on the channel
// (another version of this protocol, a forged or damaged message) is ignored and counted by the
// link; nothing here throws.
//
// Every message is `{ sw: 'switchyard.bridge', v: 1, kind, from, ... }`, `from` being the
// sending realm's id. Kinds:
//
//   msgs     { link, msgs: Entry[] }           messages published in `from`, in its publish order
//   beat     { link, leader, n }               a realm is alive, whether it leads, and the
//                                              position of the last message it sent
//   bye      { link }                          a realm closed its link
//   hello    { link, req }                     a realm joined: the leader answers `welcome`
//   welcome  { to, req, retained: Entry[] }    the retained messages, for `to`
//   sync     { link, req, have, since }        a realm woke: what it has (`[sender, next][]`)
//   catchup  { to, req, entries, gaps }        what it missed from the log, and what the log no
//                                              longer holds (`[sender, from, count][]`)
//   alive    { link, lock, reply }             over a port, in browsers: the Web Lock `from` holds
//                                              while it lives (liveness.js); `reply` marks an answer
//   away     { link }                          over a port: `from` lets go of its lock for a while
//                                              (back/forward cache); stop watching it until `alive`
//
// An Entry is one message: `{ s, n, topic, payload, headers, correlationId, origin, at }`: `s` is
// the sender (`from:link`), `n` its position in the sender's stream (1, 2, ...: a receiver
// delivers each sender's entries in `n` order, once), `origin` the `meta.origin` receivers give
// it (`{ realm, id, seq, hops }`), `at` the sender's wall clock (ms).

/** Marks the protocol's messages. */
export const MARK = 'switchyard.bridge';
/** The protocol version this build speaks. */
export const VERSION = 1;

/**
 * @typedef {{ realm: string, id: number, seq: number, hops: number }} Origin
 * @typedef {{
 *   s: string,
 *   n: number,
 *   topic: string,
 *   payload: unknown,
 *   headers: Record<string, string> | null,
 *   correlationId: string | null,
 *   origin: Origin,
 *   at: number,
 * }} Entry
 */

/** @param {unknown} v */
const isCount = (v) => typeof v === 'number' && Number.isSafeInteger(v) && v >= 0;
/** @param {unknown} v */
const isText = (v) => typeof v === 'string' && v.length > 0 && v.length <= 512;
/** @param {unknown} v */
const isObject = (v) => v !== null && typeof v === 'object' && !Array.isArray(v);

/**
 * Whether `value` is marked as this protocol's (any version): a message on a shared port that is
 * not is the app's own, not ours to count.
 * @param {unknown} value
 */
export function isMarked(value) {
  return isObject(value) && /** @type {any} */ (value).sw === MARK;
}

/**
 * `value` as a message of this version with a known kind and a sender, or `null`.
 * @param {unknown} value
 * @returns {any}
 */
export function readMessage(value) {
  if (!isMarked(value)) return null;
  const m = /** @type {any} */ (value);
  if (m.v !== VERSION || !isText(m.from) || typeof m.kind !== 'string') return null;
  switch (m.kind) {
    case 'msgs':
      return isCount(m.link) && Array.isArray(m.msgs) ? m : null;
    case 'beat':
      return isCount(m.link) && typeof m.leader === 'boolean' && isCount(m.n) ? m : null;
    case 'bye':
      return isCount(m.link) ? m : null;
    case 'alive':
      return isCount(m.link) && isText(m.lock) && typeof m.reply === 'boolean' ? m : null;
    case 'away':
      return isCount(m.link) ? m : null;
    case 'hello':
      return isCount(m.link) && isCount(m.req) ? m : null;
    case 'welcome':
      return isText(m.to) && isCount(m.req) && Array.isArray(m.retained) ? m : null;
    case 'sync':
      return isCount(m.link) && isCount(m.req) && isPairs(m.have) && typeof m.since === 'number' ? m : null;
    case 'catchup':
      return isText(m.to) && isCount(m.req) && Array.isArray(m.entries) && isGaps(m.gaps) ? m : null;
    default:
      return null;
  }
}

/** @param {unknown} v */
function isPairs(v) {
  return Array.isArray(v) && v.every((p) => Array.isArray(p) && isText(p[0]) && isCount(p[1]));
}

/** @param {unknown} v */
function isGaps(v) {
  return Array.isArray(v) && v.every((g) => Array.isArray(g) && isText(g[0]) && isCount(g[1]) && isCount(g[2]));
}

/**
 * `value` as an Entry, or `null` when its shape is wrong (the bus checks the rest when the entry
 * is published: topic, headers, origin).
 * @param {unknown} value
 * @returns {Entry | null}
 */
export function readEntry(value) {
  if (!isObject(value)) return null;
  const e = /** @type {any} */ (value);
  if (!isText(e.s) || !isCount(e.n) || e.n < 1 || typeof e.topic !== 'string' || typeof e.at !== 'number') return null;
  if (e.headers !== null && !isObject(e.headers)) return null;
  if (e.correlationId !== null && typeof e.correlationId !== 'string') return null;
  const o = e.origin;
  if (!isObject(o) || !isText(o.realm) || !isCount(o.id) || !isCount(o.seq) || !isCount(o.hops)) return null;
  return e;
}

/**
 * A message of `kind` from `from`.
 * @param {string} kind
 * @param {string} from
 * @param {object} fields
 */
export function message(kind, from, fields) {
  return { sw: MARK, v: VERSION, kind, from, ...fields };
}
