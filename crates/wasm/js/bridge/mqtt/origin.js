// @ts-check
// Where a message on the bus came from, when a bridge put it there. The one place that knows how
// that is recorded: today as three headers (`sy-id`, `sy-realm`, `sy-hops`, visible in
// `meta.headers`); with the bus's `origin` publish option (issue 16) as `meta.origin`.

/**
 * @typedef {object} Origin
 * @property {string} realm the bus the message was first published on
 * @property {string} id its Switchyard id
 * @property {number} hops bridges crossed to reach this bus
 */

const H_ID = 'sy-id';
const H_REALM = 'sy-realm';
const H_HOPS = 'sy-hops';

/**
 * The origin of a delivered message, or null when it was published on this bus.
 * @param {any} meta a handler's `meta`
 * @returns {Origin | null}
 */
export function originOf(meta) {
  const headers = meta.headers;
  const id = headers?.[H_ID];
  const realm = headers?.[H_REALM];
  const hops = Number(headers?.[H_HOPS]);
  if (typeof id !== 'string' || typeof realm !== 'string' || !Number.isInteger(hops)) return null;
  return { realm, id, hops };
}

/**
 * Publishes a message that came from the broker, recording its origin. Throws what
 * `bus.publish` throws (the caller counts it).
 * @param {any} bus
 * @param {string} topic
 * @param {unknown} payload
 * @param {Origin} origin
 */
export function publishIncoming(bus, topic, payload, origin) {
  return bus.publish(topic, payload, { headers: { [H_ID]: origin.id, [H_REALM]: origin.realm, [H_HOPS]: String(origin.hops) } });
}
