// @ts-check
// `linkPort(bus, port, { topics })`: the link of share.js, point to point over one
// `postMessage` port: a dedicated worker the page created (`linkPort(bus, worker, ...)` in the
// page, `linkPort(bus, self, ...)` in the worker), a `MessagePort`, or Node's worker_threads
// `Worker` / `parentPort`. A port delivers in order and queues while the other side is busy, so
// there is no leader, log or catch-up; the link's state is `'follower'` until closed. Messages on
// the port that are not the link's (the app's own traffic) are left alone; the link's own
// messages do reach the app's `message` listeners on that port, so an app with traffic of its
// own is better served by a dedicated `MessageChannel` port transferred to the worker. A Node
// worker that exits closes the link (`$bridge.disconnected`); in a browser, where a terminated or
// crashed worker fires nothing, each end holds a Web Lock while it lives and the other notices
// its release (liveness.js), with the same diagnostic.

import { SwitchyardError } from 'switchyard';

import { registerLink } from '../registry.js';
import { webLocks } from './election.js';
import { LinkCore, randomId } from './link.js';
import { LOCK_PREFIX, watchPeer } from './liveness.js';
import { readLinkOptions } from './options.js';
import { isMarked, message } from './protocol.js';


/**
 * @typedef {import('../../bridge.d.ts').Link} Link
 * @typedef {import('../../bridge.d.ts').LinkState} LinkState
 */

/**
 * Links `bus` with the bus at the other end of `port`.
 * @param {any} bus
 * @param {any} port
 * @param {unknown} options
 * @returns {Link}
 */
export function linkPort(bus, port, options) {
  const config = readLinkOptions(options);
  if (port === null || typeof port !== 'object' || typeof port.postMessage !== 'function') {
    throw new SwitchyardError(
      'E_INVALID_OPTION',
      'linkPort(): `port` must be a MessagePort, a Worker, a worker scope or a worker_threads port',
    );
  }
  let closed = false;
  /** This link in the bus's registry (../registry.js), once made. @type {{ remove(): void } | null} */
  let shown = null;
  const link = new LinkCore(bus, config, 'port', (m) => port.postMessage(m));
  /** @param {unknown} data */
  const onData = (data) => {
    // The app's own messages share the port: only the link's are read (and counted if bad).
    if (isMarked(data)) link.receive(data);
  };
  /** @param {any} event */
  const onEvent = (event) => onData(event?.data);
  // Node's Worker and parentPort emit the data itself; browsers dispatch MessageEvents.
  const node = typeof port.on === 'function' && typeof port.off === 'function';
  // The other end died (a worker that exited, crashed or was terminated): the link closes,
  // with a `$bridge.disconnected` diagnostic, instead of posting into nothing.
  const onGone = () => {
    if (closed) return;
    link.diagnose('disconnected', { reason: 'the other end of the port is gone' });
    close();
  };
  link.start();
  // Node's ports say when the other end exits; a browser's say nothing, so each end there holds a
  // Web Lock for its lifetime and watches the other's.
  // Never in Node, whatever the port's shape (see `webLocks`).
  const locks = node ? undefined : webLocks();
  const liveness =
    locks === undefined
      ? null
      : watchPeer(
          locks,
          // Unique, never derived: realms may share a name (`realm: 'worker'` in every tab).
          `${LOCK_PREFIX}${link.realm}.${link.linkId}.${randomId()}`,
          (fields) => port.postMessage(message('alive', link.realm, { link: link.linkId, ...fields })),
          onGone,
          () => port.postMessage(message('away', link.realm, { link: link.linkId })),
        );
  // A page entering the back/forward cache lets go of its lock (browsers do not cache a page
  // holding one) and takes a new one when it is shown again.
  const win = liveness !== null && typeof window === 'object' && window !== null ? window : null;
  /** @param {any} event */
  const onPageHide = (event) => event.persisted && liveness?.pause();
  /** @param {any} event */
  const onPageShow = (event) => event.persisted && liveness?.resume();
  win?.addEventListener('pagehide', onPageHide);
  win?.addEventListener('pageshow', onPageShow);
  if (node) {
    port.on('message', onData);
    port.on('exit', onGone);
    port.on('close', onGone);
  } else {
    port.addEventListener('message', onEvent);
    if (typeof port.start === 'function') port.start();
  }
  link.onControl = (m) => {
    if (m.kind === 'bye') close();
    else if (m.kind === 'alive') liveness?.receive(m);
    else if (m.kind === 'away') liveness?.away();
  };

  function close() {
    if (closed) return;
    closed = true;
    link.close();
    try {
      port.postMessage(message('bye', link.realm, { link: link.linkId }));
    } catch {
      // The port is closed already.
    }
    // After the `bye`: the other end reads the lock's release as a close, not a death.
    liveness?.close();
    win?.removeEventListener('pagehide', onPageHide);
    win?.removeEventListener('pageshow', onPageShow);
    if (node) {
      port.off('message', onData);
      port.off('exit', onGone);
      port.off('close', onGone);
    } else {
      port.removeEventListener('message', onEvent);
    }
    shown?.remove();
  }
  link.onClose = close;

  /** @type {Link} */
  const facade = {
    get realm() {
      return link.realm;
    },
    get state() {
      /** @type {LinkState} */
      const state = closed ? 'disconnected' : 'follower';
      return state;
    },
    metrics: () => link.metrics(),
    publish: (topic, ...[payload, publishOptions]) => link.publish(topic, payload, publishOptions),
    close,
  };
  // Shown by a visualiser attached to the bus until it closes (../registry.js).
  shown = registerLink(bus, () => link.view('port', facade.state, link.metrics(), link.senderRealms()));
  return facade;
}
