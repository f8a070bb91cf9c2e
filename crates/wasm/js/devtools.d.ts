/**
 * `switchyard/devtools`: the Switchyard visualiser attached to a bus of this page.
 *
 * ```ts
 * import { openDevtools } from 'switchyard/devtools';
 * const close = openDevtools(bus, { position: 'right' });
 * ```
 */

/** Where the docked panel sits. */
export type DevtoolsPosition = 'bottom' | 'right' | 'floating';

export interface DevtoolsOptions {
  /**
   * `'dock'` (default): a panel in the page, in an iframe; `'window'`: a popup window of the
   * same origin (browsers block popups opened outside a user gesture: the docked panel shows
   * instead, with a console warning).
   */
  mode?: 'dock' | 'window';
  /**
   * Where the panel docks: `'bottom'` (default), `'right'` or `'floating'`. Given, it wins over
   * the remembered position; otherwise the user's last choice is used.
   */
  position?: DevtoolsPosition;
  /** `false` opens collapsed to the small button (default `true`, or as last left). */
  open?: boolean;
  /**
   * Where the panel's position, size and collapsed state are remembered (`localStorage`);
   * default `'switchyard:devtools'`.
   */
  storageKey?: string;
  /**
   * The visualiser page, if you host the package's `web/devtools-app/` elsewhere (the page then
   * loads its files from next to it); default the copy next to this module
   * (`new URL('./devtools-app/index.html', import.meta.url)`), which loads the files this module
   * names (bundled with your app, they are your bundler's copies).
   */
  appUrl?: string | URL;
}

/** The part of an `EventBus` the devtools use. */
export interface DevtoolsBus {
  expose(target: MessagePort): () => void;
}

/**
 * Shows the visualiser attached to `bus`, docked in the page or in a popup. The visualiser's
 * files are fetched only now. Returns `close()`, which removes every node, listener and timer
 * this call added, closes its popup and stops the bus's exposure (the bus pays nothing again).
 * While the panel is collapsed to its button the bus pays nothing either.
 *
 * Throws `SwitchyardError` `E_INVALID_OPTION` for an unknown `mode` or `position`, and a
 * `TypeError` when `bus` is not an `EventBus`.
 */
export function openDevtools(bus: DevtoolsBus, options?: DevtoolsOptions): () => void;

/** `exposeToOrigins(bus, name, options)`. */
export interface ExposeToOriginsOptions {
  /**
   * Origins, written as `location.origin` writes them (`'http://127.0.0.1:8080'`: no path, no
   * trailing `/`, no `*`), whose visualisers may attach; at least one.
   */
  allowOrigins: readonly string[];
}

/**
 * Exposes `bus` as `name` (as `bus.expose(name)`: other same-origin tabs) and to visualisers
 * served from the listed other origins, over `window.postMessage` with a window one of the two
 * pages opened (the visualiser opens this page from its sidebar, or this page opens the
 * visualiser at `?attach=NAME`). Any other origin is sent nothing; the console says why.
 * Returns `stop()`, which removes its listener and every exposure it made.
 *
 * Throws `SwitchyardError` `E_INVALID_OPTION` for a bad `allowOrigins` or outside a browser page
 * (nothing exposed), and what `bus.expose(name)` throws for a bad name or a closed bus.
 */
export function exposeToOrigins(
  bus: { expose(target: string | MessagePort): () => void },
  name: string,
  options: ExposeToOriginsOptions,
): () => void;
