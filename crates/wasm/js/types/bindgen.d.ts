// What the modules import from wasm-bindgen's `--target web` output (`switchyard.js`), which
// `cargo xtask pack` generates and esbuild aliases as `switchyard-bindgen`. The classes and
// functions are typed in src/bindings.js.
declare module 'switchyard-bindgen' {
  /** Instantiates the module asynchronously (browsers). */
  export default function init(input: { module_or_path: URL | string | Response | BufferSource }): Promise<unknown>;
  /** Instantiates the module synchronously (Node). */
  export function initSync(input: { module: BufferSource | WebAssembly.Module }): unknown;
  export const EventBus: import('../src/bindings.js').RawBusClass;
  export function __registerHooks(hooks: object): void;
  export function __inlineMemory(): WebAssembly.Memory;
  export function __readOptions(method: string, options: unknown): void;
}
