// `switchyard/compat` in a plain `<script type="module">` page in headless Chromium, loaded from the
// installed package through an import map (`switchyard` → web/index.js, `switchyard/compat` →
// web/compat.js): the EventEmitter and mitt behaviours of compat.test.mjs and
// compat-mitt.test.mjs, in a browser, where there is no `process` (the max-listeners warning goes
// to console.warn).

import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';

import { collectErrors, launchChromium, serveStatic } from './helpers/browser.mjs';
import { installDir } from './helpers/package.mjs';

const IMPORT_MAP = {
  imports: {
    switchyard: '/node_modules/switchyard/web/index.js',
    'switchyard/compat': '/node_modules/switchyard/web/compat.js',
  },
};

// Runs in the page; every entry of `result` is checked by the test below.
const SCRIPT = `
  import DefaultExport, { EventEmitter, mitt, once, errorMonitor } from 'switchyard/compat';
  import { EventBus, SwitchyardError } from 'switchyard';
  const result = {};
  const thrown = (fn) => { try { fn(); return 'no throw'; } catch (e) { return e; } };

  // Listeners, order, this, return value.
  {
    const e = new EventEmitter();
    const out = [];
    out.push(e.emit('a', 1));
    e.on('a', function (x, y) { out.push(['first', x, y, this === e]); });
    e.addListener('a', (...args) => out.push(['second', args.length]));
    out.push(e.emit('a', 'x', 'y'));
    result.basics = out;
  }
  // Removal during an emit does not affect it; a throw ends it and leaves emit.
  {
    const e = new EventEmitter();
    const out = [];
    const b = () => out.push('B');
    e.on('event', () => { out.push('A'); e.removeListener('event', b); e.on('event', () => out.push('late')); });
    e.on('event', b);
    e.emit('event'); e.emit('event');
    const boom = new Error('boom');
    e.on('x', () => { throw boom; });
    e.on('x', () => out.push('never'));
    out.push(thrown(() => e.emit('x')) === boom);
    result.removalAndThrow = out;
  }
  // once, prepend, rawListeners, listenerCount, eventNames with symbols.
  {
    const e = new EventEmitter();
    const out = [];
    const s = Symbol('s');
    e.on('foo', () => out.push('a'));
    e.prependListener('foo', () => out.push('b'));
    e.once('foo', () => out.push('once'));
    e.prependOnceListener('foo', () => out.push('p-once'));
    e.emit('foo'); e.emit('foo');
    const f = () => {};
    e.once(s, f);
    const [raw] = e.rawListeners(s);
    out.push(raw.listener === f, e.listeners(s)[0] === f, e.listenerCount(s, f));
    e.on('10', f).on('2', f);
    out.push(e.eventNames().map(String));
    raw();
    out.push(e.listenerCount(s));
    result.lists = out;
  }
  // newListener / removeListener events.
  {
    const e = new EventEmitter();
    const out = [];
    e.on('newListener', (name) => out.push(['new', name]));
    e.on('removeListener', (name) => out.push(['removed', name]));
    const f = () => {};
    e.on('a', f);
    e.off('a', f);
    e.removeAllListeners();
    result.lifecycle = out;
  }
  // 'error' semantics and errorMonitor.
  {
    const e = new EventEmitter();
    const out = [];
    const err = new Error('whoops');
    e.on(errorMonitor, (x) => out.push(['monitor', x.message ?? x]));
    out.push(thrown(() => e.emit('error', err)) === err);
    const other = thrown(() => new EventEmitter().emit('error', 'boom'));
    out.push(other.code, other.context, other.message);
    result.errors = out;
  }
  // Max listeners: a warning once per name, on console.warn (no process in a browser).
  {
    const warnings = [];
    const warn = console.warn;
    console.warn = (...args) => warnings.push(args.join(' '));
    try {
      const e = new EventEmitter();
      for (let i = 0; i < 12; i++) e.on('data', () => {});
      e.setMaxListeners(0);
      for (let i = 0; i < 12; i++) e.on('more', () => {});
    } finally {
      console.warn = warn;
    }
    result.warnings = warnings;
  }
  // Subclassing, default export, bad input, static once.
  {
    class Mine extends EventEmitter {}
    const m = new Mine();
    let self;
    m.on('x', function () { self = this; });
    m.emit('x');
    const bad = thrown(() => m.on('x', 42));
    const next = once(m, 'ready');
    m.emit('ready', 1, 2);
    result.classes = [self === m, m instanceof EventEmitter, DefaultExport === EventEmitter, bad instanceof SwitchyardError, bad.code, await next];
  }
  // The bus: registrations named after events, distinct topics, emits counted in the same task.
  {
    const e = new EventEmitter();
    const names = ['order.created', 'a b', '', '*', Symbol('x'), Symbol('x')];
    for (const n of names) e.on(n, () => {});
    for (const n of names) e.emit(n);
    for (let i = 0; i < 4; i++) e.emit('order.created', { i });
    const subs = e.bus.subscriptions();
    result.bus = {
      isBus: e.bus instanceof EventBus,
      names: subs.map((s) => s.name),
      distinctTopics: new Set(subs.map((s) => s.pattern)).size,
      delivered: subs.map((s) => s.counters.delivered),
      published: e.bus.metrics().totals.published,
    };
  }
  // mitt.
  {
    const emitter = mitt();
    const out = [];
    emitter.on('*', (type, ev) => out.push(['*', type, ev]));
    const onFoo = (ev) => out.push(['foo', ev]);
    emitter.on('foo', onFoo);
    emitter.emit('foo', 1);
    emitter.off('foo', onFoo);
    emitter.emit('foo', 2);
    emitter.on('bar', (ev) => out.push(['bar', ev]));
    emitter.off('bar');
    emitter.emit('bar', 3);
    emitter.all.clear();
    emitter.emit('foo', 4);
    out.push(emitter.all instanceof Map, emitter.all.size, emitter.bus.subscriptions().length, emitter.bus.metrics().totals.published);
    result.mitt = out;
  }
  window.result = result;
`;

const PAGE = `<!doctype html>
<html><head><meta charset="utf-8"><link rel="icon" href="data:,"><title>switchyard/compat</title>
<script type="importmap">${JSON.stringify(IMPORT_MAP)}</script></head>
<body><script type="module">${SCRIPT}</script></body></html>`;

let server;

before(async () => {
  server = await serveStatic(installDir(), { '/': PAGE });
});

after(() => server?.close());

describe('compat in a browser', () => {
  test('a module page imports switchyard/compat through an import map and the Node and mitt behaviours hold, with no console errors', async () => {
    const browser = await launchChromium();
    try {
      const page = await browser.context.newPage();
      const errors = collectErrors(page);
      await page.goto(`${server.origin}/`);
      await page.waitForFunction(() => window.result !== undefined, null, { timeout: 15_000 }).catch((e) => {
        throw new Error(`${e.message}; console errors: ${errors.join(' | ')}`);
      });
      const r = await page.evaluate(() => window.result);
      assert.deepEqual(r.basics, [false, ['first', 'x', 'y', true], ['second', 2], true]);
      assert.deepEqual(r.removalAndThrow, ['A', 'B', 'A', 'late', true]);
      assert.deepEqual(r.lists, ['p-once', 'b', 'a', 'once', 'b', 'a', true, true, 1, ['2', '10', 'foo', 'Symbol(s)'], 0]);
      assert.deepEqual(r.lifecycle, [['new', 'removeListener'], ['new', 'a'], ['removed', 'a'], ['removed', 'newListener']]);
      assert.deepEqual(r.errors, [['monitor', 'whoops'], true, 'ERR_UNHANDLED_ERROR', 'boom', "Unhandled error. ('boom')"]);
      assert.equal(r.warnings.length, 1, JSON.stringify(r.warnings));
      assert.match(r.warnings[0], /^MaxListenersExceededWarning: Possible EventEmitter memory leak detected\. 11 data listeners added to \[EventEmitter\]\. MaxListeners is 10\./);
      assert.deepEqual(r.classes, [true, true, true, true, 'E_INVALID_HANDLER', [1, 2]]);
      assert.deepEqual(r.bus, {
        isBus: true,
        names: ['order.created', 'a b', '', '*', 'Symbol(x)', 'Symbol(x)'],
        distinctTopics: 6,
        delivered: [5, 1, 1, 1, 1, 1],
        published: 10,
      });
      assert.deepEqual(r.mitt, [['foo', 1], ['*', 'foo', 1], ['*', 'foo', 2], ['*', 'bar', 3], true, 0, 0, 3]);
      assert.deepEqual(errors, []);
    } finally {
      await browser.close();
    }
  });
});
