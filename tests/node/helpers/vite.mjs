// What the Vite tests share.

/**
 * A Vite `customLogger` that keeps quiet and collects every warning and error into `warnings`
 * (errors prefixed `error: `), so a test can assert that a build or a dev server warned of nothing.
 * @param {string[]} warnings
 */
export function collectingLogger(warnings) {
  const logger = {
    hasWarned: false,
    info() {},
    warn(message) {
      logger.hasWarned = true;
      warnings.push(message);
    },
    warnOnce(message) {
      logger.warn(message);
    },
    error(message) {
      warnings.push(`error: ${message}`);
    },
    clearScreen() {},
    hasErrorLogged: () => false,
  };
  return logger;
}
