// @ts-check
// What a bridged message looks like on the wire, and the checks an incoming one must pass.
//
// Payload: the bus payload as JSON text (UTF-8); an empty payload is `undefined`.
// MQTT 5 user properties:
//   sy-id     the message's Switchyard id: `<realm>:<n>`, the same on every bridge of one bus,
//             so receivers drop a second copy (from another bridge or a resend) by id
//   sy-realm  the realm (bus) the message was first published on
//   sy-hops   how many bridges it has crossed before this one (0 from its first bridge)

import { fromMqttTopic } from './topics.js';

/** Longest `sy-id` / `sy-realm` accepted from the broker. */
const MAX_ID = 200;
/** What an id or realm may hold (generated ones are `[a-z0-9]` and `:`). */
const ID_CHARS = /^[A-Za-z0-9:_.-]+$/;

/** The user properties of an outgoing message. */
export const PROP_ID = 'sy-id';
export const PROP_REALM = 'sy-realm';
export const PROP_HOPS = 'sy-hops';

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
  return text;
}

/** @param {unknown} value */
function one(value) {
  return Array.isArray(value) ? (value.length === 1 ? value[0] : undefined) : value;
}

/**
 * @typedef {object} Incoming
 * @property {string} topic the bus topic
 * @property {unknown} payload
 * @property {string} id
 * @property {string} realm
 * @property {number} hops as sent (bridges crossed before the sender)
 */

/**
 * Checks and decodes a message from the broker. Answers `{ ok: true, message }` or
 * `{ ok: false, reason }` with reason `'oversized'` (payload over `maxBytes`), `'forged'`
 * (Switchyard's user properties missing or ill-formed) or `'malformed'` (topic outside the
 * prefix or not a bus topic, payload not JSON).
 * @param {string} mqttTopic
 * @param {Uint8Array} bytes
 * @param {any} properties the PUBLISH packet's properties (mqtt.js shape)
 * @param {{ prefix: string, maxBytes: number, maxHops: number }} limits
 * @returns {{ ok: true, message: Incoming } | { ok: false, reason: 'oversized' | 'forged' | 'malformed', detail: string }}
 */
export function decodeIncoming(mqttTopic, bytes, properties, limits) {
  if (bytes.length > limits.maxBytes) return { ok: false, reason: 'oversized', detail: `${bytes.length} bytes > maxMessageBytes ${limits.maxBytes}` };
  const props = properties && typeof properties === 'object' ? properties.userProperties : undefined;
  if (!props || typeof props !== 'object') return { ok: false, reason: 'forged', detail: 'no Switchyard user properties' };
  const id = one(props[PROP_ID]);
  const realm = one(props[PROP_REALM]);
  const hopsText = one(props[PROP_HOPS]);
  if (typeof id !== 'string' || id.length > MAX_ID || !ID_CHARS.test(id)) return { ok: false, reason: 'forged', detail: `bad ${PROP_ID}` };
  if (typeof realm !== 'string' || realm.length > MAX_ID || !ID_CHARS.test(realm)) return { ok: false, reason: 'forged', detail: `bad ${PROP_REALM}` };
  if (typeof hopsText !== 'string' || !/^\d{1,3}$/.test(hopsText)) return { ok: false, reason: 'forged', detail: `bad ${PROP_HOPS}` };
  const hops = Number(hopsText);
  const topic = fromMqttTopic(mqttTopic, limits.prefix);
  if (topic === null) return { ok: false, reason: 'malformed', detail: `topic '${mqttTopic}' does not map to a bus topic` };
  let payload;
  if (bytes.length > 0) {
    try {
      payload = JSON.parse(decoder.decode(bytes));
    } catch {
      return { ok: false, reason: 'malformed', detail: 'payload is not UTF-8 JSON' };
    }
  }
  return { ok: true, message: { topic, payload, id, realm, hops } };
}

const decoder = new TextDecoder('utf-8', { fatal: true });
