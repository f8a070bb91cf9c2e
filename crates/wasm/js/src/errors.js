// @ts-check
/** The one error class of the package, and the checks every method makes on its receiver. */

/** @typedef {import('./generated.js').ErrorCode} ErrorCode */

/** The one error class the package throws; `code` says what went wrong. */
export class SwitchyardError extends Error {
  /**
   * @param {ErrorCode} code one of `ERROR_CODES` (generated.js)
   * @param {string} message
   */
  constructor(code, message) {
    super(message);
    this.name = 'SwitchyardError';
    /** @type {ErrorCode} */
    this.code = code;
  }
}
