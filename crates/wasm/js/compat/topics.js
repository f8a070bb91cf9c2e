// @ts-check
// Event names (any string or symbol) → bus topics, one to one per emitter, and the text shown
// as a subscription's `name` in `subscriptions()`, `leaks()` and the visualiser.

/** Most UTF-8 bytes in a topic and in a subscription name (the bus's limits). */
const MAX_BYTES = 256;
/** Most dot-separated segments in a topic. */
const MAX_SEGMENTS = 32;
/** What the bus refuses anywhere in a topic: Unicode White_Space and control characters. */
const REFUSED = /[\p{White_Space}\p{Cc}]/u;
/** What an escaped name escapes (see `escape`). */
const ESCAPED = /[%.*~\p{White_Space}\p{Cc}]|[\ud800-\udbff](?![\udc00-\udfff])|(?<![\ud800-\udbff])[\udc00-\udfff]/gu;

/** A lone surrogate (not part of a pair). */
const LONE_SURROGATE = /[\ud800-\udbff](?![\udc00-\udfff])|(?<![\ud800-\udbff])[\udc00-\udfff]/;
const LONE_SURROGATES = new RegExp(LONE_SURROGATE.source, 'g');

/** `String.prototype.toWellFormed` (ES2024), without relying on it. */
function toWellFormed(/** @type {string} */ text) {
  return text.replace(LONE_SURROGATES, '\ufffd');
}

const encoder = new TextEncoder();

/** UTF-8 length of a well-formed string. */
function utf8Bytes(/** @type {string} */ text) {
  // Short ASCII-only names (the usual case) need no encoding.
  return text.length <= MAX_BYTES / 3 ? text.length * 3 : encoder.encode(text).length;
}

/**
 * Whether `name` can be its own topic: a topic the bus accepts (1 to 256 bytes, at most 32
 * segments, no empty segment, no whitespace, control character or lone surrogate) with no `*`
 * (a wildcard segment in a pattern) and not starting with `~` (kept for escaped names).
 * @param {string} name
 */
export function isPlainTopic(name) {
  if (name.length === 0 || name.length > MAX_BYTES || name.charCodeAt(0) === 0x7e) return false;
  if (name.includes('*') || REFUSED.test(name) || LONE_SURROGATE.test(name)) return false;
  if (name.charCodeAt(0) === 0x2e || name.charCodeAt(name.length - 1) === 0x2e || name.includes('..')) return false;
  if (name.split('.').length > MAX_SEGMENTS) return false;
  return name.length * 3 <= MAX_BYTES || encoder.encode(name).length <= MAX_BYTES;
}

/**
 * `%XX` / `%uXXXX` escapes of the characters a plain topic may not hold, of `.` (so the name
 * stays one segment: dots are plain characters in an event name), `~` and `%` itself.
 * @param {string} name
 */
function escape(name) {
  return name.replace(ESCAPED, (c) => {
    const code = c.charCodeAt(0);
    return code <= 0xff ? `%${code.toString(16).toUpperCase().padStart(2, '0')}` : `%u${code.toString(16).toUpperCase().padStart(4, '0')}`;
  });
}

/**
 * Topic for each event name of one emitter. A string that is a valid topic is its own topic
 * (`'order.created'` stays `order.created`, so `bus.subscribe('order.*', ...)` sees it). Any
 * other string is `~` + its escaped text (`''` → `~`, `'a b'` → `~a%20b`, `'*'` → `~%2A`); a
 * symbol, or a string whose escaped form is too long, is `~~N` with N counted per emitter.
 * No two names share a topic: only escaped names start with `~`, an escaped text holds no `~`,
 * and `~~N` topics are numbered.
 */
export class Topics {
  constructor() {
    /** Numbered topics of the symbols and long strings in use. @type {Map<unknown, string>} */
    this.numbered = new Map();
    this.counter = 0;
  }

  /**
   * The topic of `name`.
   * @param {unknown} name
   */
  of(name) {
    if (typeof name === 'string') {
      if (isPlainTopic(name)) return name;
      const escaped = `~${escape(name)}`;
      if (escaped.length * 3 <= MAX_BYTES || encoder.encode(escaped).length <= MAX_BYTES) return escaped;
    }
    let topic = this.numbered.get(name);
    if (topic === undefined) {
      topic = `~~${++this.counter}`;
      this.numbered.set(name, topic);
    }
    return topic;
  }

  /** Forgets a name no listener uses any more (its number, if it had one, is not reused). */
  forget(/** @type {unknown} */ name) {
    this.numbered.delete(name);
  }
}

/**
 * The subscription `name` shown for an event name: the string itself (a symbol as
 * `Symbol(description)`), well-formed and cut to the bus's 256 bytes.
 * @param {unknown} name
 */
export function displayName(name) {
  let text = toWellFormed(typeof name === 'symbol' ? name.toString() : String(name));
  if (utf8Bytes(text) <= MAX_BYTES) return text;
  // The longest prefix that fits with the ellipsis (3 bytes); at most 253 code units do.
  text = toWellFormed(text.slice(0, MAX_BYTES - 3));
  while (encoder.encode(text).length > MAX_BYTES - 3) text = toWellFormed(text.slice(0, -1));
  return `${text}…`;
}
