// @ts-check
// `shareTopics(bus, { channel, topics })`: a link over a BroadcastChannel between every realm of
// the origin that shares the channel (tabs, iframes, workers; Node's worker_threads).
//
// Every realm posts its own messages to the channel (link.js) and keeps a bounded log of what it
// sent and received, and the last `retain` messages of each topic. One realm leads (election.js);
// it answers a realm that joins with the retained messages (`hello` → `welcome`) and a realm that
// wakes with what it missed (`sync` → `catchup`): a page that is frozen or enters the
// back/forward cache closes its channel (so the browser neither queues nor drops messages for it
// unseen) and on waking asks the leader; what the log no longer holds is reported as a gap
// (counted, traced as `$bridge.gap`), never silently missing. Live messages that arrive while the
// answer is awaited wait, so each sender's messages are delivered in order.

import { SwitchyardError } from 'switchyard';

import { registerLink } from '../registry.js';
import { election } from './election.js';
import { dropFirst, LinkCore } from './link.js';
import { readShareOptions } from './options.js';
import { message, readEntry } from './protocol.js';

/** Most topics whose retained messages a realm keeps (least recently published go first). */
const MAX_RETAINED_TOPICS = 1024;
/** Most senders whose last position a realm remembers for the realms it answers. */
const MAX_KNOWN = 4096;
/** How long a follower waits for a leader whose page is hidden (its timers are throttled, but it
 * still answers) before it takes over: a hidden leader is not a frozen one. */
const HIDDEN_LEADER_MS = 90_000;
/** Times a realm says `hello` (on each leader's beat) until it is welcomed. */
const HELLO_TRIES = 3;

/**
 * @typedef {import('./protocol.js').Entry} Entry
 * @typedef {import('../../bridge.d.ts').Link} Link
 * @typedef {import('../../bridge.d.ts').LinkState} LinkState
 */

/**
 * Shares `options.topics` with every other realm of this origin on `options.channel`.
 * @param {any} bus
 * @param {unknown} options
 * @returns {Link}
 */
export function shareTopics(bus, options) {
  const config = readShareOptions(options);
  if (typeof BroadcastChannel !== 'function') {
    throw new SwitchyardError('E_INVALID_OPTION', 'shareTopics() needs BroadcastChannel, which this runtime lacks');
  }
  const name = `switchyard.bridge/${config.channel}`;
  const hb = config.heartbeatMs;
  /** @type {BroadcastChannel | null} */
  let channel = null;
  const post = (/** @type {object} */ m) => {
    if (channel !== null) channel.postMessage(m);
  };
  const link = new LinkCore(bus, config, `tabs:${config.channel}`, post);
  link.start();

  const realm = link.realm;
  /** realm → when last heard (ms, performance clock). @type {Map<string, number>} */
  const peers = new Map();
  let leaderSeenAt = now();
  let paused = false;
  let pausedAt = 0;
  let closed = false;
  let nextReq = 1;
  const helloReq = nextReq++;
  let welcomed = false;
  let hellos = 0;
  let leaderHidden = false;
  /** The page's document, in a window (none in workers and Node). */
  const doc = typeof (/** @type {any} */ (globalThis).document) === 'object' ? /** @type {any} */ (globalThis).document : undefined;
  /** The `sync` awaiting its `catchup`, and its timeout. */
  let syncReq = 0;
  /** @type {ReturnType<typeof setTimeout> | undefined} */
  let syncTimer;
  /** Set while held messages are released after a catch-up: a gap among them is reported. */
  let releasing = false;
  /** @type {ReturnType<typeof setInterval> | undefined} */
  let beatTimer;

  // The log: a ring of the last `logCapacity` entries sent or received, oldest first.
  /** @type {Entry[]} */
  const log = [];
  let logStart = 0;
  /** sender → the position after the last entry known from it. @type {Map<string, number>} */
  const known = new Map();
  /** topic → its last `retain` entries. @type {Map<string, Entry[]>} */
  const retained = new Map();

  /** @param {Entry} entry */
  function record(entry) {
    if (config.logCapacity > 0) {
      if (log.length < config.logCapacity) log.push(entry);
      else {
        log[logStart] = entry;
        logStart = (logStart + 1) % config.logCapacity;
      }
    }
    if ((known.get(entry.s) ?? 0) <= entry.n) {
      known.set(entry.s, entry.n + 1);
      if (known.size > MAX_KNOWN) dropFirst(known);
    }
    keep(entry);
  }

  /** @param {Entry} entry */
  function keep(entry) {
    if (config.retain === 0) return;
    const list = retained.get(entry.topic) ?? [];
    retained.delete(entry.topic);
    list.push(entry);
    if (list.length > config.retain) list.shift();
    retained.set(entry.topic, list);
    if (retained.size > MAX_RETAINED_TOPICS) dropFirst(retained);
  }

  /** The log, oldest first. */
  function logEntries() {
    return logStart === 0 ? log : [...log.slice(logStart), ...log.slice(0, logStart)];
  }

  link.onSent = (entries) => {
    for (const entry of entries) record(entry);
  };
  link.onDelivered = record;

  /** This link in the bus's registry (registry.js): set once the link is made. */
  /** @type {{ changed(): void, remove(): void } | null} */
  let shown = null;
  /** Live peers at the last beat: a change is shown to a visualiser at once. */
  let peersShown = 0;

  const vote = election(name, realm, hb, (leading) => {
    if (leading) link.metricsData.leaderships++;
    link.diagnose('state', { channel: config.channel, state: leading ? 'leader' : 'follower' });
    shown?.changed();
  });

  /** Whether another realm leads (so a `sync` has someone to answer it). */
  function otherLeader() {
    return !vote.leading && now() - leaderSeenAt <= 3 * hb;
  }

  link.onGap = () => {
    if (releasing || paused || !otherLeader()) return false;
    startSync(Date.now());
    return true;
  };

  /** Asks the leader for what this realm missed; live messages wait until it answers. */
  function startSync(/** @type {number} */ since) {
    if (closed || syncReq !== 0) return;
    syncReq = nextReq++;
    link.held = link.held ?? [];
    post(message('sync', realm, { link: link.linkId, req: syncReq, have: [...link.senders].map(([s, st]) => [s, st.next]), since }));
    syncTimer = setTimeout(() => finishSync(null), Math.max(4 * hb, 500));
    unref(syncTimer);
  }

  /**
   * Applies a `catchup` (or, on timeout, nothing), then delivers the messages that waited.
   * @param {any} reply
   */
  function finishSync(reply) {
    clearTimeout(syncTimer);
    syncReq = 0;
    if (reply !== null) {
      // Entries first (a hole between two is reported as they are delivered), then the tails
      // the log no longer holds.
      for (const raw of reply.entries) {
        const entry = readEntry(raw);
        if (entry === null) link.ignore();
        else link.accept(entry, false, true);
      }
      for (const [sender, from, count] of reply.gaps) {
        if (!link.senders.has(sender)) link.sender(sender, from);
        // What arrived live meanwhile (held) is not missing.
        link.gap(sender, from, Math.min(count, heldFrom(sender) - from));
      }
    }
    const held = link.held ?? [];
    link.held = null;
    releasing = true;
    try {
      for (const m of held) link.dispatch(m);
    } finally {
      releasing = false;
    }
  }

  /**
   * The first position of `sender` among the held messages (Infinity if none).
   * @param {string} sender
   */
  function heldFrom(sender) {
    let first = Infinity;
    for (const m of link.held ?? []) {
      if (m.kind !== 'msgs' || `${m.from}:${m.link}` !== sender) continue;
      for (const e of m.msgs) if (typeof e?.n === 'number' && e.n < first) first = e.n;
    }
    return first;
  }

  /**
   * The leader's answer to `sync`: the logged entries after what the realm has (it reports any
   * hole between them as a gap when it delivers them), and for each sender whose latest messages
   * the log no longer holds, that tail as a gap. Senders the realm does not know: their logged
   * entries since `since`.
   * @param {any} m
   */
  function catchUp(m) {
    /** @type {Map<string, number>} */
    const have = new Map(m.have);
    /** sender → the position after the last entry answered (or what the realm has). */
    const reached = new Map(have);
    const entries = [];
    for (const entry of logEntries()) {
      const next = have.get(entry.s);
      if (next === undefined ? entry.at >= m.since : entry.n >= next) {
        entries.push(entry);
        if (next !== undefined) reached.set(entry.s, entry.n + 1);
      }
    }
    const gaps = [];
    for (const [sender, next] of reached) {
      const end = known.get(sender) ?? 0;
      if (end > next) gaps.push([sender, next, end - next]);
    }
    post(message('catchup', realm, { to: m.from, req: m.req, entries, gaps }));
  }

  link.onControl = (m) => {
    const t = now();
    switch (m.kind) {
      case 'beat': {
        peers.set(m.from, t);
        if (m.leader) {
          leaderSeenAt = t;
          leaderHidden = m.hidden === true;
          // Not welcomed yet (the leader changed, or none led when this realm said hello).
          if (!welcomed && hellos < HELLO_TRIES) hello();
        }
        // A sender first heard of by its beat owes this realm what it sends from now on, so a
        // realm that then misses its messages (frozen) knows to ask for them. Not while a
        // catch-up is awaited: the answer brings that sender's messages from where they start.
        const sender = `${m.from}:${m.link}`;
        if (syncReq === 0 && !link.senders.has(sender)) link.sender(sender, m.n + 1);
        break;
      }
      case 'bye':
        peers.delete(m.from);
        vote.leaderOf(peers, t);
        break;
      case 'hello':
        peers.set(m.from, t);
        if (vote.leading) {
          const entries = [...retained.values()].flat().sort((a, b) => a.at - b.at);
          post(message('welcome', realm, { to: m.from, req: m.req, retained: entries }));
        }
        break;
      case 'welcome':
        if (m.to !== realm || m.req !== helloReq || welcomed) break;
        welcomed = true;
        for (const raw of m.retained) {
          const entry = readEntry(raw);
          if (entry === null) link.ignore();
          // A newer message of that sender arrived live first: the retained one is stale.
          else if ((link.senders.get(entry.s)?.next ?? 0) > entry.n) link.metricsData.duplicates++;
          else if (link.deliver(entry)) {
            link.metricsData.retained++;
            keep(entry);
          }
        }
        break;
      case 'sync':
        peers.set(m.from, t);
        if (vote.leading) catchUp(m);
        break;
      case 'catchup':
        if (m.to === realm && m.req === syncReq && syncReq !== 0) finishSync(m);
        break;
    }
  };

  function beat() {
    if (closed || paused) return;
    if (bus.closed) {
      close();
      return;
    }
    const t = now();
    for (const [peer, heard] of peers) if (t - heard > 3 * hb) peers.delete(peer);
    if (peers.size !== peersShown) {
      peersShown = peers.size;
      shown?.changed();
    }
    vote.leaderOf(peers, t);
    const patience = leaderHidden ? HIDDEN_LEADER_MS : 3 * hb + Math.random() * hb;
    if (!vote.leading && t - leaderSeenAt > patience) {
      leaderSeenAt = t;
      vote.deposed();
    }
    const hidden = doc?.visibilityState === 'hidden';
    post(message('beat', realm, { link: link.linkId, leader: vote.leading, n: link.sentN, hidden }));
  }

  function hello() {
    hellos++;
    post(message('hello', realm, { link: link.linkId, req: helloReq }));
  }

  function open() {
    const ch = new BroadcastChannel(name);
    ch.onmessage = (event) => link.receive(event.data);
    ch.onmessageerror = () => link.ignore();
    channel = ch;
    leaderSeenAt = now();
    vote.start();
    beatTimer = setInterval(beat, hb);
    unref(beatTimer);
    beat();
  }

  function shut() {
    clearInterval(beatTimer);
    vote.stop();
    channel?.close();
    channel = null;
  }

  /** The page is freezing or entering the back/forward cache: stop listening, give up leading. */
  function pause() {
    if (paused || closed) return;
    link.flush();
    // What the app publishes from now on (its own pagehide handlers) waits for `resume`.
    link.paused = true;
    paused = true;
    pausedAt = Date.now();
    if (syncReq !== 0) finishSync(null);
    shut();
    link.diagnose('state', { channel: config.channel, state: 'disconnected' });
    shown?.changed();
  }

  /** The page runs again: listen, and ask the leader for what passed meanwhile. */
  function resume() {
    if (!paused || closed) return;
    paused = false;
    peers.clear();
    open();
    startSync(pausedAt);
    link.paused = false;
    link.flush();
    shown?.changed();
  }

  const win = doc !== undefined && typeof (/** @type {any} */ (globalThis).addEventListener) === 'function' ? /** @type {any} */ (globalThis) : null;
  let hiddenAt = 0;
  /** @type {[any, string, (event: any) => void][]} */
  const listeners = [];
  if (doc !== undefined) {
    listeners.push(
      [doc, 'freeze', pause],
      [doc, 'resume', resume],
      [doc, 'visibilitychange', () => {
        // Hidden long enough that the browser may have dropped something: ask (followers only;
        // the leader has no one to ask).
        if (doc.visibilityState === 'hidden') hiddenAt = Date.now();
        else if (!paused && otherLeader() && Date.now() - hiddenAt > 3 * hb) startSync(hiddenAt);
      }],
    );
    if (win !== null) {
      listeners.push(
        [win, 'pagehide', (event) => event.persisted && pause()],
        [win, 'pageshow', (event) => event.persisted && resume()],
      );
    }
    for (const [target, type, listener] of listeners) target.addEventListener(type, listener);
  }

  open();
  hello();

  /** Closes the link whatever asked (the app, the bus closing, the link itself). */
  function close() {
    if (closed) return;
    closed = true;
    link.close();
    post(message('bye', realm, { link: link.linkId }));
    clearTimeout(syncTimer);
    for (const [target, type, listener] of listeners) target.removeEventListener(type, listener);
    shut();
    shown?.remove();
  }
  link.onClose = close;

  /** The realms heard from within 3 heartbeats. */
  function livePeers() {
    const t = now();
    /** @type {string[]} */
    const live = [];
    for (const [peer, heard] of peers) if (t - heard <= 3 * hb) live.push(peer);
    return live;
  }

  /** @type {Link} */
  const facade = {
    get realm() {
      return realm;
    },
    get state() {
      /** @type {LinkState} */
      const state = closed || paused ? 'disconnected' : vote.leading ? 'leader' : 'follower';
      return state;
    },
    metrics() {
      const metrics = link.metrics();
      metrics.peers = livePeers().length;
      return metrics;
    },
    publish(topic, ...[payload, options]) {
      return link.publish(topic, payload, options);
    },
    close,
  };
  // Shown by a visualiser attached to the bus until it closes (registry.js).
  shown = registerLink(bus, () => link.view('tabs', facade.state, facade.metrics(), livePeers()));
  return facade;
}

/** Milliseconds on a monotonic clock. */
function now() {
  return performance.now();
}

/**
 * Lets Node exit while only a link's timer is pending.
 * @param {any} timer
 */
function unref(timer) {
  if (typeof timer === 'object' && timer !== null && typeof timer.unref === 'function') timer.unref();
}
