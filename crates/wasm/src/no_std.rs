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

/// The allocator `std` uses on `wasm32-unknown-unknown`.
#[global_allocator]
static ALLOCATOR: dlmalloc::GlobalDlmalloc = dlmalloc::GlobalDlmalloc;

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
