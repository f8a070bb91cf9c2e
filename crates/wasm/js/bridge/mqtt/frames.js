// @ts-check
// One WebSocket frame per turn: what mqtt.js writes to its connection in one turn of the event
// loop leaves as one frame (one socket write), not one frame per chunk.
//
// mqtt.js (through mqtt-packet) writes each MQTT packet as several chunks (fixed header, length,
// topic, packet id, properties, payload: about eight for a PUBLISH with a user property, two for
// a PUBACK), corked until the next tick. In Node its WebSocket stream (`ws`'s
// `createWebSocketStream`) has no `_writev`, so each chunk became a frame and a socket write of
// its own: 10 writes per message for mqtt.js alone at QoS 1, 15 through the bridge (measured
// 2026-12-06). In browsers mqtt.js's BufferedDuplex joins one uncork's chunks, but still sends
// a frame per packet when packets are written in separate ticks (a PUBACK each, a refill of the
// in-flight window per PUBACK). MQTT 5 §6 allows it: "A single WebSocket data frame can contain
// multiple or partial MQTT Control Packets".

/** Bytes gathered in one turn past which the writer waits for the frame to be sent (backpressure). */
export const FRAME_HIGH_WATER = 256 * 1024;

const utf8 = new TextEncoder();
const COALESCED = Symbol('switchyard.coalesced');

/**
 * @param {unknown} chunk a written chunk: bytes, or text (BufferedDuplex is in object mode)
 * @returns {Uint8Array}
 */
function bytesOf(chunk) {
  if (typeof chunk === 'string') return utf8.encode(chunk);
  return /** @type {Uint8Array} */ (chunk);
}

/**
 * Makes `stream`, the Duplex mqtt.js writes its packets to, send everything written to it in one
 * turn (until the microtasks of the current task have run) as one write of the stream's own
 * `_write`: one WebSocket frame. Order is kept: frames leave one at a time, in write order.
 *
 * Backpressure stays the stream's: a write is acknowledged at once while the turn's frame is
 * below {@link FRAME_HIGH_WATER} bytes and no frame is being sent; otherwise it is acknowledged
 * when the frame has been sent, and the stream holds later writes meanwhile (then hands them over
 * together, `_writev`). A frame that fails destroys the stream with the error (the writes it held
 * were acknowledged already; mqtt.js reconnects and resends what has no PUBACK). Ending the stream
 * sends the gathered frame first. Returns `stream`; a stream without `_write` is left as it is.
 * @template {any} S
 * @param {S} stream
 * @returns {S}
 */
export function coalesceWrites(stream) {
  const s = /** @type {any} */ (stream);
  if (!s || typeof s._write !== 'function' || s[COALESCED]) return stream;
  s[COALESCED] = true;
  /** The stream's own write: one chunk, one frame. */
  const send = s._write;
  const final = typeof s._final === 'function' ? s._final : null;
  /** @type {Uint8Array[]} */
  let chunks = [];
  let bytes = 0;
  let scheduled = false;
  let sending = false;
  /** @type {((error?: Error | null) => void) | null} the write held until the frame is sent */
  let held = null;

  const flush = () => {
    scheduled = false;
    if (sending || chunks.length === 0) return; // the frame being sent sends this one after it
    if (s.destroyed) {
      chunks = [];
      bytes = 0;
      return;
    }
    let frame;
    if (chunks.length === 1) frame = chunks[0];
    else {
      frame = new Uint8Array(bytes);
      let at = 0;
      for (const chunk of chunks) {
        frame.set(chunk, at);
        at += chunk.length;
      }
    }
    chunks = [];
    bytes = 0;
    sending = true;
    send.call(s, frame, 'buffer', sent);
  };
  /**
   * The frame's write is done.
   * @param {Error | null | undefined} error
   */
  const sent = (error) => {
    sending = false;
    const writer = held;
    held = null;
    if (error) {
      chunks = [];
      bytes = 0;
      if (writer) writer(error);
      else s.destroy(error);
      return;
    }
    if (chunks.length > 0) schedule();
    writer?.();
  };
  const schedule = () => {
    if (scheduled) return;
    scheduled = true;
    queueMicrotask(flush);
  };
  /**
   * @param {Uint8Array} chunk
   */
  const take = (chunk) => {
    if (chunk.length === 0) return;
    chunks.push(chunk);
    bytes += chunk.length;
    schedule();
  };
  /** @param {(error?: Error | null) => void} callback */
  const acknowledge = (callback) => {
    if (sending || bytes >= FRAME_HIGH_WATER) held = callback;
    else callback();
  };

  s._write = (/** @type {unknown} */ chunk, /** @type {string} */ encoding, /** @type {(error?: Error | null) => void} */ callback) => {
    // `ws`'s stream writes again through `_write` once the socket is open: a frame, sent as is.
    if (callback === sent) return send.call(s, chunk, encoding, callback);
    take(bytesOf(chunk));
    acknowledge(callback);
  };
  s._writev = (/** @type {Array<{ chunk: unknown }>} */ list, /** @type {(error?: Error | null) => void} */ callback) => {
    for (const { chunk } of list) take(bytesOf(chunk));
    acknowledge(callback);
  };
  if (final) {
    s._final = (/** @type {(error?: Error | null) => void} */ callback) => {
      // Writes were acknowledged before their frame left: it leaves before the end does.
      flush();
      final.call(s, callback);
    };
  }
  return stream;
}
