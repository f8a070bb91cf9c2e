// The broker fixture the bridge tests use (tests/node/helpers/mosquitto.mjs): its own mosquitto on
// loopback ports, reachable over TCP and WebSocket, listening nowhere else, stopped by its PID.

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { startBroker, listeningSockets } from './helpers/mosquitto.mjs';

test('the test broker listens only on loopback addresses, over TCP and WebSocket', async () => {
  const broker = await startBroker();
  try {
    const sockets = listeningSockets(broker.pid);
    const ports = sockets.map((s) => Number(s.local.slice(s.local.lastIndexOf(':') + 1)));
    assert.ok(ports.includes(broker.tcpPort), `TCP port ${broker.tcpPort} in ${JSON.stringify(sockets)}`);
    assert.ok(ports.includes(broker.wsPort), `WebSocket port ${broker.wsPort} in ${JSON.stringify(sockets)}`);
    for (const { local, line } of sockets) {
      const host = local.slice(0, local.lastIndexOf(':')).replace(/^\[|\]$/g, '').replace(/%lo$/, '');
      assert.match(host, /^(127\.\d+\.\d+\.\d+|::1|::ffff:127\.\d+\.\d+\.\d+)$/, `listens beyond loopback: ${line}`);
    }
  } finally {
    await broker.stop();
  }
});

test('the test broker stops by its PID and starts again on the same ports', async () => {
  const broker = await startBroker();
  const first = broker.pid;
  await broker.stop();
  assert.equal(listeningSockets(first).length, 0);
  await broker.start();
  try {
    assert.notEqual(broker.pid, first);
    assert.equal(listeningSockets(broker.pid).length >= 2, true);
  } finally {
    await broker.stop();
  }
});
