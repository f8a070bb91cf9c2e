// @ts-check
/**
 * The types of what wasm-bindgen generates from `crates/wasm/src` (`--target web`), as far as
 * the modules use it. Types only: this module has no code.
 */

/**
 * The raw `EventBus` class of the bindings (before `install` wraps its methods).
 * @typedef {{
 *   new (options?: unknown): RawBus,
 *   prototype: any,
 *   restore?: (...args: any[]) => RawBus,
 * }} RawBusClass
 */

/**
 * A bus as the modules call it (the `__` methods are the package's internals).
 * @typedef {{
 *   __wbg_ptr: number,
 *   publish(topic: unknown, payload?: unknown, options?: unknown): unknown,
 *   close(): void,
 *   free(): void,
 *   subscribe(pattern: unknown, handler: unknown, options?: unknown): any,
 *   __inlineCell(): number,
 *   __inlineRoute(topic: string): [number, number, number, Function[]] | null,
 *   __inlineRecord(pairs: number, at: number): void,
 *   __inlineEnter(pairs: number, at: number, running: number, payload: unknown): void,
 *   __inlineOutcome(outcome: number, value: unknown): void,
 *   __inlineExit(): void,
 *   __setTimer(ms: number, callback: () => void): number,
 *   __clearTimer(timer: number): void,
 *   [key: string]: any,
 * }} RawBus
 */

/**
 * The module wasm-bindgen generates, once instantiated.
 * @typedef {{
 *   EventBus: RawBusClass,
 *   __registerHooks(hooks: object): void,
 *   __seedHashes(high: number, low: number): void,
 *   __inlineMemory(): WebAssembly.Memory,
 *   __inlineBatch(): number,
 *   __readOptions(method: string, options: unknown): void,
 * }} Bindings
 */

export {};
