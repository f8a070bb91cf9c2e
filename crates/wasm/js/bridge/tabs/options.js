// @ts-check
// Reading and checking the options of `shareTopics` and `linkPort`. Every problem is a
// SwitchyardError naming the option; nothing is linked when one is found.

import { SwitchyardError } from 'switchyard';

/** The most links a message crosses by default before it is no longer forwarded. */
export const DEFAULT_HOP_LIMIT = 8;
/** Default bound of a link's outgoing queue. */
export const DEFAULT_CAPACITY = 65_536;
/** Default size of the log every realm keeps for realms that wake up (the leader serves it). */
export const DEFAULT_LOG_CAPACITY = 1024;
/** Default heartbeat period, ms. */
export const DEFAULT_HEARTBEAT_MS = 250;
/** Most patterns one link shares. */
const MAX_TOPICS = 64;
/** Longest channel name and realm id, in UTF-8 bytes. */
const MAX_CHANNEL_BYTES = 256;
const MAX_REALM_BYTES = 128;

const LINK_KEYS = ['topics', 'capacity', 'overflow', 'hopLimit', 'realm'];
const SHARE_KEYS = [...LINK_KEYS, 'channel', 'logCapacity', 'heartbeatMs', 'retain'];

/**
 * @typedef {{
 *   topics: string[],
 *   capacity: number,
 *   overflow: 'drop-oldest' | 'drop-newest',
 *   hopLimit: number,
 *   realm: string | undefined,
 * }} LinkConfig
 * @typedef {LinkConfig & {
 *   channel: string,
 *   logCapacity: number,
 *   heartbeatMs: number,
 *   retain: number,
 * }} ShareConfig
 */

/**
 * @param {string} what
 * @param {string} problem
 */
export function invalid(what, problem) {
  return new SwitchyardError('E_INVALID_OPTION', `option \`${what}\` ${problem}`);
}

/** A UTF-16 code unit that is half of a surrogate pair without its other half. */
const LONE_SURROGATE = /[\uD800-\uDBFF](?![\uDC00-\uDFFF])|(?<![\uD800-\uDBFF])[\uDC00-\uDFFF]/;

/** @param {string} text */
const utf8Bytes = (text) => new TextEncoder().encode(text).length;

/**
 * A well-formed string of 1 to `max` UTF-8 bytes.
 * @param {unknown} value
 * @param {string} what
 * @param {number} max
 */
function text(value, what, max) {
  if (typeof value !== 'string') throw invalid(what, 'must be a string');
  if (value.length === 0) throw invalid(what, 'must not be empty');
  if (LONE_SURROGATE.test(value)) throw invalid(what, 'must not hold a lone surrogate');
  if (utf8Bytes(value) > max) throw invalid(what, `must be at most ${max} bytes long`);
  return value;
}

/**
 * An integer in [min, max], or `fallback` when absent.
 * @param {unknown} value
 * @param {string} what
 * @param {number} min
 * @param {number} max
 * @param {number} fallback
 */
function integer(value, what, min, max, fallback) {
  if (value === undefined) return fallback;
  if (typeof value !== 'number' || !Number.isInteger(value)) throw invalid(what, 'must be an integer');
  if (value < min || value > max) throw invalid(what, `must be between ${min} and ${max}`);
  return value;
}

/**
 * The object's own keys, refusing unknown ones.
 * @param {unknown} options
 * @param {string[]} known
 * @returns {Record<string, unknown>}
 */
function object(options, known) {
  if (options === null || typeof options !== 'object' || Array.isArray(options)) {
    throw invalid('options', 'must be an object');
  }
  for (const key of Object.keys(options)) {
    if (!known.includes(key)) {
      throw new SwitchyardError(
        'E_INVALID_OPTION',
        `option \`${key}\` is not a known option (expected one of: ${known.join(', ')})`,
      );
    }
  }
  return /** @type {Record<string, unknown>} */ (options);
}

/**
 * @param {Record<string, unknown>} o
 * @returns {LinkConfig}
 */
function linkConfig(o) {
  const topics = o.topics;
  if (!Array.isArray(topics)) throw invalid('topics', 'must be an array of patterns');
  if (topics.length === 0 || topics.length > MAX_TOPICS) {
    throw invalid('topics', `must hold 1 to ${MAX_TOPICS} patterns`);
  }
  for (const [i, pattern] of topics.entries()) {
    if (typeof pattern !== 'string') {
      throw new SwitchyardError('E_INVALID_PATTERN', `topics[${i}] must be a string pattern`);
    }
  }
  const overflow = o.overflow ?? 'drop-oldest';
  if (overflow !== 'drop-oldest' && overflow !== 'drop-newest') {
    throw invalid(
      'overflow',
      "must be 'drop-oldest' or 'drop-newest' (a message published here was delivered here already, so a link cannot refuse it)",
    );
  }
  return {
    topics: [...new Set(/** @type {string[]} */ (topics))],
    capacity: integer(o.capacity, 'capacity', 1, 2 ** 24, DEFAULT_CAPACITY),
    overflow,
    hopLimit: integer(o.hopLimit, 'hopLimit', 1, 255, DEFAULT_HOP_LIMIT),
    realm: o.realm === undefined ? undefined : text(o.realm, 'realm', MAX_REALM_BYTES),
  };
}

/**
 * `linkPort`'s options.
 * @param {unknown} options
 * @returns {LinkConfig}
 */
export function readLinkOptions(options) {
  return linkConfig(object(options, LINK_KEYS));
}

/**
 * `shareTopics`'s options.
 * @param {unknown} options
 * @returns {ShareConfig}
 */
export function readShareOptions(options) {
  const o = object(options, SHARE_KEYS);
  const link = linkConfig(o);
  return {
    ...link,
    channel: text(o.channel, 'channel', MAX_CHANNEL_BYTES),
    logCapacity: integer(o.logCapacity, 'logCapacity', 0, 2 ** 20, DEFAULT_LOG_CAPACITY),
    heartbeatMs: integer(o.heartbeatMs, 'heartbeatMs', 20, 60_000, DEFAULT_HEARTBEAT_MS),
    retain: integer(o.retain, 'retain', 0, 64, 1),
  };
}
