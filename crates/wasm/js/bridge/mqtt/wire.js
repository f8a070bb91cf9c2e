// @ts-check
// What a bridged message looks like on the wire, and the checks an incoming one must pass.
//
// Payload: the bus payload as JSON text (UTF-8); an empty payload is `undefined`.
// MQTT 5 user properties:
//   sy        its origin, as `meta.origin` on the receiving bus: `<hops> <realm> <id> <seq>`, the
//             links crossed once it arrives (1 for a message published on the sender's bus), the
//             realm (bus) it was first published on, its id and per-topic sequence there
//             (`realm:id` is the key receivers drop duplicates by). One property, not four: each
//             user property costs the client and the broker per message (four separate ones cut
//             mqtt.js's QoS 1 throughput through mosquitto by about half, measured 2026-12-06)
//   sy-h:<name>  each of its `headers`; `sy-corr` its correlation id (only when present)
//
// A message without an `sy` property comes from an MQTT client that is not a Switchyard bridge (a
// device, a service): it is *foreign*. Its payload is JSON when it is UTF-8 JSON, else its bytes
// (a `Uint8Array`); it carries no id, so it is not checked for duplicates, and the link that
// receives it gives it its origin (`foreignOrigin`).

import { fromMqttTopic } from './topics.js';

export const PROP_ORIGIN = 'sy';
export const PROP_CORRELATION = 'sy-corr';
export const HEADER_PREFIX = 'sy-h:';
/**
 * What `meta.origin.realm` of a foreign message starts with: `mqtt:<realm of the bus that
 * received it>`. Bridges never send such a message to a broker (it came from one).
 */
export const FOREIGN_REALM_PREFIX = 'mqtt:';

/** Foreign messages received per bus: their `meta.origin.id` and `seq`. */
const foreignCounts = new WeakMap();

/**
 * The origin of a foreign message received by a link of `bus` (whose realm is `realm`): a realm
 * of its own per receiving bus and a count per bus, so that `realm:id` stays unique where
 * links (the tabs bridge) tell messages apart by it.
 * @param {object} bus
 * @param {string} realm
 */
export function foreignOrigin(bus, realm) {
  const n = (foreignCounts.get(bus) ?? 0) + 1;
  foreignCounts.set(bus, n);
  return { realm: `${FOREIGN_REALM_PREFIX}${realm}`, id: n, seq: n, hops: 1 };
}

/** Whether `realm` is a foreign message's (see `foreignOrigin`). */
export function isForeignRealm(/** @type {string} */ realm) {
  return realm.startsWith(FOREIGN_REALM_PREFIX);
}

/** What a realm may hold (the bus's limit is 128 bytes of UTF-8; UUIDs and hex ids here). */
const REALM = /^[A-Za-z0-9:_.-]{1,128}$/;
/** A non-negative integer up to 2^53 − 1, in decimal. */
const INTEGER = /^(0|[1-9]\d{0,15})$/;

/**
 * The JSON text of `payload`, or throws a TypeError naming why it cannot travel
 * (`undefined` travels as an empty string).
 * @param {unknown} payload
 */
export function encodePayload(payload) {
  if (payload === undefined) return '';
  const kind = typeof payload;
  if (kind === 'function' || kind === 'symbol') throw new TypeError(`a ${kind} payload cannot be sent as JSON`);
  const text = JSON.stringify(payload); // throws for a BigInt or a cycle
  if (text === undefined) throw new TypeError('the payload has no JSON form');
  checkPlain(payload, 'the payload');
  return text;
}

/**
 * Throws a TypeError naming the first part of `value` that JSON would change on the way: a Map,
 * Set, Date, typed array or class instance (sent as `{}` or a string), a non-finite number (sent
 * as `null`), an `undefined`, function or symbol in an array (sent as `null`). `undefined`
 * properties of objects are dropped, as absent.
 * @param {unknown} value
 * @param {string} path
 */
function checkPlain(value, path) {
  if (value === null || value === undefined || typeof value === 'string' || typeof value === 'boolean') return;
  if (typeof value === 'number') {
    if (!Number.isFinite(value)) throw new TypeError(`${path} is ${value}, which JSON sends as null`);
    return;
  }
  if (typeof value !== 'object') throw new TypeError(`${path} is a ${typeof value}, which JSON drops`);
  if (Array.isArray(value)) {
    for (let i = 0; i < value.length; i++) {
      const item = value[i];
      if (item === undefined || typeof item === 'function' || typeof item === 'symbol') throw new TypeError(`${path}[${i}] is ${typeof item}, which JSON sends as null`);
      checkPlain(item, `${path}[${i}]`);
    }
    return;
  }
  const proto = Object.getPrototypeOf(value);
  if (proto !== Object.prototype && proto !== null) {
    throw new TypeError(`${path} is a ${value.constructor?.name ?? 'non-plain object'}, which JSON does not keep (send plain objects, arrays, strings, finite numbers, booleans, null)`);
  }
  for (const key of Object.keys(value)) {
    const item = /** @type {Record<string, unknown>} */ (value)[key];
    if (typeof item === 'function' || typeof item === 'symbol') throw new TypeError(`${path}.${key} is a ${typeof item}, which JSON drops`);
    checkPlain(item, `${path}.${key}`);
  }
}

/**
 * The user properties of an outgoing message.
 * @param {{ realm: string, id: number, seq: number, hops: number, headers: Record<string, string> | null, correlationId: string | null }} record
 */
export function userProperties(record) {
  /** @type {Record<string, string>} */
  const props = { [PROP_ORIGIN]: `${record.hops} ${record.realm} ${record.id} ${record.seq}` };
  if (record.correlationId !== null) props[PROP_CORRELATION] = record.correlationId;
  if (record.headers) for (const [name, value] of Object.entries(record.headers)) props[HEADER_PREFIX + name] = value;
  return props;
}

/** @param {unknown} value */
function one(value) {
  return Array.isArray(value) ? (value.length === 1 ? value[0] : undefined) : value;
}

/**
 * @typedef {object} Incoming
 * @property {string} topic the bus topic
 * @property {unknown} payload
 * @property {{ realm: string, id: number, seq: number, hops: number } | null} origin null for a foreign message
 * @property {string | null} key `realm:id`, what duplicates are recognised by (null for a foreign message)
 * @property {boolean} foreign from an MQTT client that is not a Switchyard bridge (no `sy` property)
 * @property {Record<string, string> | null} headers
 * @property {string | null} correlationId
 */

/**
 * Checks and decodes a message from the broker. Answers `{ ok: true, message }` or
 * `{ ok: false, reason }` with reason `'oversized'` (payload over `maxBytes`), `'forged'`
 * (Switchyard's user properties missing or ill-formed) or `'malformed'` (topic outside the
 * prefix or not a bus topic, payload not JSON).
 * @param {string} mqttTopic
 * @param {Uint8Array} bytes
 * @param {any} properties the PUBLISH packet's properties (mqtt.js shape)
 * @param {{ prefix: string, maxBytes: number }} limits
 * @returns {{ ok: true, message: Incoming } | { ok: false, reason: 'oversized' | 'forged' | 'malformed', detail: string }}
 */
export function decodeIncoming(mqttTopic, bytes, properties, limits) {
  if (bytes.length > limits.maxBytes) return { ok: false, reason: 'oversized', detail: `${bytes.length} bytes > maxMessageBytes ${limits.maxBytes}` };
  const props = properties && typeof properties === 'object' ? properties.userProperties : undefined;
  if (!props || typeof props !== 'object' || props[PROP_ORIGIN] === undefined) return decodeForeign(mqttTopic, bytes, limits.prefix);
  const origin = one(props[PROP_ORIGIN]);
  if (typeof origin !== 'string') return { ok: false, reason: 'forged', detail: `no single '${PROP_ORIGIN}' user property` };
  const [hops, realm, id, seq, extra] = origin.split(' ');
  if (extra !== undefined || seq === undefined) return { ok: false, reason: 'forged', detail: `'${PROP_ORIGIN}' is not '<hops> <realm> <id> <seq>'` };
  if (!/^[1-9]\d{0,2}$/.test(hops) || Number(hops) > 255) return { ok: false, reason: 'forged', detail: 'bad hops' };
  if (!REALM.test(realm)) return { ok: false, reason: 'forged', detail: 'bad realm' };
  if (!INTEGER.test(id) || !Number.isSafeInteger(Number(id))) return { ok: false, reason: 'forged', detail: 'bad id' };
  if (!INTEGER.test(seq) || !Number.isSafeInteger(Number(seq))) return { ok: false, reason: 'forged', detail: 'bad seq' };
  /** @type {Record<string, string> | null} */
  let headers = null;
  let correlationId = null;
  // Own keys of the parser's plain object (no array of entries per message: this runs for each).
  for (const name in props) {
    if (name === PROP_ORIGIN || !Object.prototype.hasOwnProperty.call(props, name)) continue;
    const value = props[name];
    if (name === PROP_CORRELATION) {
      if (typeof value !== 'string') return { ok: false, reason: 'forged', detail: `bad ${PROP_CORRELATION}` };
      correlationId = value;
    } else if (name.startsWith(HEADER_PREFIX)) {
      if (typeof value !== 'string') return { ok: false, reason: 'forged', detail: `header '${name}' given twice` };
      (headers ??= {})[name.slice(HEADER_PREFIX.length)] = value;
    }
  }
  const topic = fromMqttTopic(mqttTopic, limits.prefix);
  if (topic === null) return unmappedTopic(mqttTopic);
  const payload = parseJson(bytes);
  if (payload === NOT_JSON) return { ok: false, reason: 'malformed', detail: 'payload is not UTF-8 JSON' };
  return {
    ok: true,
    message: { topic, payload, origin: { realm, id: Number(id), seq: Number(seq), hops: Number(hops) }, key: `${realm}:${id}`, foreign: false, headers, correlationId },
  };
}

/** What `parseJson` answers for bytes that are not UTF-8 JSON. */
const NOT_JSON = Symbol('not JSON');

/** The value of UTF-8 JSON `bytes` (`undefined` for none), or `NOT_JSON`. */
function parseJson(/** @type {Uint8Array} */ bytes) {
  if (bytes.length === 0) return undefined;
  try {
    return JSON.parse(decoder.decode(bytes));
  } catch {
    return NOT_JSON;
  }
}

/** The refusal of a message whose MQTT topic is outside the prefix or not a bus topic. */
function unmappedTopic(/** @type {string} */ mqttTopic) {
  return /** @type {const} */ ({ ok: false, reason: 'malformed', detail: `topic '${mqttTopic}' does not map to a bus topic` });
}

/**
 * A message with no `sy` property (see the module comment): its payload is JSON when the bytes
 * are UTF-8 JSON, else the bytes themselves.
 * @param {string} mqttTopic
 * @param {Uint8Array} bytes
 * @param {string} prefix
 * @returns {{ ok: true, message: Incoming } | { ok: false, reason: 'malformed', detail: string }}
 */
function decodeForeign(mqttTopic, bytes, prefix) {
  const topic = fromMqttTopic(mqttTopic, prefix);
  if (topic === null) return unmappedTopic(mqttTopic);
  const json = parseJson(bytes);
  const payload = json === NOT_JSON ? Uint8Array.from(bytes) : json;
  return { ok: true, message: { topic, payload, origin: null, key: null, foreign: true, headers: null, correlationId: null } };
}

const decoder = new TextDecoder('utf-8', { fatal: true });
