// Node 20's V8 (11.3) inlines calls from optimised JavaScript into simple wasm exports. When
// JavaScript run during such a call (a handler, say) invalidates the optimised caller, V8
// lazily deoptimises it on return, and it cannot rebuild the frame of an inlined call that
// returns an object (`externref`): the whole process aborts (SIGTRAP, `unreachable code` in
// `Deoptimizer::DoComputeBuiltinContinuation`). The package's exports that answer an object
// return nothing and hand the object back through a hook instead (see `hand_back` in
// crates/wasm/src/hooks.rs). Each case runs in a child process, which must exit cleanly.

import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { join } from 'node:path';
import { describe, test } from 'node:test';
import { pathToFileURL } from 'node:url';

import { importPackage, importSnapshotPackage, installDir } from './helpers/package.mjs';

await importPackage();
await importSnapshotPackage();
const entry = pathToFileURL(join(installDir(), 'entry.mjs')).href;
const snapshotEntry = pathToFileURL(join(installDir(), 'entry-snapshot.mjs')).href;

/**
 * Runs `source` (an ES module; `EventBus` is imported, from `switchyard/snapshot` when
 * `withSnapshots`) in a child Node; returns its result.
 */
function runChild(source, { withSnapshots = false } = {}) {
  const script = `const { EventBus } = await import(${JSON.stringify(withSnapshots ? snapshotEntry : entry)});\n${source}`;
  return spawnSync(process.execPath, ['--input-type=module', '-e', script], { encoding: 'utf8', timeout: 120_000 });
}

function assertCleanExit(result) {
  const tail = `${result.stdout}\n${result.stderr}`.slice(-2000);
  assert.equal(result.signal, null, `the child was killed by ${result.signal}:\n${tail}`);
  assert.equal(result.status, 0, `the child exited with ${result.status}:\n${tail}`);
  assert.match(result.stdout, /^done/m, tail);
}

describe('calls V8 inlines into wasm', () => {
  test('a handler run inside an inlined leaks() call that invalidates its optimised caller does not abort Node', () => {
    // leaks() runs the retries that fell due; the handler changes a prototype the optimised
    // caller depends on, so V8 deoptimises the caller in the middle of the call.
    const result = runChild(`
      const bus = new EventBus({ retry: { attempts: 1e6, backoffMs: 1, factor: 1 } });
      class Probe { value() { return 1; } }
      const probe = new Probe();
      let mutate = false;
      let added = 0;
      bus.subscribe('a', () => {
        if (mutate) Probe.prototype['extra' + added++] = added;
        throw new Error('again');
      });
      bus.publish('a', 1);
      const hot = () => (bus.leaks().length === 0 ? 1 : 0) + probe.value();
      let sum = 0;
      const started = Date.now();
      for (let i = 0; Date.now() - started < 1500; i++) {
        if (i === 20000) mutate = true;
        sum += hot();
      }
      bus.close();
      console.log('done', sum > 0, added);
    `);
    assertCleanExit(result);
  });

  test('a seeded loop of random bus operations reading metrics() after each runs to its end', () => {
    const result = runChild(`
      let seed = 2;
      const random = () => {
        seed ^= seed << 13; seed >>>= 0; seed ^= seed >>> 17; seed ^= seed << 5; seed >>>= 0;
        return seed / 4294967296;
      };
      const pick = (list) => list[Math.floor(random() * list.length)];
      const topics = ['a', 'a.b', 'b.c', 'c', 'x.y.z'];
      const patterns = ['a', 'a.*', '**', 'b.*', 'c', 'x.**'];
      const options = { maxTopics: 16, retry: { attempts: 2, backoffMs: 0 }, deadLetterCapacity: 20, traceCapacity: 16 };
      let bus = new EventBus(options);
      let subs = [];
      const started = Date.now();
      for (let i = 0; i < 20000 && Date.now() - started < 20000; i++) {
        try {
          switch (Math.floor(random() * 20)) {
            case 0: case 1: case 2: case 3: bus.publish(pick(topics), i); break;
            case 4:
              if (subs.length < 10) {
                const named = random() < 0.5 ? undefined : { name: 'n' + i, priority: 1, filter: () => random() < 0.7 };
                subs.push(bus.subscribe(pick(patterns), () => { if (random() < 0.2) throw new Error('x'); }, named));
              }
              break;
            case 5: if (subs.length) subs.splice(Math.floor(random() * subs.length), 1)[0].unsubscribe(); break;
            case 6: bus.publish(pick(topics), { i }, { headers: { k: 'v' }, correlationId: 'c' }); break;
            case 7: bus.subscriptions(); break;
            case 8: bus.deadLetters(); break;
            case 9: if (subs.length) pick(subs).stats(); break;
            case 10: bus.redrive(); break;
            case 11: bus.leaks(); break;
            case 12: bus.trace(); break;
            case 13: if (subs.length) pick(subs).pause(); break;
            case 14: if (subs.length) pick(subs).resume(); break;
            case 15: { const off = bus.on('delivered', () => {}); if (random() < 0.5) off(); break; }
            case 16:
              if (random() < 0.05) {
                const next = EventBus.restore(bus.snapshot(), options);
                bus.free();
                bus = next;
                subs = [];
              }
              break;
            case 17: bus.purgeDeadLetters(); break;
            case 18: if (subs.length) pick(subs).setDelivery(random() < 0.5 ? 'immediate' : { batch: { size: 2 } }); break;
            case 19: bus.getSubscription(subs.length ? pick(subs).id : 1); break;
          }
        } catch (error) {
          if (error?.name !== 'SwitchyardError') throw error;
        }
        if (bus.metrics().totals === undefined) throw new Error('metrics() answered no totals');
      }
      bus.close();
      console.log('done');
    `, { withSnapshots: true });
    assertCleanExit(result);
  });
});
