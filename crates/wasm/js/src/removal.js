// @ts-check
/**
 * Per bus: subscription id → what to call (with the reason, as text) when that subscription is
 * removed or the bus closed. `waitFor` and `stream` watch their subscriptions this way, so a
 * promise waiting on one settles when it can no longer receive anything.
 */

/** @type {WeakMap<object, Map<number, (why: string) => void>>} */
const removalWatchers = new WeakMap();

/**
 * @param {object} bus
 * @param {{ id: number }} subscription
 * @param {(why: string) => void} onRemoved
 */
export function watchRemoval(bus, subscription, onRemoved) {
  let watchers = removalWatchers.get(bus);
  if (watchers === undefined) {
    watchers = new Map();
    removalWatchers.set(bus, watchers);
  }
  watchers.set(subscription.id, onRemoved);
}

/**
 * @param {object} bus
 * @param {{ id: number } | undefined} subscription
 */
export function unwatchRemoval(bus, subscription) {
  if (subscription !== undefined) removalWatchers.get(bus)?.delete(subscription.id);
}

/**
 * Subscription `id` of `bus` was removed (`unsubscribe()` answered true).
 * @param {object} bus
 * @param {number} id
 */
export function notifyRemoved(bus, id) {
  const watchers = removalWatchers.get(bus);
  const onRemoved = watchers?.get(id);
  if (watchers === undefined || onRemoved === undefined) return;
  watchers.delete(id);
  onRemoved('its subscription was removed');
}

/**
 * `bus` was closed: every watched subscription is gone.
 * @param {object} bus
 * @param {string} why
 */
export function notifyClosed(bus, why) {
  const watchers = removalWatchers.get(bus);
  if (watchers === undefined) return;
  removalWatchers.delete(bus);
  for (const onRemoved of watchers.values()) onRemoved(why);
}
