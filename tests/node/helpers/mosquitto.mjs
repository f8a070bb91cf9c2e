// A mosquitto broker of the test's own, for the MQTT bridge (`switchyard/bridge`): started per
// run on free loopback ports (one TCP listener on 127.0.0.1 and one WebSocket listener bound to
// the interface `lo`), its config, log and persistence file under `target/mosquitto/<run>/`,
// stopped by its process id. `stop()` / `start()` again (same ports, same persistence file) make
// the broker outage of the outbox tests.
//
// Two traps of Debian 12's mosquitto 2.0.11 (docs/DEVELOPING.md): it refuses to start with only a
// WebSocket listener, so the TCP listener stays; and `listener PORT 127.0.0.1` with
// `protocol websockets` binds every interface, so that listener names the interface `lo`.

import { spawn, execFileSync } from 'node:child_process';
import { existsSync, mkdirSync, writeFileSync, readFileSync } from 'node:fs';
import { createServer, connect } from 'node:net';
import { join, resolve, dirname } from 'node:path';
import { userInfo } from 'node:os';
import { fileURLToPath } from 'node:url';

const here = dirname(fileURLToPath(import.meta.url));
const repo = resolve(here, '../../..');
/** Debian's broker, installed by `cargo xtask setup`. */
export const MOSQUITTO = '/usr/sbin/mosquitto';

/** A port nobody listens on now (the kernel picks it; closed again before use). */
export function freePort() {
  return new Promise((resolvePort, reject) => {
    const server = createServer();
    server.unref();
    server.on('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const { port } = /** @type {import('node:net').AddressInfo} */ (server.address());
      server.close(() => resolvePort(port));
    });
  });
}

function canConnect(port) {
  return new Promise((done) => {
    const socket = connect({ port, host: '127.0.0.1' });
    socket.once('connect', () => {
      socket.destroy();
      done(true);
    });
    socket.once('error', () => done(false));
  });
}

const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

/**
 * Starts a broker. Options: `persistence` (default true: the outage tests restart it and expect
 * persistent sessions to survive), `extra` (more config lines, e.g. `message_size_limit 1000`).
 * Returns `{ tcpPort, wsPort, tcpUrl, wsUrl, dir, pid, stop(), start(), restart(), log() }`.
 */
export async function startBroker({ persistence = true, extra = [], acl = null } = {}) {
  if (!existsSync(MOSQUITTO)) throw new Error(`${MOSQUITTO} missing: run \`cargo xtask setup\``);
  const targetDir = resolve(repo, process.env.CARGO_TARGET_DIR ?? 'target');
  const dir = join(targetDir, 'mosquitto', `${process.pid}-${Date.now().toString(36)}-${Math.random().toString(36).slice(2, 6)}`);
  mkdirSync(dir, { recursive: true });
  const tcpPort = await freePort();
  let wsPort = await freePort();
  while (wsPort === tcpPort) wsPort = await freePort();
  const config = join(dir, 'mosquitto.conf');
  const logFile = join(dir, 'mosquitto.log');
  if (acl !== null) {
    writeFileSync(join(dir, 'acl'), acl);
    extra = [...extra, `acl_file ${join(dir, 'acl')}`];
  }
  writeFileSync(
    config,
    [
      `listener ${tcpPort} 127.0.0.1`,
      `listener ${wsPort} lo`,
      'protocol websockets',
      'allow_anonymous true',
      // Started as root, mosquitto switches to the user `mosquitto`, which cannot write this
      // root-owned folder (no log, no persistence file: a restart forgets every session).
      `user ${userInfo().username}`,
      `persistence ${persistence}`,
      `persistence_location ${dir}/`,
      'persistence_file mosquitto.db',
      // Keep every QoS 1 message for an offline persistent session (the default is 1000 and
      // 0 means unlimited; the outage test parks 1 000 messages for the receiving bridge).
      'max_queued_messages 0',
      'max_inflight_messages 0',
      `log_dest file ${logFile}`,
      'log_type error',
      'log_type warning',
      'log_type notice',
      ...extra,
      '',
    ].join('\n'),
  );
  /** @type {import('node:child_process').ChildProcess | null} */
  let child = null;
  const broker = {
    tcpPort,
    wsPort,
    tcpUrl: `mqtt://127.0.0.1:${tcpPort}`,
    wsUrl: `ws://127.0.0.1:${wsPort}`,
    dir,
    get pid() {
      return child?.pid ?? null;
    },
    get running() {
      return child !== null;
    },
    async start() {
      if (child) return;
      const proc = spawn(MOSQUITTO, ['-c', config], { stdio: ['ignore', 'ignore', 'pipe'] });
      let stderr = '';
      proc.stderr.on('data', (d) => (stderr += d));
      let exited = false;
      proc.once('exit', () => (exited = true));
      child = proc;
      for (let i = 0; i < 200; i++) {
        if (exited) {
          child = null;
          throw new Error(`mosquitto exited at start: ${stderr}\n${broker.log()}`);
        }
        if ((await canConnect(tcpPort)) && (await canConnect(wsPort))) return;
        await sleep(25);
      }
      throw new Error(`mosquitto did not listen on ${tcpPort}/${wsPort} within 5 s\n${broker.log()}`);
    },
    /** Stops it by its PID (SIGTERM: it writes its persistence file) and waits for the exit. */
    async stop() {
      const proc = child;
      if (!proc) return;
      child = null;
      const gone = new Promise((r) => proc.once('exit', r));
      if (proc.exitCode === null && proc.signalCode === null) process.kill(/** @type {number} */ (proc.pid), 'SIGTERM');
      await Promise.race([gone, sleep(5000)]);
      if (proc.exitCode === null && proc.signalCode === null) {
        process.kill(/** @type {number} */ (proc.pid), 'SIGKILL');
        await gone;
      }
    },
    async restart() {
      await broker.stop();
      await broker.start();
    },
    log() {
      return existsSync(logFile) ? readFileSync(logFile, 'utf8') : '';
    },
  };
  await broker.start();
  return broker;
}

/** `ss -ltnp` lines of the listening sockets owned by process `pid`. */
export function listeningSockets(pid) {
  const out = execFileSync('ss', ['-Hltnp'], { encoding: 'utf8' });
  return out
    .split('\n')
    .filter((line) => line.includes(`pid=${pid},`))
    .map((line) => {
      const cols = line.trim().split(/\s+/);
      return { local: cols[3], line };
    });
}
