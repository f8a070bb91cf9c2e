// Compiled under the lib settings that declare `Disposable` (esnext, @types/node):
// `using` closes the bus at the end of the block.
import { EventBus } from 'switchyard';

export function scoped(): number {
  using bus = new EventBus<{ tick: void }>();
  const sub = bus.subscribe('tick', () => {});
  {
    using held = sub;
    void held;
  }
  return bus.publish('tick').matched;
}
