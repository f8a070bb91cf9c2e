//! What `std` provided on `wasm32` and the `no_std` build provides itself (see the crate docs).

#[cfg(target_feature = "atomics")]
compile_error!(
    "the no_std build assumes a single-threaded .wasm (no `atomics`): build with the `std` feature"
);

/// Traps, as `panic = "abort"` did through `std`; no message is formatted (there is nowhere
/// to print it on `wasm32-unknown-unknown`).
#[panic_handler]
fn panic(_: &core::panic::PanicInfo<'_>) -> ! {
    core::arch::wasm32::unreachable()
}

/// Talc (`talc::wasm`), in place of the dlmalloc `std` uses on `wasm32-unknown-unknown`: 1.9 KB
/// gzip smaller (dlmalloc was 5.6 KB of the `.wasm`), and faster in Talc's WebAssembly
/// benchmarks; it may hold 10-15% more memory (its size bins favour speed). It grows the wasm
/// memory on demand and extends its one heap (claiming a new heap per growth instead saves
/// 0.06 KB and fragments more). `disable-realloc-in-place` (0.12 KB gzip): a `realloc` is
/// always allocate, copy, free, as a growing `Vec` mostly does anyway (measured with
/// `tests/bench/ab.mjs`, app-emit-3, app-features-3, app-cold, app-wildcard-1000: no change
/// beyond the noise).
#[global_allocator]
static ALLOCATOR: talc::wasm::WasmDynamicTalc = talc::wasm::new_wasm_dynamic_allocator();

/// A `static` that `thread_local!` declares: without `atomics` a `.wasm` instance runs one
/// thread, so one value is that thread's.
pub struct Local<T>(T);

// SAFETY: without the `atomics` target feature (checked above) there is one thread, so a
// `Local` is never shared between threads.
unsafe impl<T> Sync for Local<T> {}

impl<T> Local<T> {
    /// A thread-local initialised with `value`.
    pub const fn new(value: T) -> Self {
        Local(value)
    }

    /// Calls `f` with the value, like `std::thread::LocalKey::with`.
    pub fn with<R>(&'static self, f: impl FnOnce(&T) -> R) -> R {
        f(&self.0)
    }
}

/// `std::thread_local!` for `const`-initialised values, the only form the crate uses.
macro_rules! thread_local {
    ($($(#[$attr:meta])* $vis:vis static $name:ident: $t:ty = const { $init:expr };)*) => {
        $($(#[$attr])* $vis static $name: $crate::no_std::Local<$t> = $crate::no_std::Local::new($init);)*
    };
}
