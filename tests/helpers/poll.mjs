// Waiting for something a test cannot await directly (a page, a worker, a broker), shared by the
// node and e2e suites.

/**
 * Polls `probe` (sync or async) every `intervalMs` until it returns a truthy value, and returns
 * that value. A probe that throws has not succeeded yet (a page still loading); after `ms` this
 * throws an Error with `message` and the last value or error seen.
 * @template T
 * @param {() => T | Promise<T>} probe
 * @param {string} message
 * @param {number} [ms]
 * @param {number} [intervalMs]
 * @returns {Promise<T>}
 */
export async function eventually(probe, message, ms = 15_000, intervalMs = 150) {
  const end = Date.now() + ms;
  let last;
  for (;;) {
    try {
      last = await probe();
      if (last) return last;
    } catch (error) {
      last = `error: ${/** @type {Error} */ (error)?.message ?? error}`;
    }
    if (Date.now() >= end) throw new Error(`${message} (last: ${JSON.stringify(last)})`);
    await new Promise((resolve) => setTimeout(resolve, intervalMs));
  }
}

/**
 * `eventually` with the node tests' argument order: resolves once `check()` is truthy, or rejects
 * with "timed out waiting for <what>" after `ms`.
 * @template T
 * @param {() => T | Promise<T>} check
 * @param {number} [ms]
 * @param {string} [what]
 */
export function until(check, ms = 5000, what = 'condition') {
  return eventually(check, `timed out waiting for ${what}`, ms, 10);
}
