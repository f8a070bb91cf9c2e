// @ts-check
// Reconnect delays: exponential backoff with jitter, so a broker restart is not met by every
// client at once (mqtt.js alone retries every second, in lockstep).

/**
 * @typedef {object} BackoffPolicy
 * @property {number} initialMs first delay before jitter (default 500)
 * @property {number} maxMs ceiling of the delay before jitter (default 30 000)
 * @property {number} factor growth per failed attempt (default 2)
 * @property {number} jitter ratio r in [0, 1]: the delay is drawn uniformly from
 *   [d × (1 − r), d] (default 0.5; 1 is "full jitter", 0 none)
 */

/** @type {BackoffPolicy} */
export const DEFAULT_BACKOFF = { initialMs: 500, maxMs: 30_000, factor: 2, jitter: 0.5 };

/**
 * The delay before reconnect attempt `attempt` (1 = the first retry after a loss).
 * @param {BackoffPolicy} policy
 * @param {number} attempt
 * @param {() => number} [random] uniform in [0, 1) (tests pass their own)
 */
export function backoffDelay(policy, attempt, random = Math.random) {
  const exp = Math.min(policy.maxMs, policy.initialMs * policy.factor ** Math.max(0, attempt - 1));
  return exp * (1 - policy.jitter * random());
}
