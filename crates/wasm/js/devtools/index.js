// @ts-check
/**
 * `switchyard/devtools`: the Switchyard visualiser attached to a bus of this page, docked in the
 * page (bottom, right or floating) or in a popup window.
 *
 * The visualiser runs in an iframe (or the popup) loaded from the package's own files
 * (`web/devtools-app/`, fetched only when `openDevtools` runs; each referenced here with a literal
 * `new URL(…, import.meta.url)`, so bundlers such as Vite ship them), so the page's CSS cannot restyle
 * it and its CSS cannot restyle the page; the panel's own frame (toolbar, resize handles, the
 * collapsed button) lives in a shadow root for the same reason. It reads the bus through the
 * attach protocol (ATTACH_PROTOCOL.md) over a `MessagePort`: `bus.expose(port)`. While the panel
 * is collapsed or closed there is no viewer, so the bus pays nothing (trace ring off).
 *
 * @example
 * import { EventBus } from 'switchyard';
 * import { openDevtools } from 'switchyard/devtools';
 * const bus = new EventBus();
 * const close = openDevtools(bus, { position: 'right' });
 */

import { exposeToOrigins as exposeOrigins } from './origins.js';

/**
 * The visualiser's page, shipped next to this module's bundle (`web/devtools.js`) in the
 * package. Computed when asked: the CommonJS bundle for Node has no `import.meta.url`.
 */
const appPage = () => new URL('./devtools-app/index.html', import.meta.url);
/**
 * The visualiser's code, style and wasm, handed to its page when it asks (`ASSETS_ASK`). Each is
 * a literal `new URL` of `import.meta.url`, the pattern bundlers follow to copy a file into the
 * app's build and rewrite its URL (Vite, checked by tests/node/vite-devtools.test.mjs; webpack 5
 * and Parcel document the same); the page itself names no file, since a bundler would copy it
 * without them.
 * @returns {{ js: string, wasm: string, css: string }}
 */
const appAssets = () => ({
  js: new URL('./devtools-app/visualiser.js', import.meta.url).href,
  wasm: new URL('./devtools-app/visualiser_bg.wasm', import.meta.url).href,
  css: new URL('./devtools-app/visualiser.css', import.meta.url).href,
});
/** `type` of the visualiser's request for its port, and of the reply that carries it. */
const READY = 'switchyard:devtools-ready';
const PORT = 'switchyard:devtools-port';
/** `type` of the visualiser page's request for its files' URLs, and of the reply. */
const ASSETS_ASK = 'switchyard:devtools-assets?';
const ASSETS = 'switchyard:devtools-assets';
/** Protocol version (ATTACH_PROTOCOL.md). */
const VERSION = 1;
/** Default `localStorage` key for the remembered layout. */
const STORAGE_KEY = 'switchyard:devtools';
const MODES = ['dock', 'window'];
const POSITIONS = ['bottom', 'right', 'floating'];
/** Smallest panel size in px, and the toolbar's height. */
const MIN = 160;
const BAR = 26;

/**
 * @typedef {'bottom' | 'right' | 'floating'} Position
 * @typedef {{ x: number, y: number, width: number, height: number }} Rect
 * @typedef {{ position: Position, collapsed: boolean, height: number, width: number, floating: Rect }} Layout
 * @typedef {{ expose(target: MessagePort): () => void }} ExposableBus
 */

/**
 * Shows the visualiser attached to `bus`. Returns `close()`, which removes every node, listener
 * and timer this call added (and closes its popup), and stops the bus's exposure.
 *
 * @param {ExposableBus} bus an `EventBus` of `switchyard`
 * @param {import('../devtools.d.ts').DevtoolsOptions} [options]
 * @returns {() => void}
 */
export function openDevtools(bus, options = {}) {
  if (bus === null || typeof bus !== 'object' || typeof bus.expose !== 'function') {
    throw new TypeError('openDevtools(bus): `bus` must be an EventBus of switchyard');
  }
  if (typeof document === 'undefined' || typeof window === 'undefined') {
    throw errorOf(bus, 'E_INVALID_OPTION', 'openDevtools(): needs a browser page (document and window)');
  }
  const fail = (/** @type {string} */ message) => {
    throw errorOf(bus, 'E_INVALID_OPTION', `openDevtools(): ${message}`);
  };
  if (options === null || typeof options !== 'object') fail('options must be an object');
  const mode = options.mode ?? 'dock';
  if (!MODES.includes(mode)) fail(`option \`mode\` must be 'dock' or 'window', got ${String(mode)}`);
  const position = options.position;
  if (position !== undefined && !POSITIONS.includes(position)) {
    fail(`option \`position\` must be 'bottom', 'right' or 'floating', got ${String(position)}`);
  }
  const storageKey = options.storageKey ?? STORAGE_KEY;
  if (typeof storageKey !== 'string' || storageKey === '') fail('option `storageKey` must be a non-empty string');
  let appUrl;
  try {
    appUrl = new URL(options.appUrl ?? appPage(), document.baseURI);
  } catch {
    fail('option `appUrl` must be a URL');
    throw new Error('unreachable');
  }
  appUrl.searchParams.set('devtools', '1');

  // A page of the user's own (`appUrl`) loads its own files: it is told nothing.
  const assets = options.appUrl === undefined ? appAssets() : null;
  const session = new Session(bus, appUrl, assets, storageKey, position, options.open !== false && mode === 'dock');
  if (mode === 'window') session.popOut();
  return () => session.close();
}

/**
 * Exposes `bus` as `name` (as `bus.expose(name)` does: other same-origin tabs) and to visualisers
 * served from the `allowOrigins` (e.g. the one `cargo xtask demo` serves), over
 * `window.postMessage` with a window one of the two pages opened; any other origin is sent
 * nothing and the console says why (ATTACH_PROTOCOL.md, "Another origin"). Returns `stop()`.
 *
 * @example
 * const stop = exposeToOrigins(bus, 'shop', { allowOrigins: ['http://127.0.0.1:8080'] });
 *
 * @param {import('./origins.js').ExposingBus} bus an `EventBus` of `switchyard`
 * @param {string} name the exposed name (as `bus.expose(name)`)
 * @param {import('../devtools.d.ts').ExposeToOriginsOptions} options
 * @returns {() => void}
 */
export function exposeToOrigins(bus, name, options) {
  if (bus === null || typeof bus !== 'object' || typeof bus.expose !== 'function') {
    throw new TypeError('exposeToOrigins(bus): `bus` must be an EventBus of switchyard');
  }
  return exposeOrigins(bus, name, options, (code, message) => errorOf(/** @type {ExposableBus} */ (bus), code, message));
}

/**
 * A `SwitchyardError` of the bus's own package instance (so `instanceof` holds for the app): an
 * `expose` with an invalid target throws one and changes nothing.
 * @param {ExposableBus} bus
 * @param {string} code
 * @param {string} message
 */
function errorOf(bus, code, message) {
  try {
    bus.expose(/** @type {any} */ (0));
  } catch (error) {
    const Class = /** @type {any} */ (error)?.constructor;
    if (typeof Class === 'function' && Class.name === 'SwitchyardError') return new Class(code, message);
  }
  const error = /** @type {Error & { code: string }} */ (new Error(message));
  error.name = 'SwitchyardError';
  error.code = code;
  return error;
}

/** The layout remembered under `key`, with defaults for what is missing or unreadable. */
function loadLayout(/** @type {string} */ key) {
  /** @type {Layout} */
  const layout = {
    position: 'bottom',
    collapsed: false,
    // Half the window (360 px of a 1280×720 laptop screen, where the visualiser lays its panes
    // side by side), at most 420.
    height: Math.round(Math.min(420, Math.max(MIN, window.innerHeight * 0.5))),
    width: Math.round(Math.min(640, Math.max(MIN * 2, window.innerWidth * 0.45))),
    floating: { x: 40, y: 40, width: Math.min(960, window.innerWidth - 80), height: Math.min(560, window.innerHeight - 80) },
  };
  try {
    const saved = JSON.parse(window.localStorage.getItem(key) ?? 'null');
    if (saved && typeof saved === 'object') {
      if (POSITIONS.includes(saved.position)) layout.position = saved.position;
      if (typeof saved.collapsed === 'boolean') layout.collapsed = saved.collapsed;
      if (Number.isFinite(saved.height)) layout.height = saved.height;
      if (Number.isFinite(saved.width)) layout.width = saved.width;
      const f = saved.floating;
      if (f && ['x', 'y', 'width', 'height'].every((k) => Number.isFinite(f[k]))) layout.floating = { x: f.x, y: f.y, width: f.width, height: f.height };
    }
  } catch {
    // No storage (privacy mode) or unreadable JSON: the defaults.
  }
  return layout;
}

const STYLE = `
:host { all: initial; }
.panel { position: fixed; z-index: 2147483646; display: flex; flex-direction: column; background: #0f1115;
  box-shadow: 0 0 0 1px rgba(127,127,127,.35), 0 6px 24px rgba(0,0,0,.35); color: #d7dae0;
  font: 12px/1.2 system-ui, -apple-system, "Segoe UI", sans-serif; }
.panel[data-position=bottom] { left: 0; right: 0; bottom: 0; }
.panel[data-position=right] { top: 0; right: 0; bottom: 0; }
.panel[data-position=floating] { border-radius: 8px; overflow: hidden; }
.bar { height: ${BAR}px; flex: none; display: flex; align-items: center; gap: 2px; padding: 0 4px 0 10px;
  background: #181b22; border-bottom: 1px solid #2a2f3a; user-select: none; }
.panel[data-position=floating] .bar { cursor: move; }
.title { flex: 1; font-weight: 600; letter-spacing: .02em; white-space: nowrap; overflow: hidden; text-overflow: ellipsis; }
.title small { font-weight: 400; opacity: .6; margin-left: 6px; }
button { all: unset; box-sizing: border-box; height: 20px; min-width: 22px; padding: 0 5px; border-radius: 4px; cursor: pointer;
  display: inline-flex; align-items: center; justify-content: center; color: #aeb4bf; font: 13px/1 system-ui, sans-serif; }
button:hover { background: #2a2f3a; color: #fff; }
button:focus-visible { outline: 2px solid #5b9cff; }
button[aria-pressed=true] { background: #26324a; color: #8fb8ff; }
iframe { flex: 1; width: 100%; border: 0; display: block; background: #0f1115; color-scheme: normal; }
.grip { position: absolute; z-index: 1; }
.panel[data-position=bottom] .grip { left: 0; right: 0; top: -3px; height: 7px; cursor: ns-resize; }
.panel[data-position=right] .grip { top: 0; bottom: 0; left: -3px; width: 7px; cursor: ew-resize; }
.panel[data-position=floating] .grip { right: 0; bottom: 0; width: 14px; height: 14px; cursor: nwse-resize;
  background: linear-gradient(135deg, transparent 50%, #4a5263 50%, #4a5263 60%, transparent 60%, transparent 70%, #4a5263 70%, #4a5263 80%, transparent 80%); }
.dragging iframe { pointer-events: none; }
.pill { position: fixed; z-index: 2147483646; right: 16px; bottom: 16px; height: 32px; padding: 0 12px 0 10px; gap: 7px;
  border-radius: 16px; background: #181b22; color: #d7dae0; box-shadow: 0 0 0 1px rgba(127,127,127,.4), 0 4px 14px rgba(0,0,0,.35);
  font: 600 12px/1 system-ui, sans-serif; }
.pill:hover { background: #222733; color: #fff; }
.dot { width: 9px; height: 9px; border-radius: 50%; background: #3fb950; box-shadow: 0 0 0 3px rgba(63,185,80,.2); }
[hidden] { display: none !important; }
`;

/** One `openDevtools` call: its nodes, listeners, timers, viewer and exposure. */
class Session {
  /**
   * @param {ExposableBus} bus
   * @param {URL} appUrl
   * @param {{ js: string, wasm: string, css: string } | null} assets the URLs the page asks for
   *   (`null`: it loads the files next to it)
   * @param {string} storageKey
   * @param {Position | undefined} position
   * @param {boolean} open
   */
  constructor(bus, appUrl, assets, storageKey, position, open) {
    this.bus = bus;
    this.appUrl = appUrl;
    this.assets = assets;
    this.storageKey = storageKey;
    this.layout = loadLayout(storageKey);
    if (position !== undefined) this.layout.position = position;
    if (!open) this.layout.collapsed = true;
    /** @type {HTMLIFrameElement | null} the docked visualiser */
    this.frame = null;
    /** @type {Window | null} the window the visualiser runs in (iframe or popup) */
    this.viewer = null;
    /** @type {(() => void) | null} stops the bus's exposure to `viewer` */
    this.stopExposure = null;
    /** @type {string | null} the viewer id the current port was handed to */
    this.handedTo = null;
    /** @type {Window | null} */
    this.popup = null;
    /** @type {ReturnType<typeof setInterval> | null} watches the popup for closing */
    this.popupWatch = null;
    this.closed = false;

    this.onMessage = this.onMessage.bind(this);
    this.onResize = () => this.place();
    window.addEventListener('message', this.onMessage);
    window.addEventListener('resize', this.onResize);

    this.host = document.createElement('switchyard-devtools');
    this.host.setAttribute('style', 'all: initial !important; display: contents !important;');
    const root = this.host.attachShadow({ mode: 'open' });
    const style = document.createElement('style');
    style.textContent = STYLE;
    root.append(style);

    this.panel = el('div', { class: 'panel', part: 'panel', role: 'region', 'aria-label': 'Switchyard devtools' });
    const grip = el('div', { class: 'grip', title: 'Drag to resize' });
    const bar = el('div', { class: 'bar' });
    const title = el('div', { class: 'title' }, 'Switchyard');
    title.append(el('small', {}, 'devtools'));
    /** @type {Record<string, HTMLButtonElement>} */
    this.buttons = {
      bottom: button('⬓', 'Dock to the bottom', () => this.setPosition('bottom')),
      right: button('◨', 'Dock to the right', () => this.setPosition('right')),
      floating: button('❐', 'Float', () => this.setPosition('floating')),
      window: button('↗', 'Open in a window', () => this.popOut()),
      collapse: button('—', 'Collapse to a button', () => this.setCollapsed(true)),
    };
    bar.append(title, ...Object.values(this.buttons));
    this.panel.append(grip, bar);
    this.pill = /** @type {HTMLButtonElement} */ (el('button', { class: 'pill', title: 'Open the Switchyard devtools', 'aria-label': 'Open the Switchyard devtools' }));
    this.pill.append(el('span', { class: 'dot' }), 'Switchyard');
    this.pill.addEventListener('click', () => this.setCollapsed(false));
    root.append(this.panel, this.pill);
    const layout = () => this.layout;
    dragger(grip, this.panel, layout, (dx, dy, start) => this.resizeBy(dx, dy, start), () => this.save());
    dragger(bar, this.panel, layout, (dx, dy, start) => this.moveBy(dx, dy, start), () => this.save());
    (document.body ?? document.documentElement).append(this.host);
    this.render();
  }

  /** Shows the panel or the button as the layout says, creating or removing the iframe. */
  render() {
    const inPopup = this.popup !== null;
    const collapsed = this.layout.collapsed || inPopup;
    this.panel.hidden = collapsed;
    this.pill.hidden = !collapsed;
    if (this.pill.lastChild) this.pill.lastChild.textContent = inPopup ? 'Switchyard (in a window)' : 'Switchyard';
    if (collapsed) {
      // No viewer while collapsed: the bus pays nothing.
      if (!inPopup) this.detach();
      this.frame?.remove();
      this.frame = null;
      return;
    }
    for (const p of POSITIONS) this.buttons[p].setAttribute('aria-pressed', String(p === this.layout.position));
    this.panel.dataset.position = this.layout.position;
    this.place();
    if (!this.frame) {
      this.frame = /** @type {HTMLIFrameElement} */ (el('iframe', { title: 'Switchyard devtools', src: this.appUrl.href }));
      this.panel.append(this.frame);
      this.viewer = this.frame.contentWindow;
    }
  }

  /** Sizes the panel for its position, kept inside the window. */
  place() {
    const { layout, panel } = this;
    const w = window.innerWidth;
    const h = window.innerHeight;
    const s = panel.style;
    s.left = s.top = s.width = s.height = '';
    if (layout.position === 'bottom') {
      layout.height = clamp(layout.height, MIN, Math.max(MIN, h - 40));
      s.height = `${layout.height}px`;
    } else if (layout.position === 'right') {
      layout.width = clamp(layout.width, MIN * 2, Math.max(MIN * 2, w - 40));
      s.width = `${layout.width}px`;
    } else {
      const f = layout.floating;
      f.width = clamp(f.width, MIN * 2, Math.max(MIN * 2, w));
      f.height = clamp(f.height, MIN, Math.max(MIN, h));
      f.x = clamp(f.x, 0, Math.max(0, w - f.width));
      f.y = clamp(f.y, 0, Math.max(0, h - f.height));
      Object.assign(s, { left: `${f.x}px`, top: `${f.y}px`, width: `${f.width}px`, height: `${f.height}px` });
    }
  }

  /** @param {number} dx @param {number} dy @param {Layout} start */
  resizeBy(dx, dy, start) {
    const l = this.layout;
    if (l.position === 'bottom') l.height = start.height - dy;
    else if (l.position === 'right') l.width = start.width - dx;
    else l.floating = { ...l.floating, width: start.floating.width + dx, height: start.floating.height + dy };
    this.place();
  }

  /** @param {number} dx @param {number} dy @param {Layout} start */
  moveBy(dx, dy, start) {
    if (this.layout.position !== 'floating') return;
    this.layout.floating = { ...this.layout.floating, x: start.floating.x + dx, y: start.floating.y + dy };
    this.place();
  }

  /** @param {Position} position */
  setPosition(position) {
    this.layout.position = position;
    this.save();
    this.render();
  }

  /** @param {boolean} collapsed */
  setCollapsed(collapsed) {
    if (!collapsed && this.popup) {
      this.popup.focus();
      return;
    }
    this.layout.collapsed = collapsed;
    this.save();
    this.render();
  }

  /** Moves the visualiser into a popup window of the app's origin (the panel collapses). */
  popOut() {
    if (this.popup && !this.popup.closed) {
      this.popup.focus();
      return;
    }
    const width = Math.min(1280, screen.availWidth);
    const height = Math.min(820, screen.availHeight);
    const popup = window.open(this.appUrl.href, '_blank', `popup,width=${width},height=${height}`);
    if (!popup) {
      console.warn('switchyard/devtools: the popup was blocked; showing the docked panel instead');
      this.layout.collapsed = false;
      this.render();
      return;
    }
    this.detach();
    this.frame?.remove();
    this.frame = null;
    this.popup = popup;
    this.viewer = popup;
    this.popupWatch = setInterval(() => {
      if (popup.closed) this.popupClosed();
    }, 500);
    this.render();
  }

  popupClosed() {
    if (this.popupWatch !== null) clearInterval(this.popupWatch);
    this.popupWatch = null;
    this.popup = null;
    this.viewer = null;
    this.detach();
    this.layout.collapsed = true;
    this.render();
  }

  /** Stops the bus's exposure to the current viewer (nothing when there is none). */
  detach() {
    const stop = this.stopExposure;
    this.stopExposure = null;
    if (stop) stop();
  }

  /**
   * The visualiser's page asks where its files are, then the visualiser asks for its port:
   * answered only for the window this session created, at the app's origin, the port once per
   * viewer id.
   * @param {MessageEvent} event
   */
  onMessage(event) {
    const data = event.data;
    if (this.closed || event.source === null || event.source !== this.viewer) return;
    if (event.origin !== this.appUrl.origin || data === null || typeof data !== 'object') return;
    if (data.type === ASSETS_ASK && data.v === VERSION) {
      /** @type {Window} */ (event.source).postMessage({ v: VERSION, type: ASSETS, assets: this.assets }, this.appUrl.origin);
      return;
    }
    if (data.type !== READY || data.v !== VERSION || typeof data.viewer !== 'string') return;
    // One port per viewer: requests still in flight when it arrived are repeats. A new viewer
    // id (the visualiser reloaded) gets a fresh port.
    if (data.viewer === this.handedTo) return;
    this.handedTo = data.viewer;
    this.detach();
    const channel = new MessageChannel();
    try {
      this.stopExposure = this.bus.expose(channel.port1);
    } catch (error) {
      // A closed bus: the panel stays on "waiting" rather than throwing out of a listener.
      console.warn('switchyard/devtools: could not expose the bus:', error);
      channel.port1.close();
      channel.port2.close();
      return;
    }
    /** @type {Window} */ (event.source).postMessage({ v: VERSION, type: PORT }, this.appUrl.origin, [channel.port2]);
  }

  save() {
    try {
      window.localStorage.setItem(this.storageKey, JSON.stringify(this.layout));
    } catch {
      // No storage: the layout is not remembered.
    }
  }

  /** Removes every node, listener and timer, closes the popup, stops the exposure. */
  close() {
    if (this.closed) return;
    this.closed = true;
    window.removeEventListener('message', this.onMessage);
    window.removeEventListener('resize', this.onResize);
    if (this.popupWatch !== null) clearInterval(this.popupWatch);
    this.popupWatch = null;
    this.detach();
    if (this.popup && !this.popup.closed) this.popup.close();
    this.popup = null;
    this.viewer = null;
    this.frame = null;
    this.host.remove();
  }
}

/**
 * @param {string} tag
 * @param {Record<string, string>} attributes
 * @param {string} [text]
 * @returns {HTMLElement}
 */
function el(tag, attributes, text) {
  const node = document.createElement(tag);
  for (const [k, v] of Object.entries(attributes)) node.setAttribute(k, v);
  if (text !== undefined) node.textContent = text;
  return node;
}

/** @param {string} label @param {string} title @param {() => void} action */
function button(label, title, action) {
  const node = /** @type {HTMLButtonElement} */ (el('button', { title, 'aria-label': title }, label));
  node.addEventListener('click', action);
  return node;
}

/** @param {number} value @param {number} low @param {number} high */
function clamp(value, low, high) {
  return Math.min(high, Math.max(low, Math.round(value)));
}

/**
 * Pointer drags on `handle` (not on its buttons): `move(dx, dy, layoutAtStart)` while dragging,
 * `done()` after. The iframe ignores the pointer meanwhile (class `dragging` on `panel`).
 * @param {HTMLElement} handle
 * @param {HTMLElement} panel
 * @param {() => Layout} layout
 * @param {(dx: number, dy: number, start: Layout) => void} move
 * @param {() => void} done
 */
function dragger(handle, panel, layout, move, done) {
  /** @type {{ x: number, y: number, id: number, layout: Layout } | null} */
  let drag = null;
  handle.addEventListener('pointerdown', (event) => {
    if (event.button !== 0 || (event.target instanceof HTMLElement && event.target.closest('button'))) return;
    drag = { x: event.clientX, y: event.clientY, id: event.pointerId, layout: structuredClone(layout()) };
    handle.setPointerCapture(event.pointerId);
    panel.classList.add('dragging');
    event.preventDefault();
  });
  handle.addEventListener('pointermove', (event) => {
    if (drag && event.pointerId === drag.id) move(event.clientX - drag.x, event.clientY - drag.y, drag.layout);
  });
  const end = (/** @type {PointerEvent} */ event) => {
    if (!drag || event.pointerId !== drag.id) return;
    drag = null;
    panel.classList.remove('dragging');
    done();
  };
  handle.addEventListener('pointerup', end);
  handle.addEventListener('pointercancel', end);
}
