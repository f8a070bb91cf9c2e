// @ts-check
// The bus side of a compat emitter. The emitter calls its listeners itself, with the semantics of
// the library it imitates; the bus sees the same traffic:
//
// - each listener is one subscription (`register`), named after its event, whose handler does
//   nothing (`registration`);
// - each emit is one publish of its topic, on the event's channel. A channel the bus has
//   confirmed since its last method call (`channel.epoch === epoch`) only counts the emit (one
//   increment); the counts are told to the bus (`flushAll`) at the end of the task, or before any
//   bus or subscription method runs (the glue calls `beforeSync` first), so every method sees
//   them. The glue records a count as the publishes it stands for (ids, sequence numbers,
//   deliveries to each registration) without a call (`recordPublishes`), while the topic's
//   route holds only registrations. Any bus method may change that (a handler subscribed on the
//   bus, an `on()` listener), so each one moves `epoch` on: the next emit of each channel asks the
//   glue to record it (`emitChecked`) and, if it cannot, publishes it with its payload. A
//   visualiser attaching is not a method call: emits counted in the task it attaches in are
//   published at the end of the task without their payloads.

import { EventBus, SwitchyardError } from 'switchyard';

/** The package's hooks for this entry (see `recordPublishes` and `beforeSync` in src/fastpath.js). */
const recordHook = /** @type {any} */ (EventBus.prototype).__inlineRecordPublishes;
const beforeSync = /** @type {Set<() => void> | undefined} */ (/** @type {any} */ (EventBus).__inlineBeforeSync);

/**
 * The handler of every registration subscription. The listeners run in the emitter; when the bus
 * delivers an emit itself (one published with its payload), calling this does nothing.
 */
export function registration() {}

/**
 * What an emitter keeps per event name for the bus.
 * @typedef {{ bus: EventBus, topic: string, pending: number, epoch: number }} Channel
 */

/**
 * Moves on before every bus method (see the module comment); a channel whose `epoch` equals it
 * counts its emits.
 */
export let epoch = 0;

/** Channels with counted emits not yet told to their bus. */
/** @type {Channel[]} */
let dirty = [];
let scheduled = false;

/** Tells every bus the emits counted on its channels (see the module comment). */
export function flushAll() {
  if (dirty.length === 0) return;
  const channels = dirty;
  dirty = [];
  for (const channel of channels) flush(channel);
}

beforeSync?.add(() => {
  flushAll();
  epoch++;
});

function flushAtTaskEnd() {
  scheduled = false;
  flushAll();
}

/** Called by an emit when its channel had nothing pending (`pending` was 0 before it). */
export function markDirty(/** @type {Channel} */ channel) {
  dirty.push(channel);
  if (!scheduled) {
    scheduled = true;
    queueMicrotask(flushAtTaskEnd);
  }
}

/** @param {Channel} channel */
function flush(channel) {
  let left = channel.pending;
  channel.pending = 0;
  try {
    left -= record(channel, left);
    if (left > 0) {
      // Someone started observing the bus without a method call (a visualiser attached): the
      // payloads are gone; published one by one, and checked again from the next emit on.
      channel.epoch = -1;
      for (; left > 0; left--) channel.bus.publish(channel.topic, undefined);
    }
  } catch (error) {
    reportBusError(error);
  }
}

/** How many of `count` publishes of the channel's topic the glue recorded without a call. */
function record(/** @type {Channel} */ channel, /** @type {number} */ count) {
  return recordHook === undefined || count === 0 ? 0 : recordHook.call(channel.bus, channel.topic, registration, count);
}

/**
 * An emit on a channel not confirmed since the last bus method: recorded if the glue can (the
 * channel then counts its emits until the next bus method), else published with `payload` (the
 * emit's one argument, the array of them, or undefined), which also caches the topic's route.
 * @param {Channel} channel
 * @param {unknown} payload
 */
export function emitChecked(channel, payload) {
  // Emits counted earlier reach the bus first.
  flushAll();
  if (record(channel, 1) === 1) {
    channel.epoch = epoch;
    return;
  }
  try {
    channel.bus.publish(channel.topic, payload);
  } catch (error) {
    reportBusError(error);
  }
}

/**
 * An error from the bus while telling it about emits. A closed (or freed) bus sees nothing more,
 * by design: the emitter goes on as a plain emitter. Anything else is reported on the console
 * (it cannot be thrown: the emits it is about have returned).
 */
function reportBusError(/** @type {unknown} */ error) {
  if (error instanceof SwitchyardError && /** @type {any} */ (error).code === 'E_CLOSED') return;
  console.error('switchyard/compat: the bus refused an emit', error);
}

/**
 * A new bus for an emitter: `options` are `EventBus` options (validated by the bus).
 * @param {import('switchyard').EventBusOptions | undefined} options
 * @param {number} maxListeners the emitter's limit (0 or Infinity: none), unless `options` sets one
 */
export function newBus(options, maxListeners) {
  return new EventBus({ maxListeners: maxListeners > 0xffff_ffff ? 0 : Math.floor(maxListeners), ...options });
}

/**
 * Subscribes the registration of one listener of the event `name` (shown as the subscription's
 * name) on `topic`, or returns null when the bus is closed (the emitter then goes on without it).
 * @param {EventBus} bus
 * @param {string} topic
 * @param {string} name
 * @returns {import('switchyard').Subscription | null}
 */
export function register(bus, topic, name) {
  try {
    return bus.subscribe(topic, registration, { name });
  } catch (error) {
    if (error instanceof SwitchyardError && /** @type {any} */ (error).code === 'E_CLOSED') return null;
    throw error;
  }
}

/** Ends a registration (nothing for one the closed bus never made). */
export function unregister(/** @type {import('switchyard').Subscription | null} */ sub) {
  sub?.unsubscribe();
}
