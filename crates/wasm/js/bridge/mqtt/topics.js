// @ts-check
// Bus topics and patterns ↔ MQTT topics and topic filters.
//
//   bus `a.b.c`      ↔ MQTT `<prefix>/a/b/c`
//   bus `a.*.c`      → filter `<prefix>/a/+/c`
//   bus `a.**`       → filter `<prefix>/a/#` (both also match `a` itself)
//   bus `a.**.c`     → filter `<prefix>/a/#`, and the bridge keeps only topics `a.**.c` matches
//
// A bus segment that would change meaning on the MQTT side is refused: one holding `/` (MQTT's
// level separator), `+` or `#` (MQTT's wildcards), or starting with `$` (topics the broker
// keeps for itself, such as `$SYS`). An MQTT level holding `.` cannot come back as one bus
// segment, so such an incoming topic is not mapped (`fromMqttTopic` answers null).

import { SwitchyardError } from 'switchyard';

/**
 * Why `segment` cannot travel as one MQTT topic level, or null when it can.
 * @param {string} segment
 */
function unmappable(segment) {
  if (segment.includes('/')) return "holds '/' (MQTT's level separator)";
  if (segment.includes('+')) return "holds '+' (MQTT's one-level wildcard)";
  if (segment.includes('#')) return "holds '#' (MQTT's multi-level wildcard)";
  if (segment.startsWith('$')) return "starts with '$' (MQTT keeps such topics for the broker)";
  return null;
}

/**
 * Checks an MQTT topic prefix (`'switchyard'`, `'app/v1'`, or `''` for none).
 * @param {unknown} prefix
 * @returns {string} the prefix
 */
export function checkPrefix(prefix) {
  if (typeof prefix !== 'string') throw new SwitchyardError('E_INVALID_OPTION', `option \`prefix\` must be a string (got ${typeof prefix})`);
  if (prefix === '') return prefix;
  if (prefix.length > 1024) throw new SwitchyardError('E_INVALID_OPTION', 'option `prefix` is longer than 1024 characters');
  for (const level of prefix.split('/')) {
    if (level === '') throw new SwitchyardError('E_INVALID_OPTION', `option \`prefix\` '${prefix}' has an empty level (a leading, trailing or doubled '/')`);
    if (level.includes('+') || level.includes('#')) throw new SwitchyardError('E_INVALID_OPTION', `option \`prefix\` '${prefix}' holds an MQTT wildcard ('+' or '#')`);
  }
  if (prefix.startsWith('$')) throw new SwitchyardError('E_INVALID_OPTION', `option \`prefix\` '${prefix}' starts with '$' (MQTT keeps such topics for the broker)`);
  return prefix;
}

/**
 * The MQTT topic a bus topic is published on. Throws `E_INVALID_TOPIC` for a segment MQTT
 * would read differently.
 * @param {string} topic a valid bus topic (the bus checked it)
 * @param {string} prefix
 */
export function toMqttTopic(topic, prefix) {
  const segments = topic.split('.');
  for (const segment of segments) {
    const why = unmappable(segment);
    if (why) throw new SwitchyardError('E_INVALID_TOPIC', `topic '${topic}' cannot be bridged to MQTT: segment '${segment}' ${why}`);
  }
  const path = segments.join('/');
  return prefix === '' ? path : `${prefix}/${path}`;
}

/**
 * The bus topic of an incoming MQTT topic, or null when it is outside `prefix` or has a level
 * that is empty, holds `.`, or starts with `$` (it cannot be one bus segment).
 * @param {string} mqttTopic
 * @param {string} prefix
 * @returns {string | null}
 */
export function fromMqttTopic(mqttTopic, prefix) {
  let rest = mqttTopic;
  if (prefix !== '') {
    if (!mqttTopic.startsWith(prefix) || mqttTopic.charCodeAt(prefix.length) !== 0x2f) return null;
    rest = mqttTopic.slice(prefix.length + 1);
  }
  // The bus's bounds first (at most 32 segments, 256 bytes): a long topic from the broker must
  // not reach the pattern matcher, whose backtracking is polynomial in its length.
  if (rest.length > 256) return null;
  const levels = rest.split('/');
  if (levels.length > 32) return null;
  for (const level of levels) {
    if (level === '' || level.includes('.') || level.startsWith('$')) return null;
  }
  return levels.join('.');
}

/**
 * How to subscribe to bus pattern `pattern` on the broker: the MQTT topic filter, and whether
 * the filter is wider than the pattern (a `**` before the last segment), in which case the
 * bridge checks each incoming topic with `matches(pattern, topic)`.
 * Throws `E_INVALID_PATTERN` for a segment MQTT would read differently.
 * @param {string} pattern a bus pattern
 * @param {string} prefix
 * @returns {{ filter: string, exact: boolean }}
 */
export function toMqttFilter(pattern, prefix) {
  const segments = pattern.split('.');
  /** @type {string[]} */
  const levels = [];
  let exact = true;
  for (let i = 0; i < segments.length; i++) {
    const segment = segments[i];
    if (segment === '**') {
      levels.push('#');
      exact = i === segments.length - 1;
      break;
    }
    if (segment === '*') {
      levels.push('+');
      continue;
    }
    const why = unmappable(segment);
    if (why) throw new SwitchyardError('E_INVALID_PATTERN', `pattern '${pattern}' cannot be bridged to MQTT: segment '${segment}' ${why}`);
    levels.push(segment);
  }
  const path = levels.join('/');
  return { filter: prefix === '' ? path : `${prefix}/${path}`, exact };
}

/**
 * Whether bus `topic` matches bus `pattern` (`*` one segment, `**` zero or more, anywhere).
 * @param {string} pattern
 * @param {string} topic
 */
export function matches(pattern, topic) {
  return matchFrom(pattern.split('.'), 0, topic.split('.'), 0);
}

/**
 * @param {string[]} p
 * @param {number} i
 * @param {string[]} t
 * @param {number} j
 * @returns {boolean}
 */
function matchFrom(p, i, t, j) {
  while (i < p.length) {
    const segment = p[i];
    if (segment === '**') {
      // Collapse runs of `**`, then try every split point.
      while (i + 1 < p.length && p[i + 1] === '**') i++;
      if (i === p.length - 1) return true;
      for (let k = j; k <= t.length; k++) if (matchFrom(p, i + 1, t, k)) return true;
      return false;
    }
    if (j >= t.length) return false;
    if (segment !== '*' && segment !== t[j]) return false;
    i++;
    j++;
  }
  return j === t.length;
}
