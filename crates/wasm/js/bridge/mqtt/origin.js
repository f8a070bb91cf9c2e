// @ts-check
// Where a message on the bus came from, when a bridge put it there: the bus's `meta.origin`
// (`{ realm, id, seq, hops }`, the publish option `origin`), shared with the tabs bridge, so a
// message that crossed tabs and then a broker (or the reverse) keeps one identity and one hop
// count. The one place that reads or writes it for the MQTT bridge.

export { realmOf } from '../tabs/link.js';

/**
 * @typedef {object} Origin
 * @property {string} realm the bus the message was first published on
 * @property {number} id its id on that bus
 * @property {number} seq its per-topic sequence number there
 * @property {number} hops links crossed so far (1 after the first)
 */

/**
 * The origin of a delivered message, or null when it was published on this bus.
 * @param {any} meta a handler's `meta`
 * @returns {Origin | null}
 */
export function originOf(meta) {
  return meta.origin ?? null;
}

/**
 * Publishes a message that came from the broker with its origin. Throws what `bus.publish`
 * throws (the caller counts it).
 * @param {any} bus
 * @param {string} topic
 * @param {unknown} payload
 * @param {Origin} origin
 * @param {Record<string, string> | null} headers
 * @param {string | null} correlationId
 */
export function publishIncoming(bus, topic, payload, origin, headers, correlationId) {
  /** @type {Record<string, unknown>} */
  const options = { origin };
  if (headers) options.headers = headers;
  if (correlationId !== null) options.correlationId = correlationId;
  return bus.publish(topic, payload, options);
}
