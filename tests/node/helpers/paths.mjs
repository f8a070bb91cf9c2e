// The two delivery paths of one package, for tests that compare them. A bus with an `on('*')`
// listener never takes the JavaScript fast path, so it is the reference for what the fast path
// must show.

/** Constructors of a manual-clock bus on each path, for the package's `EventBus`. */
export function busesOnBothPaths(EventBus) {
  const fast = (options = {}) => new EventBus({ clock: 'manual', ...options });
  const slow = (options = {}) => {
    const bus = fast(options);
    bus.on('*', () => {});
    return bus;
  };
  return { fast, slow };
}
