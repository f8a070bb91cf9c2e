// The `switchyard/compat` cases (issue 15): the compat EventEmitter against eventemitter3, and the
// compat mitt against mitt, in the realistic case: three listeners with different code, and a
// fresh payload per emit. The goal: compat emit >= 0.8x its peer.
//
// Registered in cases.mjs (`addCompatCases`), so `cargo xtask bench` runs them in Node, Chromium
// and Firefox; `libs.switchyard.compat` is the `switchyard/compat` module (run.mjs's entry and
// browser.mjs import it), and without it no compat case is built.
//
// compat-ratio.mjs runs them alone for a quick Node measurement in one process.

/** Listeners per emitter in the compat cases. */
export const COMPAT_LISTENERS = 3;

/** Three listeners with different code (fresh functions per call), counting into `sink.n`. */
function distinctListeners(sink) {
  return [
    function onOrderCreated(p) {
      sink.n = (sink.n + 1) | 0;
      sink.compatAcc = ((sink.compatAcc ?? 0) + p.n) | 0;
    },
    function auditEveryEighth(p) {
      sink.n = (sink.n + 1) | 0;
      if ((p.n & 7) === 0) sink.compatAudit = ((sink.compatAudit ?? 0) ^ p.n) | 0;
    },
    function showBadge(p) {
      sink.n = (sink.n + 1) | 0;
      sink.compatLast = p.n;
    },
  ];
}

const noDispose = () => {};

/**
 * The compat cases as `[case, impl, make]`: `make()` returns `{ run(n), dispose() }`, where
 * `run(n)` emits `n` fresh payloads, each to `COMPAT_LISTENERS` listeners.
 */
export function compatCases(libs, sink) {
  const compat = libs.switchyard?.compat;
  const { EventEmitter3, mitt: peerMitt } = libs.peers;
  const cases = [
    [
      'compat-emit-3',
      'eventemitter3',
      () => {
        const ee = new EventEmitter3();
        for (const fn of distinctListeners(sink)) ee.on('orders.created', fn);
        return {
          run(n) {
            for (let i = 0; i < n; i++) ee.emit('orders.created', { n: i });
          },
          dispose: noDispose,
        };
      },
    ],
    [
      'compat-mitt-3',
      'mitt',
      () => {
        const emitter = peerMitt();
        for (const fn of distinctListeners(sink)) emitter.on('orders.created', fn);
        return {
          run(n) {
            for (let i = 0; i < n; i++) emitter.emit('orders.created', { n: i });
          },
          dispose: noDispose,
        };
      },
    ],
  ];
  if (compat?.EventEmitter) {
    cases.push(
      [
        'compat-emit-3',
        'switchyard/compat',
        () => {
          const ee = new compat.EventEmitter();
          for (const fn of distinctListeners(sink)) ee.on('orders.created', fn);
          return {
            run(n) {
              for (let i = 0; i < n; i++) ee.emit('orders.created', { n: i });
            },
            dispose: () => ee.bus.close(),
          };
        },
      ],
      [
        'compat-mitt-3',
        'switchyard/compat',
        () => {
          const emitter = compat.mitt();
          for (const fn of distinctListeners(sink)) emitter.on('orders.created', fn);
          return {
            run(n) {
              for (let i = 0; i < n; i++) emitter.emit('orders.created', { n: i });
            },
            dispose: () => emitter.bus.close(),
          };
        },
      ],
    );
  }
  return cases;
}

/** Adds the compat cases through the runner's `add(name, impl, make)`. */
export function addCompatCases(libs, add, sink) {
  for (const [name, impl, make] of compatCases(libs, sink)) add(name, impl, make);
}
