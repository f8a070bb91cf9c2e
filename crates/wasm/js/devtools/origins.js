// @ts-check
/**
 * `exposeToOrigins(bus, name, { allowOrigins })`: `bus.expose(name)` plus attach from
 * visualisers on other origins over `window.postMessage` (docs/ATTACH_PROTOCOL.md, "Another
 * origin"). A window that one of the two pages opened (the visualiser opened this page, or this
 * page opened the visualiser) posts `{ v: 1, type: 'switchyard:attach?', name, viewer }` here;
 * when its origin is listed, the bus is exposed over a fresh `MessageChannel` (`bus.expose(port)`)
 * whose other port goes back to that window only (target origin its own). An origin not listed is
 * sent nothing; the page's console says why, once per origin.
 *
 * It lives in `switchyard/devtools`, not on `bus.expose`, so that an app's production build, which
 * imports only `switchyard`, carries neither its bytes nor a way in for another origin.
 */

/** `type` of a visualiser's request for a port, and of the answer that carries it. */
const ASK = 'switchyard:attach?';
const PORT = 'switchyard:attach-port';
const VERSION = 1;

/**
 * @typedef {{ expose(target: string | MessagePort): () => void }} ExposingBus
 * @typedef {(code: string, message: string) => Error} Fail
 */

/**
 * Reads the options: `{ allowOrigins: string[] }`, each an origin exactly as `location.origin`
 * spells it (scheme, host, port; no path, no trailing slash, no `*`), at least one.
 * @param {unknown} options
 * @param {Fail} fail
 * @returns {string[]}
 */
function readOrigins(options, fail) {
  const invalid = (/** @type {string} */ message) => fail('E_INVALID_OPTION', `exposeToOrigins(): ${message}`);
  if (options === null || typeof options !== 'object' || Array.isArray(options)) throw invalid('options must be an object');
  for (const key of Object.keys(options)) {
    if (key !== 'allowOrigins') throw invalid(`unknown option \`${key}\` (known: allowOrigins)`);
  }
  const list = /** @type {{ allowOrigins?: unknown }} */ (options).allowOrigins;
  if (!Array.isArray(list) || list.length === 0) throw invalid('option `allowOrigins` must be a non-empty array of origins');
  return list.map((entry) => {
    let origin = null;
    try {
      origin = new URL(String(entry)).origin;
    } catch {
      // not a URL
    }
    if (typeof entry !== 'string' || origin === 'null' || origin !== entry) {
      throw invalid(`option \`allowOrigins\`: ${JSON.stringify(entry)} is not an origin (write it as location.origin does, e.g. "http://127.0.0.1:8080")`);
    }
    return origin;
  });
}

/**
 * Exposes `bus` as `name` (as `bus.expose(name)`) and to visualisers of the `allowOrigins` over
 * `window.postMessage`. Returns `stop()`, which removes the listener and stops every exposure this
 * call made.
 * @param {ExposingBus} bus
 * @param {string} name
 * @param {unknown} options
 * @param {Fail} fail makes the bus package's `SwitchyardError`
 * @returns {() => void}
 */
export function exposeToOrigins(bus, name, options, fail) {
  const allowed = readOrigins(options, fail);
  if (typeof window === 'undefined' || typeof window.addEventListener !== 'function') {
    throw fail('E_INVALID_OPTION', 'exposeToOrigins(): needs a browser window (window.postMessage)');
  }
  // The name and the bus are checked by expose: nothing is listened to when they are refused.
  const stopNamed = bus.expose(name);
  /** Per requesting window: the viewer id its port went to, and that exposure's stop. */
  /** @type {Map<MessageEventSource, { viewer: string, stop: () => void }>} */
  const viewers = new Map();
  /** @type {Set<string>} origins already warned about */
  const warned = new Set();
  /** @param {MessageEvent} event */
  const listener = (event) => {
    const data = event.data;
    if (data === null || typeof data !== 'object' || data.type !== ASK || data.v !== VERSION) return;
    if (data.name !== name || typeof data.viewer !== 'string' || event.source === null) return;
    if (!allowed.includes(event.origin)) {
      // Refused: the other origin is sent nothing, not even a refusal.
      if (!warned.has(event.origin)) {
        warned.add(event.origin);
        console.warn(
          `switchyard: refused a visualiser on ${event.origin} attaching to bus "${name}": ` +
            `that origin is not in exposeToOrigins()'s allowOrigins (${allowed.join(', ')})`,
        );
      }
      return;
    }
    const source = /** @type {Window} */ (event.source);
    const known = viewers.get(source);
    // Requests still in flight when the port went are repeats; a new id is a reloaded viewer.
    if (known && known.viewer === data.viewer) return;
    known?.stop();
    viewers.delete(source);
    const channel = new MessageChannel();
    let stop;
    try {
      stop = bus.expose(channel.port1);
    } catch (error) {
      // A closed bus: the viewer keeps waiting rather than this listener throwing.
      console.warn('switchyard: could not expose the bus:', error);
      channel.port1.close();
      channel.port2.close();
      return;
    }
    viewers.set(source, { viewer: data.viewer, stop });
    source.postMessage({ v: VERSION, type: PORT, name, viewer: data.viewer }, event.origin, [channel.port2]);
  };
  window.addEventListener('message', listener);
  let stopped = false;
  return () => {
    if (stopped) return;
    stopped = true;
    window.removeEventListener('message', listener);
    for (const { stop } of viewers.values()) stop();
    viewers.clear();
    stopNamed();
  };
}
