// `switchyard/compat`'s EventEmitter, from Node's `events` documentation
// (https://nodejs.org/api/events.html). Each behaviour is checked against what the docs say and,
// where a scenario can run on both, against Node's own `events.EventEmitter` in this process: the
// scenario's log must be the same. Then what the bus underneath sees (`emitter.bus`).

import assert from 'node:assert/strict';
import { EventEmitter as NodeEventEmitter } from 'node:events';
import { describe, test } from 'node:test';

import { importCompat, requireCompat } from './helpers/compat.mjs';
import { importPackage } from './helpers/package.mjs';

const compat = await importCompat();
const { EventEmitter } = compat;
const { SwitchyardError, EventBus } = await importPackage();

/** Runs `scenario(EventEmitterClass)` on Node's emitter and on compat's; both logs must match. */
function sameAsNode(scenario) {
  const expected = scenario(NodeEventEmitter);
  const actual = scenario(EventEmitter);
  assert.deepEqual(actual, expected);
  return actual;
}

/** Calls `fn`, returning what it threw (or 'no throw'), for logs. */
function thrown(fn) {
  try {
    fn();
    return 'no throw';
  } catch (error) {
    return error;
  }
}

/** Collects `process` warnings emitted while `fn` runs (they are emitted on the next tick). */
async function warningsDuring(fn) {
  const seen = [];
  const onWarning = (w) => seen.push(w);
  process.on('warning', onWarning);
  try {
    fn();
    await new Promise((resolve) => setImmediate(resolve));
  } finally {
    process.off('warning', onWarning);
  }
  return seen;
}

describe('compat EventEmitter: listeners and emit (Node docs)', () => {
  test('on and addListener add listeners called in order with the emit arguments, and emit says whether anyone listened', () => {
    const log = sameAsNode((EE) => {
      const e = new EE();
      const out = [];
      out.push(e.emit('event', 1));
      e.on('event', (a, b) => out.push(['first', a, b]));
      e.addListener('event', (...args) => out.push(['second', args]));
      out.push(e.emit('event', 'a', 'b'));
      out.push(e.emit('event'));
      out.push(e.emit('event', 1, 2, 3, 4, 5, 6));
      return out;
    });
    assert.equal(log[0], false);
  });

  test('an ordinary listener is called with this set to the emitter; an arrow function keeps its own this', () => {
    const e = new EventEmitter();
    let self;
    let arrowThis = 'unset';
    e.on('event', function () {
      self = this;
    });
    e.on('event', () => {
      arrowThis = this;
    });
    e.emit('event', 'a', 'b');
    assert.equal(self, e);
    assert.equal(arrowThis, undefined);
  });

  test('the same listener added twice is called twice, and removeListener removes the most recently added one', () => {
    sameAsNode((EE) => {
      const e = new EE();
      const out = [];
      const pong = () => out.push('pong');
      const other = () => out.push('other');
      e.on('ping', pong);
      e.on('ping', other);
      e.on('ping', pong);
      e.emit('ping');
      e.removeListener('ping', pong);
      out.push(e.listeners('ping').map((f) => (f === pong ? 'pong' : 'other')));
      e.emit('ping');
      return out;
    });
  });

  test('once listeners run once; prependListener and prependOnceListener add at the start', () => {
    sameAsNode((EE) => {
      const e = new EE();
      const out = [];
      e.on('foo', () => out.push('a'));
      e.prependListener('foo', () => out.push('b'));
      e.once('foo', () => out.push('once'));
      e.prependOnceListener('foo', () => out.push('prepended once'));
      e.emit('foo');
      e.emit('foo');
      out.push(e.listenerCount('foo'));
      return out;
    });
  });

  test('a listener removed during an emit is still called by that emit, and one added during it is not', () => {
    // The docs' example: callbackA removes callbackB; the first emit still calls B.
    const log = sameAsNode((EE) => {
      const e = new EE();
      const out = [];
      const callbackA = () => {
        out.push('A');
        e.removeListener('event', callbackB);
        e.on('event', () => out.push('added during emit'));
      };
      const callbackB = () => out.push('B');
      e.on('event', callbackA);
      e.on('event', callbackB);
      e.emit('event');
      out.push('--');
      e.emit('event');
      return out;
    });
    assert.deepEqual(log, ['A', 'B', '--', 'A', 'added during emit']);
  });

  test('a listener that throws ends the emit: the error leaves emit and the later listeners are not called', () => {
    const log = sameAsNode((EE) => {
      const e = new EE();
      const out = [];
      const boom = new Error('boom');
      e.on('x', () => out.push('first'));
      e.on('x', () => {
        throw boom;
      });
      e.on('x', () => out.push('never'));
      out.push(thrown(() => e.emit('x')) === boom);
      // The emitter goes on working.
      e.removeAllListeners('x');
      e.on('x', () => out.push('after'));
      out.push(e.emit('x'));
      return out;
    });
    assert.deepEqual(log, ['first', true, 'after', true]);
  });

  test('an emit inside a listener runs at once (depth first), before the outer emit reaches its next listener', () => {
    const log = sameAsNode((EE) => {
      const e = new EE();
      const out = [];
      e.on('outer', () => {
        out.push('outer 1');
        out.push(e.emit('inner', 'x'));
      });
      e.on('outer', () => out.push('outer 2'));
      e.on('inner', (v) => out.push(`inner ${v}`));
      e.emit('outer');
      return out;
    });
    assert.deepEqual(log, ['outer 1', 'inner x', true, 'outer 2']);
  });

  test('listeners unwraps once wrappers; rawListeners returns them, and calling a raw wrapper removes it', () => {
    // The docs' rawListeners example.
    const e = new EventEmitter();
    const out = [];
    e.once('log', () => out.push('log once'));
    const [logFnWrapper] = e.rawListeners('log');
    assert.equal(typeof logFnWrapper.listener, 'function');
    assert.deepEqual(e.listeners('log'), [logFnWrapper.listener]);
    logFnWrapper.listener();
    assert.equal(e.listenerCount('log'), 1, 'calling .listener() does not remove it');
    logFnWrapper();
    assert.equal(e.listenerCount('log'), 0, 'calling the wrapper removes it');
    e.on('log', () => out.push('log persistently'));
    const [newLogFn] = e.rawListeners('log');
    newLogFn();
    e.emit('log');
    assert.deepEqual(out, ['log once', 'log once', 'log persistently', 'log persistently']);
    sameAsNode((EE) => {
      const x = new EE();
      const f = () => {};
      x.once('a', f);
      x.on('a', f);
      return [x.listeners('a').map((l) => l === f), x.rawListeners('a').map((l) => l === f), x.listenerCount('a', f)];
    });
  });

  test('off is removeListener; removing with a once listener\'s original function removes its wrapper', () => {
    sameAsNode((EE) => {
      const e = new EE();
      const out = [];
      const f = () => out.push('f');
      e.once('a', f);
      e.off('a', f);
      out.push(e.emit('a'), e.listenerCount('a'));
      e.on('a', f).on('a', f);
      e.off('a', () => {});
      out.push(e.listenerCount('a'), e.off === e.removeListener);
      return out;
    });
  });

  test('removeAllListeners removes one event\'s listeners, or every event\'s when called with no argument', () => {
    sameAsNode((EE) => {
      const e = new EE();
      const s = Symbol('s');
      for (const name of ['a', 'b', s]) e.on(name, () => {});
      e.on('a', () => {});
      const out = [e.removeAllListeners('a') === e, e.eventNames().map(String)];
      e.removeAllListeners(undefined);
      out.push(e.eventNames().map(String));
      e.removeAllListeners();
      out.push(e.eventNames().map(String), e.emit('b'));
      return out;
    });
  });

  test('listenerCount counts an event\'s listeners, or those of one function', () => {
    sameAsNode((EE) => {
      const e = new EE();
      const f = () => {};
      e.on('a', f).on('a', () => {}).once('a', f);
      return [e.listenerCount('a'), e.listenerCount('a', f), e.listenerCount('missing'), e.listenerCount('a', () => {})];
    });
  });

  test('eventNames lists names with listeners in Node\'s order: array-index names, other strings, then symbols', () => {
    const log = sameAsNode((EE) => {
      const e = new EE();
      const sym = Symbol('symbol');
      for (const name of ['foo', sym, '10', 'bar', '2', Symbol.for('x')]) e.on(name, () => {});
      e.removeAllListeners('foo');
      e.on('foo', () => {});
      return e.eventNames().map(String);
    });
    assert.deepEqual(log, ['2', '10', 'bar', 'foo', 'Symbol(symbol)', 'Symbol(x)']);
  });

  test('a name that is neither a string nor a symbol is kept as a string, as Node keeps it: on(1) and emit(\'1\') meet', () => {
    const log = sameAsNode((EE) => {
      const e = new EE();
      const out = [];
      e.on('newListener', (name) => out.push(['new', typeof name, String(name)]));
      e.on('removeListener', (name) => out.push(['removed', typeof name, String(name)]));
      const one = (v) => out.push(['one', v]);
      e.on(1, one);
      out.push(e.emit('1', 'as string'), e.emit(1, 'as number'));
      e.on('2', (v) => out.push(['two', v]));
      out.push(e.emit(2, 'number to string listener'));
      e.on(undefined, (v) => out.push(['undefined', v]));
      e.on(null, (v) => out.push(['null', v]));
      out.push(e.emit('undefined', 'u'), e.emit(null, 'n'));
      out.push(e.eventNames().filter((n) => n !== 'newListener' && n !== 'removeListener'));
      out.push(e.listenerCount(1), e.listeners('1').length, e.rawListeners(1).length);
      e.removeListener('1', one);
      out.push(e.listenerCount(1));
      e.removeAllListeners(2);
      out.push(e.listenerCount('2'));
      return out;
    });
    assert.ok(log.some((entry) => JSON.stringify(entry) === JSON.stringify(['1', '2', 'undefined', 'null'])));
  });

  test('Symbol event names work like strings, two symbols with one description staying apart', () => {
    sameAsNode((EE) => {
      const e = new EE();
      const out = [];
      const a = Symbol('same');
      const b = Symbol('same');
      e.on(a, (v) => out.push(['a', v]));
      e.on(b, (v) => out.push(['b', v]));
      e.emit(a, 1);
      e.emit(b, 2);
      out.push(e.listenerCount(a), e.eventNames().length);
      return out;
    });
  });
});

describe('compat EventEmitter: random operation sequences against Node', () => {
  test('200 seeded sequences of on/once/prepend/off/removeAll/emit (listeners that change the emitter mid-emit included) log the same as Node', () => {
    for (let seed = 1; seed <= 200; seed++) {
      sameAsNode((EE) => {
        let state = seed;
        const random = (n) => {
          state = (Math.imul(state, 1103515245) + 12345) >>> 0;
          return (state >>> 8) % n;
        };
        const e = new EE();
        e.setMaxListeners(0);
        const out = [];
        const names = ['a', 'b', Symbol.for('c')];
        const fns = [];
        for (let i = 0; i < 6; i++) {
          const id = i;
          fns.push(function (...args) {
            out.push(['call', id, String(args[0] ?? ''), args.length, this === e]);
            // Some listeners change the emitter while an emit runs.
            if (id === 4) e.off(names[0], fns[random(6)]);
            if (id === 5 && out.length < 400) e.emit(names[1], 'nested');
          });
        }
        if (random(2) === 0) e.on('removeListener', (n, f) => out.push(['removed', String(n), fns.indexOf(f)]));
        if (random(2) === 0) e.on('newListener', (n, f) => out.push(['new', String(n), fns.indexOf(f)]));
        for (let step = 0; step < 40; step++) {
          const name = names[random(3)];
          const fn = fns[random(6)];
          switch (random(8)) {
            case 0:
            case 1:
              e.on(name, fn);
              break;
            case 2:
              e.once(name, fn);
              break;
            case 3:
              if (random(2) === 0) e.prependListener(name, fn);
              else e.prependOnceListener(name, fn);
              break;
            case 4:
              e.off(name, fn);
              break;
            case 5:
              if (random(4) === 0) e.removeAllListeners();
              else e.removeAllListeners(name);
              break;
            default:
              out.push(['emit', String(name), e.emit(name, step, ...Array(random(6)).fill(0))]);
          }
          out.push(['count', e.listenerCount(name), e.eventNames().map(String)]);
        }
        return out;
      });
    }
  });
});

describe('compat EventEmitter: newListener and removeListener events (Node docs)', () => {
  test('newListener is emitted before the listener is added, so a listener it adds runs first', () => {
    // The docs' example: B is added from newListener, so it runs before A.
    const log = sameAsNode((EE) => {
      const myEmitter = new EE();
      const out = [];
      myEmitter.once('newListener', (event, listener) => {
        out.push(['newListener', event, typeof listener]);
        if (event === 'event') myEmitter.on('event', () => out.push('B'));
      });
      myEmitter.on('event', () => out.push('A'));
      myEmitter.emit('event');
      return out;
    });
    assert.deepEqual(log, [['newListener', 'event', 'function'], 'B', 'A']);
  });

  test('newListener gets the original function of a once listener; removeListener reports each removal after it happens', () => {
    sameAsNode((EE) => {
      const e = new EE();
      const out = [];
      const f = () => {};
      const g = () => {};
      e.on('newListener', (name, listener) => out.push(['new', String(name), listener === f, listener === g]));
      e.on('removeListener', (name, listener) => out.push(['removed', String(name), listener === f, listener === g, e.listenerCount(name)]));
      e.once('a', f);
      e.on('a', g);
      e.emit('a');
      e.on('b', f);
      e.removeListener('b', f);
      e.on('c', f).on('c', g).on('c', f);
      e.removeAllListeners('c');
      e.removeAllListeners();
      out.push(e.eventNames());
      return out;
    });
  });
});

describe('compat EventEmitter: errors (Node docs)', () => {
  test("an 'error' with no listener throws the error itself", () => {
    const e = new EventEmitter();
    const err = new Error('whoops!');
    assert.equal(thrown(() => e.emit('error', err)), err);
    const n = new NodeEventEmitter();
    assert.equal(thrown(() => n.emit('error', err)), err);
  });

  test("an 'error' with no listener and a value that is not an Error throws ERR_UNHANDLED_ERROR with the value as context", () => {
    for (const args of [['boom'], [42], [{ a: 1 }], []]) {
      const node = thrown(() => new NodeEventEmitter().emit('error', ...args));
      const ours = thrown(() => new EventEmitter().emit('error', ...args));
      assert.ok(ours instanceof Error);
      assert.equal(ours.code, 'ERR_UNHANDLED_ERROR');
      assert.equal(ours.code, node.code);
      assert.equal(ours.context, node.context);
      assert.equal(ours.message, node.message, `for ${JSON.stringify(args)}`);
    }
  });

  test("an 'error' listener receives the error and nothing throws; errorMonitor listeners see it first", () => {
    const log = sameAsNode((EE) => {
      const e = new EE();
      const out = [];
      e.on(EE.errorMonitor, (err) => out.push(['monitor', err.message]));
      out.push(thrown(() => e.emit('error', new Error('unseen'))).message);
      e.on('error', (err) => out.push(['error', err.message]));
      out.push(e.emit('error', new Error('seen')));
      return out;
    });
    assert.deepEqual(log, [['monitor', 'unseen'], 'unseen', ['monitor', 'seen'], ['error', 'seen'], true]);
    assert.equal(compat.errorMonitor, EventEmitter.errorMonitor);
  });

  test("in Node, errorMonitor is Node's own symbol: a listener on events.errorMonitor sees a compat emitter's 'error' emits", () => {
    assert.equal(EventEmitter.errorMonitor, NodeEventEmitter.errorMonitor);
    const e = new EventEmitter();
    const out = [];
    e.on(NodeEventEmitter.errorMonitor, (err) => out.push(err.message));
    e.on('error', () => {});
    e.emit('error', new Error('watched'));
    assert.deepEqual(out, ['watched']);
  });
});

describe('compat EventEmitter: max listeners (Node docs)', () => {
  test('getMaxListeners is defaultMaxListeners (10) until setMaxListeners; 0 and Infinity mean no limit', () => {
    const e = new EventEmitter();
    assert.equal(EventEmitter.defaultMaxListeners, 10);
    assert.equal(e.getMaxListeners(), 10);
    assert.equal(e.setMaxListeners(1), e);
    assert.equal(e.getMaxListeners(), 1);
    e.setMaxListeners(Infinity);
    assert.equal(e.getMaxListeners(), Infinity);
  });

  test('adding more listeners than the limit to one name warns once per name through process.emitWarning', async () => {
    const e = new EventEmitter();
    const warnings = await warningsDuring(() => {
      for (let i = 0; i < 13; i++) e.on('data', () => {});
      for (let i = 0; i < 11; i++) e.on(Symbol.for('other'), () => {});
    });
    assert.equal(warnings.length, 2);
    const [w] = warnings;
    assert.equal(w.name, 'MaxListenersExceededWarning');
    assert.equal(w.emitter, e);
    assert.equal(w.type, 'data');
    assert.equal(w.count, 11);
    assert.match(w.message, /Possible EventEmitter memory leak detected\. 11 data listeners added to \[EventEmitter\]\. MaxListeners is 10\./);
    assert.equal(warnings[1].type, Symbol.for('other'));
    const none = await warningsDuring(() => {
      const quiet = new EventEmitter().setMaxListeners(0);
      for (let i = 0; i < 20; i++) quiet.on('data', () => {});
    });
    assert.deepEqual(none, []);
  });

  test('the warning comes as Node\'s does: once per name, again after the name dropped back to one listener', async () => {
    const run = async (EE) => {
      const e = new EE();
      e.setMaxListeners(2);
      const fns = [() => {}, () => {}, () => {}];
      return (
        await warningsDuring(() => {
          for (const f of fns) e.on('x', f);
          e.on('x', () => {});
          e.off('x', fns[0]).off('x', fns[1]).off('x', fns[2]);
          for (const f of fns) e.on('x', f);
        })
      ).map((w) => [w.name, w.count]);
    };
    assert.deepEqual(await run(EventEmitter), await run(NodeEventEmitter));
  });

  test('bad counts and listeners are refused with a SwitchyardError and change nothing', () => {
    const e = new EventEmitter();
    for (const bad of [-1, NaN, '3', undefined]) {
      const error = thrown(() => e.setMaxListeners(bad));
      assert.ok(error instanceof SwitchyardError);
      assert.equal(error.code, 'E_INVALID_OPTION');
    }
    assert.equal(e.getMaxListeners(), 10);
    for (const method of ['on', 'addListener', 'once', 'prependListener', 'prependOnceListener', 'removeListener', 'off']) {
      const error = thrown(() => e[method]('x', 42));
      assert.ok(error instanceof SwitchyardError, method);
      assert.equal(error.code, 'E_INVALID_HANDLER');
    }
    assert.equal(e.listenerCount('x'), 0);
    assert.deepEqual(e.bus.subscriptions(), []);
    assert.equal(thrown(() => new EventEmitter({ captureRejections: true })).code, 'E_INVALID_OPTION');
  });

  test('bad bus options are refused by the constructor, before any listener is told of anything', () => {
    const error = thrown(() => new EventEmitter({ bus: { capacity: -1 } }));
    assert.ok(error instanceof SwitchyardError);
    assert.equal(error.code, 'E_INVALID_OPTION');
    assert.match(error.message, /capacity/);
    const good = new EventEmitter({ bus: { capacity: 8 } });
    good.on('x', () => {});
    assert.equal(good.bus.subscriptions().length, 1);
  });
});

describe('compat EventEmitter: classes and modules', () => {
  test('class X extends EventEmitter works, with this the subclass instance', () => {
    class MyEmitter extends EventEmitter {
      constructor() {
        super();
        this.seen = [];
      }
    }
    const e = new MyEmitter();
    e.on('event', function (v) {
      this.seen.push(v);
    });
    assert.equal(e.emit('event', 1), true);
    assert.deepEqual(e.seen, [1]);
    assert.ok(e instanceof EventEmitter);
    assert.equal(e.bus.subscriptions().length, 1);
  });

  test('pre-class code works: EventEmitter.call(this) in a constructor whose prototype inherits EventEmitter\'s', () => {
    function Legacy() {
      EventEmitter.call(this);
    }
    Object.setPrototypeOf(Legacy.prototype, EventEmitter.prototype);
    const e = new Legacy();
    const out = [];
    e.on('a', (v) => out.push(v));
    e.emit('a', 7);
    assert.deepEqual(out, [7]);
    // Without any constructor call (util.inherits code that forgot it), too.
    const bare = Object.create(EventEmitter.prototype);
    bare.on('b', (v) => out.push(v));
    bare.emit('b', 8);
    assert.deepEqual(out, [7, 8]);
    assert.equal(thrown(() => EventEmitter()).code, 'E_INVALID_RECEIVER');
  });

  test('instances whose prototype is an emitter get listeners and a bus of their own once EventEmitter.call(this) runs, as in Node', () => {
    const log = sameAsNode((EE) => {
      function Legacy() {
        EE.call(this);
      }
      Legacy.prototype = new EE();
      const a = new Legacy();
      const b = new Legacy();
      const out = [];
      a.on('x', (v) => out.push(['a', v]));
      b.on('x', (v) => out.push(['b', v]));
      a.emit('x', 1);
      b.emit('x', 2);
      out.push(a.listenerCount('x'), b.listenerCount('x'), Legacy.prototype.listenerCount('x'));
      // A second call on the same object keeps its listeners (Node's init does too).
      EE.call(a);
      out.push(a.listenerCount('x'));
      return out;
    });
    assert.deepEqual(log, [['a', 1], ['b', 2], 1, 1, 0, 1]);
    function Legacy() {
      EventEmitter.call(this);
    }
    Legacy.prototype = new EventEmitter();
    const a = new Legacy();
    const b = new Legacy();
    a.on('x', () => {});
    b.on('x', () => {});
    assert.notEqual(a.bus, b.bus);
    assert.equal(a.bus.subscriptions().length, 1);
  });

  test('the default export, the named export and require() are the same EventEmitter, with mitt, once and errorMonitor on it', () => {
    const required = requireCompat();
    assert.equal(compat.default, EventEmitter);
    assert.equal(required, EventEmitter);
    assert.equal(required.EventEmitter, EventEmitter);
    assert.equal(required.default, EventEmitter);
    assert.equal(required.mitt, compat.mitt);
    assert.equal(required.once, compat.once);
    assert.equal(required.errorMonitor, compat.errorMonitor);
    assert.ok(new required() instanceof EventEmitter);
  });

  test('EventEmitter.once resolves with the next emit\'s arguments and rejects on an error emit first', async () => {
    const e = new EventEmitter();
    const next = EventEmitter.once(e, 'ready');
    e.emit('ready', 1, 2);
    assert.deepEqual(await next, [1, 2]);
    assert.equal(e.listenerCount('ready') + e.listenerCount('error'), 0);
    const failing = compat.once(e, 'ready');
    const boom = new Error('boom');
    e.emit('error', boom);
    await assert.rejects(failing, (err) => err === boom);
    const controller = new AbortController();
    const aborted = EventEmitter.once(e, 'never', { signal: controller.signal });
    controller.abort();
    await assert.rejects(aborted, { name: 'AbortError' });
    assert.equal(e.listenerCount('never'), 0);
  });
});

describe('compat EventEmitter: the bus underneath', () => {
  test('each listener is a subscription named after its event, and each emit a publish delivered to each, seen in the same task', () => {
    const e = new EventEmitter();
    e.on('order.created', () => {});
    e.on('order.created', () => {});
    e.once('order.paid', () => {});
    const subs = e.bus.subscriptions();
    assert.deepEqual(
      subs.map((s) => [s.pattern, s.name]),
      [
        ['order.created', 'order.created'],
        ['order.created', 'order.created'],
        ['order.paid', 'order.paid'],
      ],
    );
    for (let i = 0; i < 5; i++) e.emit('order.created', { i });
    e.emit('order.paid');
    e.emit('nobody');
    // No await: the counts are told to the bus before any of its methods runs.
    const metrics = e.bus.metrics();
    assert.equal(metrics.totals.published, 6);
    assert.equal(metrics.totals.delivered, 11);
    assert.equal(metrics.activeSubscriptions, 2, 'the once listener left with its subscription');
    assert.deepEqual(
      e.bus.subscriptions().map((s) => s.counters.delivered),
      [5, 5],
    );
    const byTopic = Object.fromEntries(metrics.topics.map((t) => [t.topic, t.counters.published]));
    assert.deepEqual(byTopic, { 'order.created': 5, 'order.paid': 1 });
  });

  test('removing a listener ends its subscription; an emit counted before the removal still counts', () => {
    const e = new EventEmitter();
    const f = () => {};
    e.on('a', f);
    e.emit('a');
    e.off('a', f);
    assert.deepEqual(e.bus.subscriptions(), []);
    assert.equal(e.bus.metrics().totals.delivered, 1);
    e.on('b', f).on('b', f);
    e.removeAllListeners();
    assert.deepEqual(e.bus.subscriptions(), []);
  });

  test('event names that are not topics map to distinct topics, and the original name is each subscription\'s name', () => {
    const e = new EventEmitter();
    const s1 = Symbol('x');
    const s2 = Symbol('x');
    const long = 'n'.repeat(300);
    const deep = Array.from({ length: 40 }, (_, i) => `s${i}`).join('.');
    const names = ['a b', 'a.b', 'a%20b', '~a b', 'a..b', '.a', 'a.', '', '*', '**', 'a.*', '~', '%', 'tab\there', 'x\ud800', 'x\udc00', s1, s2, long, deep, 'ünï.cödé', '2'];
    const calls = new Map();
    for (const name of names) e.on(name, () => calls.set(name, (calls.get(name) ?? 0) + 1));
    for (const name of names) e.emit(name);
    assert.deepEqual([...calls.values()], names.map(() => 1));
    const subs = e.bus.subscriptions();
    assert.equal(subs.length, names.length);
    const patterns = subs.map((s) => s.pattern);
    assert.equal(new Set(patterns).size, names.length, `topics collide: ${patterns.join(' | ')}`);
    for (const sub of subs) assert.equal(sub.counters.delivered, 1, sub.pattern);
    assert.deepEqual(
      subs.map((s) => s.name),
      names.map((n) => (typeof n === 'symbol' ? n.toString() : n === long ? `${'n'.repeat(253)}…` : n.toWellFormed())),
    );
    // A plain topic stays itself (bus wildcards see it); the others are escaped or numbered.
    assert.equal(patterns[1], 'a.b');
    assert.equal(patterns[0], '~a%20b');
    assert.equal(patterns[7], '~');
    assert.equal(patterns[8], '~%2A');
    assert.match(patterns[16], /^~~\d+$/);
  });

  test('leaks() reports more listeners than the emitter\'s limit on one name as max_listeners', () => {
    const e = new EventEmitter();
    e.setMaxListeners(3);
    process.removeAllListeners('warning');
    for (let i = 0; i < 4; i++) e.on('data', () => {});
    const [leak] = e.bus.leaks();
    assert.equal(leak.reason, 'max_listeners');
    assert.equal(leak.pattern, 'data');
    assert.equal(leak.suspects.length, 4);
    assert.equal(leak.suspects[0].name, 'data');
  });

  test('bus options are passed through: captureStacks gives each registration the stack of the on() call', () => {
    const e = new EventEmitter({ bus: { captureStacks: true, maxListeners: 1 } });
    function registerTwice() {
      e.on('x', () => {});
      e.on('x', () => {});
    }
    process.removeAllListeners('warning');
    registerTwice();
    const [leak] = e.bus.leaks();
    assert.match(leak.suspects[0].stack, /registerTwice/);
  });

  test('while someone observes the bus (an on() listener), each emit is published at once with its payload', () => {
    const e = new EventEmitter();
    e.on('tick', () => {});
    const published = [];
    const stop = e.bus.on('published', (ev) => published.push(ev.topic));
    const seen = [];
    e.bus.subscribe('tick', (payload) => seen.push(payload));
    for (let i = 0; i < 3; i++) e.emit('tick', { i });
    e.emit('tick', 1, 2);
    assert.deepEqual(seen, [{ i: 0 }, { i: 1 }, { i: 2 }, [1, 2]]);
    assert.equal(e.bus.metrics().totals.published, 4);
    stop();
    assert.ok(published.length >= 1);
  });

  test('a closed bus detaches: the emitter goes on as a plain emitter and nothing throws', async () => {
    const e = new EventEmitter();
    const out = [];
    e.on('a', (v) => out.push(v));
    e.emit('a', 1);
    e.bus.close();
    e.emit('a', 2);
    e.on('a', (v) => out.push(`second ${v}`));
    e.emit('a', 3);
    e.removeAllListeners('a');
    assert.equal(e.emit('a', 4), false);
    await new Promise((resolve) => setImmediate(resolve));
    assert.deepEqual(out, [1, 2, 3, 'second 3']);
    assert.equal(e.bus.closed, true);
  });

  test('the bus is an EventBus of the package (one instance for import and require), exposable to the visualiser', () => {
    const e = new EventEmitter();
    assert.ok(e.bus instanceof EventBus);
    assert.equal(e.bus, e.bus);
    const stop = e.bus.expose('compat-test');
    assert.equal(typeof stop, 'function');
    stop();
  });
});
