// The declarations of `switchyard/snapshot` for TypeScript's `require` condition: `snapshot.d.ts`
// over `index.d.cts` (a `.d.ts` in this `"type": "module"` package is read as ESM).
/**
 * `switchyard/snapshot`: the API of `switchyard` over the engine built with snapshots, so that
 * `bus.snapshot()` and `EventBus.restore()` work (in `switchyard` they throw `E_UNSUPPORTED`).
 * Every other name is `switchyard`'s; `SwitchyardError` is the same class at run time, whichever
 * entry threw.
 *
 * ```ts
 * import { EventBus } from 'switchyard/snapshot';
 * const bus = new EventBus();
 * const copy = EventBus.restore(bus.snapshot());
 * ```
 */

import { EventBus as BusWithoutSnapshots, BusSnapshot, Subscription, SwitchyardError } from './index.cjs';

export * from './index.cjs';

/**
 * A bus of `switchyard/snapshot`: every member of `switchyard`'s, with snapshots. Declared as
 * extending `switchyard`'s `EventBus` so that it fits wherever one is expected (a function of
 * yours, `openDevtools`, `connectMqtt`); at run time the two entries' `EventBus` and
 * `Subscription` are separate classes over separate engines, so `instanceof` across entries is
 * false (only `SwitchyardError` is one class).
 */
export class EventBus<Events extends object = Record<string, unknown>> extends BusWithoutSnapshots<Events> {
  /** The whole bus as a structured-clonable object (store it in IndexedDB, post it, clone it). */
  snapshot(): BusSnapshot;
  /** A bus rebuilt from `snapshot()`; handlers are re-attached by subscription name (or old id). */
  static restore<E extends object = Record<string, unknown>>(
    snapshot: BusSnapshot,
    options?: Parameters<typeof BusWithoutSnapshots.restore<E>>[1],
  ): EventBus<E>;
}

declare const api: {
  EventBus: typeof EventBus;
  Subscription: typeof Subscription;
  SwitchyardError: typeof SwitchyardError;
};
export default api;
