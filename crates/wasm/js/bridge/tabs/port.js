// @ts-check
// `linkPort(bus, port, { topics })`: the link of share.js, point to point over one
// `postMessage` port: a dedicated worker the page created (`linkPort(bus, worker, ...)` in the
// page, `linkPort(bus, self, ...)` in the worker), a `MessagePort`, or Node's worker_threads
// `Worker` / `parentPort`. A port delivers in order and queues while the other side is busy, so
// there is no leader, log or catch-up; the link's state is `'follower'` until closed. Messages on
// the port that are not the link's (the app's own traffic) are left alone.

import { SwitchyardError } from 'switchyard';

import { LinkCore } from './link.js';
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
  const link = new LinkCore(bus, config, 'port', (m) => {
    if (!closed) port.postMessage(m);
  });
  /** @param {unknown} data */
  const onData = (data) => {
    // The app's own messages share the port: only the link's are read (and counted if bad).
    if (isMarked(data)) link.receive(data);
  };
  /** @param {any} event */
  const onEvent = (event) => onData(event?.data);
  // Node's Worker and parentPort emit the data itself; browsers dispatch MessageEvents.
  const node = typeof port.on === 'function' && typeof port.off === 'function';
  link.start();
  if (node) port.on('message', onData);
  else {
    port.addEventListener('message', onEvent);
    if (typeof port.start === 'function') port.start();
  }
  link.onControl = (m) => {
    if (m.kind === 'bye') close();
  };

  function close() {
    if (closed) return;
    link.close();
    try {
      port.postMessage(message('bye', link.realm, { link: link.linkId }));
    } catch {
      // The port is closed already.
    }
    closed = true;
    if (node) port.off('message', onData);
    else port.removeEventListener('message', onEvent);
  }

  return {
    get realm() {
      return link.realm;
    },
    get state() {
      /** @type {LinkState} */
      const state = closed ? 'disconnected' : 'follower';
      return state;
    },
    metrics: () => link.metrics(),
    publish: (topic, payload, publishOptions) => link.publish(topic, payload, publishOptions),
    close,
  };
}
