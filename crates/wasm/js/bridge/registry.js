// @ts-check
// Where the links serving a bus show themselves to a visualiser (docs/ATTACH_PROTOCOL.md,
// `state.links`). Each link registers a `view` function with the bus it serves when it opens and
// removes it when it closes; the registry (one per bus, the only owner of that list) hands the
// bus one reader, `bus.__links(reader)`, which the bus calls only when a frame to an attached
// visualiser carries its state. Nothing here runs on the publish path: a link's counters are read
// only when a viewer looks. Since links change without a publish (an MQTT PUBACK, a round-trip
// time), the registry tells the bus every REFRESH_MS that their state may have changed (the
// viewer's next frame carries it), but only while a visualiser watches: the bus answers whether
// one does, and reads the links when one attaches, which starts the refresh again. A link says
// `changed()` for what a viewer should see at once (leader ↔ follower, peers, close).
//
// A view is one entry of `links` (`LinkView` in bridge.d.ts), the same fields for every
// transport; what does not apply to one is `null` (`inFlight` of a tabs link, `gaps` of MQTT).

/**
 * @typedef {import('../bridge.d.ts').LinkView} LinkView
 * @typedef {{ views: Map<() => LinkView, number>, read: () => LinkView[], scheduled: boolean,
 *   timer: ReturnType<typeof setInterval> | undefined }} Entry
 */

/** bus → its links. @type {WeakMap<object, Entry>} */
const byBus = new WeakMap();
/** How often an open link's state is offered to watching visualisers again (ms). */
export const REFRESH_MS = 500;
/** Realms a view lists in `remotes`, at most. */
export const MAX_REMOTES = 32;
/** The `id` the next link registered gets (unique in this realm). */
let nextId = 1;

/**
 * Registers `view` (answers the link's `LinkView`) with `bus`.
 * @param {any} bus
 * @param {() => LinkView} view
 * @returns {{ changed(): void, remove(): void }} `changed`: something a viewer should see now
 *   (coalesced per microtask); `remove`: the link closed (idempotent)
 */
export function registerLink(bus, view) {
  let entry = byBus.get(bus);
  if (entry === undefined) {
    /** @type {Map<() => LinkView, number>} */
    const views = new Map();
    const created = /** @type {Entry} */ ({
      views,
      // Called by the bus for a viewer's state: someone watches, so keep refreshing.
      read: () => {
        refresh(bus, created);
        return readAll(views);
      },
      scheduled: false,
      timer: undefined,
    });
    entry = created;
    byBus.set(bus, created);
  }
  const own = entry;
  own.views.set(view, nextId++);
  tell(bus, own);
  return {
    changed() {
      if (own.scheduled || !own.views.has(view)) return;
      own.scheduled = true;
      queueMicrotask(() => {
        own.scheduled = false;
        tell(bus, own);
      });
    },
    remove() {
      if (own.views.delete(view)) tell(bus, own);
    },
  };
}

/**
 * Hands `bus` the reader (none once the last link closed), which also marks its state changed.
 * @param {any} bus
 * @param {Entry} entry
 */
function tell(bus, entry) {
  let watched = false;
  try {
    if (typeof bus.__links === 'function' && !bus.closed) {
      watched = bus.__links(entry.views.size > 0 ? entry.read : undefined) === true;
    }
  } catch {
    // A freed bus: no viewer is left to tell.
  }
  if (watched && entry.views.size > 0) refresh(bus, entry);
  else {
    clearInterval(entry.timer);
    entry.timer = undefined;
  }
}

/**
 * Tells `bus` every REFRESH_MS from now on (until `tell` finds nobody watching).
 * @param {any} bus
 * @param {Entry} entry
 */
function refresh(bus, entry) {
  if (entry.timer !== undefined) return;
  entry.timer = setInterval(() => tell(bus, entry), REFRESH_MS);
  // Node: a link's refresh alone does not keep the process alive.
  /** @type {any} */ (entry.timer)?.unref?.();
}

/**
 * Every link's view; one whose view throws is left out (a view never costs a frame).
 * @param {Map<() => LinkView, number>} views
 */
function readAll(views) {
  /** @type {LinkView[]} */
  const out = [];
  for (const [view, id] of views) {
    try {
      out.push({ ...view(), id });
    } catch {
      // Left out of this frame.
    }
  }
  return out;
}

/**
 * `url` without credentials, query or fragment: what a viewer may show.
 * @param {string} url
 */
export function safeUrl(url) {
  try {
    const parsed = new URL(url);
    return `${parsed.protocol}//${parsed.host}${parsed.pathname === '/' ? '' : parsed.pathname}`;
  } catch {
    return 'mqtt';
  }
}

/**
 * The view of an MQTT link from its `metrics()` (bridge/mqtt/link.js).
 * @param {{ url: string, realm: string, publish: string[], subscribe: string[] }} config
 * @param {any} m the link's metrics()
 * @returns {LinkView}
 */
export function mqttView(config, m) {
  const dropped = Object.values(m.dropped ?? {}).reduce((sum, n) => sum + (typeof n === 'number' ? n : 0), 0);
  return {
    id: 0,
    kind: 'mqtt',
    name: `mqtt:${safeUrl(config.url)}`,
    realm: config.realm,
    state: m.state,
    topics: [...config.publish.map((p) => `out ${p}`), ...config.subscribe.map((p) => `in ${p}`)],
    remotes: [],
    sent: m.sent,
    received: m.delivered,
    queued: m.outbox,
    dropped,
    duplicates: m.duplicates,
    gaps: null,
    missed: null,
    // A tab group's other realms (`connectMqtt(bus, { tabs })`), else none to count.
    peers: m.tabs?.peers ?? null,
    inFlight: m.inFlight,
    rttP50Ms: m.rttMs?.p50 ?? null,
    rttP99Ms: m.rttMs?.p99 ?? null,
    reconnects: m.reconnects,
    deadLettered: m.deadLettered,
    lastError: m.lastError,
    metrics: m,
  };
}
