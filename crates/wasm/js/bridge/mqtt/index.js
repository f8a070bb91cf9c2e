// @ts-check
// `connectMqtt(bus, options)`: bridges bus topics to an MQTT 5 broker (see docs/API.md,
// "switchyard/bridge"). This module reads the options and loads the optional packages; the link
// (link.js) does the work.

import { SwitchyardError } from 'switchyard';
import { DEFAULT_BACKOFF } from './backoff.js';
import { MqttLink } from './link.js';
import { IdbStore, MemoryStore, SharedIdbStore } from './stores.js';
import { checkPrefix, toMqttFilter } from './topics.js';
import { realmOf } from './origin.js';
import { DEFAULT_HEARTBEAT_MS, DEFAULT_HOP_LIMIT } from '../tabs/options.js';
import { mqttView, registerLink } from '../registry.js';

/**
 * Default `maxInFlight`. Under half the default `dedupeWindow` (10 000), so that what a lost
 * socket makes the link send again stays among the keys receivers remember; the window is
 * shared by every sender a receiver hears, so this covers two senders resending together
 * (docs/API.md says how to size both for more). 4096 rather than
 * 1024: a burst leaves in fewer round trips (window ÷ RTT), and on the loaded 2-core test machine
 * (load 6-8) the bridge reached 0.76-1.13× of mqtt.js alone's rate against 0.58-0.69× with 1024
 * (tests/bench/mqtt.mjs, 2026-12-06).
 */
const DEFAULT_MAX_IN_FLIGHT = 4096;

const OPTIONS = [
  'url',
  'publish',
  'subscribe',
  'prefix',
  'clientId',
  'sessionExpirySec',
  'keepaliveSec',
  'connectTimeoutMs',
  'maxInFlight',
  'outbox',
  'capacity',
  'overflow',
  'retry',
  'backoff',
  'hopLimit',
  'foreign',
  'dedupeWindow',
  'maxMessageBytes',
  'deadLetterCapacity',
  'onDeadLetter',
  'username',
  'password',
  'mqtt',
  'tabs',
];

/** @param {string} message */
const invalid = (message) => new SwitchyardError('E_INVALID_OPTION', message);

/**
 * @param {any} value
 * @param {string} name
 * @param {number} fallback
 * @param {{ min?: number, max?: number, integer?: boolean }} [range]
 */
function number(value, name, fallback, { min = 0, max = Number.MAX_SAFE_INTEGER, integer = true } = {}) {
  if (value === undefined) return fallback;
  if (typeof value !== 'number' || Number.isNaN(value) || (integer && !Number.isInteger(value)) || value < min || value > max) {
    throw invalid(`option \`${name}\` must be ${integer ? 'an integer' : 'a number'} from ${min} to ${max} (got ${String(value)})`);
  }
  return value;
}

/**
 * @param {any} value
 * @param {string} name
 */
function patterns(value, name) {
  if (value === undefined) return [];
  if (!Array.isArray(value) || value.some((p) => typeof p !== 'string')) throw invalid(`option \`${name}\` must be an array of bus patterns`);
  return [...new Set(value)];
}

/**
 * @param {any} value
 * @param {string} name
 * @param {string[]} keys
 */
function object(value, name, keys) {
  if (value === undefined) return {};
  if (value === null || typeof value !== 'object') throw invalid(`option \`${name}\` must be an object`);
  for (const key of Object.keys(value)) if (!keys.includes(key)) throw invalid(`unknown option \`${name}.${key}\` (known: ${keys.join(', ')})`);
  return value;
}

/** A random lower-case hex string of `bytes` bytes. */
function randomHex(bytes = 8) {
  const values = new Uint8Array(bytes);
  globalThis.crypto.getRandomValues(values);
  return Array.from(values, (b) => b.toString(16).padStart(2, '0')).join('');
}

/**
 * The specifier of mqtt.js, kept out of bundlers' sight: a literal `import('mqtt')` makes every
 * bundler resolve it, so an app using `switchyard/bridge` for `shareTopics` alone would fail to
 * build without mqtt.js installed. Node resolves it at run time; bundled apps pass `mqtt`.
 */
const MQTT_SPECIFIER = ['mqtt'][0];

/**
 * mqtt.js, given or imported. It is an optional peer dependency of `switchyard`: only users of
 * `connectMqtt` install it.
 * @param {any} given
 */
async function loadMqtt(given) {
  if (given !== undefined) {
    const mod = given?.connect ? given : given?.default;
    if (typeof mod?.connect !== 'function') throw invalid('option `mqtt` must be the mqtt.js module (with `connect`)');
    return mod;
  }
  try {
    const mod = await import(/* @vite-ignore */ /* webpackIgnore: true */ MQTT_SPECIFIER);
    return /** @type {any} */ (mod).connect ? mod : /** @type {any} */ (mod).default;
  } catch (error) {
    throw invalid(
      `connectMqtt needs the npm package \`mqtt\` (version 5), an optional peer dependency of switchyard: \`npm install mqtt\` and pass the module as option \`mqtt\` (\`import mqtt from 'mqtt'\`; Node also finds it without) (${/** @type {Error} */ (error)?.message ?? error})`,
    );
  }
}

/**
 * The outbox store: `'indexeddb'` (default where `indexedDB` exists), `'memory'` (default
 * elsewhere), or an object with the store's five methods.
 * @param {any} store
 * @param {string} name
 */
async function openStore(store, name) {
  const kind = store ?? (typeof globalThis.indexedDB === 'undefined' ? 'memory' : 'indexeddb');
  if (kind === 'memory') return new MemoryStore();
  if (kind === 'indexeddb') {
    if (typeof globalThis.indexedDB === 'undefined') throw invalid("option `outbox.store` is 'indexeddb' but this runtime has no indexedDB");
    // idb (1.2 KB) is bundled into switchyard/bridge; loaded only for this store.
    return new IdbStore(await import('idb'), name);
  }
  if (kind && typeof kind === 'object' && ['open', 'write', 'remove', 'saveClientId', 'close'].every((m) => typeof kind[m] === 'function')) {
    if (typeof kind.kind !== 'string') kind.kind = 'custom';
    return kind;
  }
  throw invalid("option `outbox.store` must be 'memory', 'indexeddb' or an object with open, write, remove, saveClientId and close");
}

/** Longest `tabs.channel`, in UTF-16 code units (the tabs bridge's channel bound). */
const MAX_CHANNEL = 256;

/**
 * The `tabs` option: `{ channel, heartbeatMs? }`, or null when absent. A tab group shares its
 * outbox through IndexedDB, so it needs a runtime with IndexedDB, BroadcastChannel, and the
 * default store.
 * @param {any} value
 * @param {any} store the `outbox.store` option
 */
function readTabs(value, store) {
  if (value === undefined) return null;
  const tabs = object(value, 'tabs', ['channel', 'heartbeatMs', 'deposeAfterMs']);
  if (typeof tabs.channel !== 'string' || tabs.channel.length === 0 || tabs.channel.length > MAX_CHANNEL) {
    throw invalid(`option \`tabs.channel\` must be a string of 1 to ${MAX_CHANNEL} characters (the tab group's name)`);
  }
  const heartbeatMs = number(tabs.heartbeatMs, 'tabs.heartbeatMs', DEFAULT_HEARTBEAT_MS, { min: 20, max: 60_000 });
  const deposeAfterMs = number(tabs.deposeAfterMs, 'tabs.deposeAfterMs', Math.max(10_000, 3 * heartbeatMs), { min: 3 * heartbeatMs, max: 3_600_000 });
  if (store !== undefined && store !== 'indexeddb') {
    throw invalid("option `tabs` hands records to the leader through the outbox in IndexedDB: `outbox.store` must be 'indexeddb' (the default) with `tabs`");
  }
  if (typeof globalThis.indexedDB === 'undefined' || typeof BroadcastChannel !== 'function') {
    throw invalid('option `tabs` needs IndexedDB and BroadcastChannel (browsers, their workers): the tabs of a group share one outbox in IndexedDB. In Node, give each process its own link (no `tabs`)');
  }
  return { name: tabs.channel, channel: tabs.channel, heartbeatMs, deposeAfterMs };
}

/**
 * A short hash of the broker URL and prefix: realms that pass the same channel but another
 * broker or prefix (two versions of an app during a deploy) form groups of their own, since a
 * group's records go to its leader's broker under the prefix they were written with.
 * @param {string} url
 * @param {string} prefix
 */
function groupHash(url, prefix) {
  let h = 0x811c9dc5; // FNV-1a, 32 bits
  for (const ch of `${url}\n${prefix}`) {
    h ^= ch.codePointAt(0) ?? 0;
    h = Math.imul(h, 0x01000193) >>> 0;
  }
  return h.toString(36);
}

/**
 * Bridges `bus` to an MQTT 5 broker. See `bridge.d.ts` and docs/API.md.
 * @param {any} bus an EventBus
 * @param {any} options
 */
export async function connectMqtt(bus, options) {
  if (!bus || typeof bus.subscribe !== 'function' || typeof bus.publish !== 'function') throw new TypeError('connectMqtt(bus, options): `bus` must be an EventBus');
  if (options === null || typeof options !== 'object') throw invalid('connectMqtt(bus, options): `options` must be an object');
  for (const key of Object.keys(options)) if (!OPTIONS.includes(key)) throw invalid(`unknown option \`${key}\` of connectMqtt`);
  const url = options.url;
  if (typeof url !== 'string' && !(url instanceof URL)) throw invalid('option `url` must be the broker URL (ws://, wss://, mqtt:// or mqtts://)');
  const urlText = String(url);
  if (!/^(wss?|mqtts?):\/\//.test(urlText)) throw invalid(`option \`url\` '${urlText}' must start with ws://, wss://, mqtt:// or mqtts://`);
  if (/^mqtts?:/.test(urlText) && typeof document !== 'undefined') {
    // mqtt.js in a browser would silently dial ws:// on the MQTT port instead.
    throw invalid(`option \`url\` '${urlText}': browsers reach a broker over WebSocket only (ws:// or wss://)`);
  }
  const publish = patterns(options.publish, 'publish');
  const subscribe = patterns(options.subscribe, 'subscribe');
  const prefix = checkPrefix(options.prefix ?? 'switchyard');
  // Refuse what MQTT cannot carry before anything starts.
  for (const pattern of [...publish, ...subscribe]) toMqttFilter(pattern, prefix);
  if (options.clientId !== undefined && (typeof options.clientId !== 'string' || options.clientId.length === 0 || options.clientId.length > 128)) {
    throw invalid('option `clientId` must be a string of 1 to 128 characters');
  }
  const outbox = object(options.outbox, 'outbox', ['capacity', 'store', 'name']);
  const retry = object(options.retry, 'retry', ['attempts', 'maxAgeMs']);
  const backoff = object(options.backoff, 'backoff', ['initialMs', 'maxMs', 'factor', 'jitter']);
  if (options.foreign !== undefined && options.foreign !== 'deliver' && options.foreign !== 'drop') {
    throw invalid("option `foreign` must be 'deliver' or 'drop'");
  }
  if (options.overflow !== undefined && !['reject', 'drop-oldest', 'drop-newest'].includes(options.overflow)) {
    throw invalid("option `overflow` must be 'reject', 'drop-oldest' or 'drop-newest'");
  }
  if (options.onDeadLetter !== undefined && typeof options.onDeadLetter !== 'function') throw invalid('option `onDeadLetter` must be a function');
  for (const key of ['username', 'password']) {
    if (options[key] !== undefined && typeof options[key] !== 'string') throw invalid(`option \`${key}\` must be a string`);
  }
  if (outbox.name !== undefined && (typeof outbox.name !== 'string' || outbox.name === '')) throw invalid('option `outbox.name` must be a non-empty string');
  const tabs = readTabs(options.tabs, outbox.store);
  const config = {
    url: urlText,
    publish,
    subscribe,
    prefix,
    clientId: '',
    realm: realmOf(bus, undefined),
    sessionExpirySec: number(options.sessionExpirySec, 'sessionExpirySec', 3600, { max: 0xffffffff }),
    keepaliveSec: number(options.keepaliveSec, 'keepaliveSec', 30, { max: 65535 }),
    connectTimeoutMs: number(options.connectTimeoutMs, 'connectTimeoutMs', 10_000, { min: 1 }),
    maxInFlight: number(options.maxInFlight, 'maxInFlight', DEFAULT_MAX_IN_FLIGHT, { min: 1, max: 65535 }),
    outboxCapacity: number(outbox.capacity, 'outbox.capacity', 10_000, { min: 1, max: 16_777_216 }),
    capacity: options.capacity === undefined ? undefined : number(options.capacity, 'capacity', 0, { min: 1, max: 0xffffffff }),
    overflow: options.overflow,
    retry: {
      attempts: number(retry.attempts, 'retry.attempts', 5, { min: 1 }),
      maxAgeMs: retry.maxAgeMs === undefined ? Infinity : number(retry.maxAgeMs, 'retry.maxAgeMs', 0, { integer: false }),
    },
    backoff: {
      initialMs: number(backoff.initialMs, 'backoff.initialMs', DEFAULT_BACKOFF.initialMs, { integer: false }),
      maxMs: number(backoff.maxMs, 'backoff.maxMs', DEFAULT_BACKOFF.maxMs, { integer: false }),
      factor: number(backoff.factor, 'backoff.factor', DEFAULT_BACKOFF.factor, { min: 1, integer: false }),
      jitter: number(backoff.jitter, 'backoff.jitter', DEFAULT_BACKOFF.jitter, { max: 1, integer: false }),
    },
    hopLimit: number(options.hopLimit, 'hopLimit', DEFAULT_HOP_LIMIT, { min: 1, max: 255 }), // the same default as shareTopics
    foreign: options.foreign ?? 'deliver',
    dedupeWindow: number(options.dedupeWindow, 'dedupeWindow', 10_000, { min: 1, max: 16_777_216 }),
    maxMessageBytes: number(options.maxMessageBytes, 'maxMessageBytes', 256 * 1024, { min: 1, max: 268_435_455 }),
    deadLetterCapacity: number(options.deadLetterCapacity, 'deadLetterCapacity', 1000, { max: 16_777_216 }),
    onDeadLetter: options.onDeadLetter,
    username: options.username,
    password: options.password,
    tabs,
    clientIdGiven: options.clientId !== undefined,
  };
  if (bus.closed) throw new SwitchyardError('E_CLOSED', 'connectMqtt: the bus is closed');
  const mqtt = await loadMqtt(options.mqtt);
  let store;
  /** @type {{ records: any[], clientId: string | null }} */
  let opened;
  if (tabs) {
    // One outbox per group: every realm of it appends there, the leader reads (see stores.js).
    const hash = groupHash(urlText, prefix);
    tabs.channel = `${tabs.channel}/${hash}`;
    store = new SharedIdbStore(await import('idb'), `${outbox.name ?? tabs.name}/${hash}`);
    await store.connect();
    opened = { records: [], clientId: null };
    // One client id for the group (stored with its outbox; read again by each new leader), so
    // a new leader resumes the group's persistent session, and two sockets of the group can
    // never both stay connected: the broker drops the older (session takeover).
    config.clientId = options.clientId ?? (await store.sharedClientId(`sy-${randomHex(8)}`));
  } else {
    store = await openStore(outbox.store, outbox.name ?? options.clientId ?? 'default');
    opened = await store.open();
    config.clientId = options.clientId ?? opened.clientId ?? `sy-${randomHex(8)}`;
    if (opened.clientId !== config.clientId) await store.saveClientId(config.clientId);
  }
  if (bus.closed) {
    store.close();
    throw new SwitchyardError('E_CLOSED', 'connectMqtt: the bus was closed while the link was opening');
  }
  let link;
  try {
    link = new MqttLink(bus, mqtt, store, config, opened.records);
  } catch (error) {
    store.close();
    throw error;
  }
  return createLinkFacade(link);
}

/**
 * The object users hold: the link's public members only.
 * @param {MqttLink} link
 */
function createLinkFacade(link) {
  // Shown by a visualiser attached to the bus until it closes (../registry.js).
  const shown = registerLink(link.bus, () => mqttView(link.config, link.metrics()));
  const facade = {
    get state() {
      return link.state;
    },
    get clientId() {
      return link.config.clientId;
    },
    get leader() {
      return link.group === null || link.group.leading();
    },
    metrics: () => link.metrics(),
    deadLetters: () => link.deadLetters(),
    connected: () => link.whenConnected(),
    drained: () => link.drained(),
    persisted: () => link.lastCommit,
    close: () => {
      shown.remove();
      return link.close();
    },
  };
  // `await using link = await connectMqtt(...)` where the runtime has explicit resource management.
  if (typeof Symbol.asyncDispose === 'symbol') Object.defineProperty(facade, Symbol.asyncDispose, { value: () => facade.close() });
  return facade;
}
