//! # switchyard-wasm
//!
//! The JavaScript face of [`switchyard_core`], built into the npm package `switchyard`.
//!
//! The engine is sans-IO; this crate is its host in JavaScript: it keeps handlers (keyed by
//! subscription id), runs them when the engine hands out deliveries, reports outcomes (a
//! returned promise makes a delivery pending until it settles), feeds the engine time from
//! `performance.now()` or a manual clock, arms one `setTimeout` for the engine's next
//! deadline, reports garbage-collected owners through a `FinalizationRegistry`, turns trace
//! events into `bus.on()` lifecycle events, and speaks the visualiser's attach protocol over
//! `BroadcastChannel`.
//!
//! One module per job: [`bus`] (the `EventBus` class), [`subscription`] (`subscribe` and the
//! by-id methods behind the JavaScript `Subscription` class), [`shared`] (what the JavaScript
//! shares: error codes, option and trace names, the inline cell layout), [`publish`],
//! [`dispatch`] (the delivery loop), [`inline`] (the fast path), [`timer`] and [`clock`] (time),
//! [`events`] (`on`), [`expose`] (attach protocol), [`owners`] (leaks), [`snapshot`] (persist
//! and restore), [`views`] (the JSON shapes returned), [`options`]
//! (argument validation), [`hooks`] (object constructors registered by the JS entry),
//! [`handlers`] (the JS side of each subscription), [`state`] (what a bus shares, and the
//! no-borrow-across-JS rule) and [`error`] (`SwitchyardError`).
//!
//! ```no_run
//! use switchyard_wasm::EventBus;
//! use wasm_bindgen::{prelude::*, JsValue};
//!
//! let bus = EventBus::new(JsValue::UNDEFINED).unwrap();
//! let handler = Closure::<dyn FnMut(JsValue, JsValue)>::new(|payload: JsValue, _meta: JsValue| {
//!     let _ = payload;
//! });
//! let id = bus.subscribe_by_id("orders.*".into(), handler.as_ref().clone(), JsValue::UNDEFINED).unwrap();
//! bus.publish("orders.created".into(), JsValue::from(42), JsValue::UNDEFINED).unwrap();
//! bus.unsubscribe_by_id(id);
//! ```
//!
//! No Rust panic is reachable from JavaScript: every argument arrives as a `JsValue` and is
//! checked here; bad input becomes a `SwitchyardError` and changes nothing.
//!
//! # No `std` in the `.wasm`
//!
//! On `wasm32` the crate is `no_std` (with `alloc`) unless its `std` feature is on (the tests
//! turn it on, since `wasm-bindgen-test` links `std`). It then brings its own
//! [`#[panic_handler]`](panic), which traps at once like `panic = "abort"` did (std's handler
//! only formatted the message for a `stderr` that `wasm32-unknown-unknown` does not have),
//! Talc as the global allocator (smaller and faster than the dlmalloc std uses on this
//! target; see `no_std.rs`), and a
//! `thread_local!` for the single thread a non-`atomics` `.wasm` has. This keeps std's panic
//! machinery, the panic messages and their source locations, and the `core::fmt` they need out
//! of the package. A panic is still a bug: none is reachable from JavaScript.
#![cfg_attr(all(target_arch = "wasm32", not(any(test, feature = "std"))), no_std)]

extern crate alloc;

#[cfg(all(target_arch = "wasm32", not(any(test, feature = "std"))))]
#[macro_use]
mod no_std;

/// What `std`'s prelude adds to `core`'s, for the `no_std` build (every module imports it).
/// Not `format!`: messages are built with `error::concat` and `error::decimal`, so that the
/// `.wasm` links none of `core::fmt` (see docs/ARCHITECTURE.md "Where the bytes go").
mod prelude {
    pub use alloc::borrow::ToOwned;
    pub use alloc::boxed::Box;
    pub use alloc::string::{String, ToString};
    pub use alloc::vec::Vec;

    pub use crate::float::Float;
}

mod float {
    /// 2^52: from here on every `f64` is a whole number.
    const WHOLE: f64 = 4_503_599_627_370_496.0;

    /// The `f64` methods that `std` has and `core` (stable) lacks, for the `no_std` build; with
    /// `std` its inherent methods take precedence. Same results as `std`'s for every input,
    /// except that a zero result may have the other sign.
    #[allow(dead_code)] // shadowed by std's methods in the `std` build
    pub trait Float {
        /// The integer part, rounded toward zero.
        fn trunc(self) -> f64;
        /// `self - self.trunc()`.
        fn fract(self) -> f64;
        /// The nearest integer, halves away from zero.
        fn round(self) -> f64;
        /// The smallest integer not below `self`.
        fn ceil(self) -> f64;
    }

    impl Float for f64 {
        fn trunc(self) -> f64 {
            // Below 2^52 the value fits an i64 and the cast truncates; NaN, the infinities and
            // anything larger are returned as they are.
            if self.abs() < WHOLE {
                self as i64 as f64
            } else {
                self
            }
        }

        fn fract(self) -> f64 {
            self - Float::trunc(self)
        }

        fn round(self) -> f64 {
            let whole = Float::trunc(self);
            let rest = self - whole; // exact below 2^52
            if rest >= 0.5 {
                whole + 1.0
            } else if rest <= -0.5 {
                whole - 1.0
            } else {
                whole
            }
        }

        fn ceil(self) -> f64 {
            let whole = Float::trunc(self);
            if self > whole {
                whole + 1.0
            } else {
                whole
            }
        }
    }

    #[cfg(test)]
    mod tests {
        use super::Float;

        #[test]
        fn float_methods_agree_with_std_for_every_kind_of_input() {
            let mut inputs = vec![
                0.0,
                -0.0,
                0.5,
                -0.5,
                1.5,
                -1.5,
                2.5,
                0.49999999999999994,
                -0.49999999999999994,
                1e-300,
                123.456,
                -123.456,
                999.9999,
                4_503_599_627_370_495.5,
                4_503_599_627_370_496.0,
                9_007_199_254_740_993.0,
                1e300,
                -1e300,
                f64::MAX,
                f64::MIN,
                f64::EPSILON,
                f64::INFINITY,
                f64::NEG_INFINITY,
                f64::NAN,
            ];
            let mut x = 0.001_f64;
            while x < 1e18 {
                inputs.push(x);
                inputs.push(-x);
                x *= 1.37;
            }
            for x in inputs {
                let same = |ours: f64, std: f64| ours == std || (ours.is_nan() && std.is_nan());
                assert!(same(Float::trunc(x), x.trunc()), "trunc({x})");
                assert!(same(Float::fract(x), x.fract()), "fract({x})");
                assert!(same(Float::round(x), x.round()), "round({x})");
                assert!(same(Float::ceil(x), x.ceil()), "ceil({x})");
            }
        }
    }
}

pub mod bus;
pub mod clock;
pub mod dispatch;
pub mod error;
pub mod events;
pub mod expose;
pub mod handlers;
pub mod hooks;
pub mod inline;
pub mod options;
pub mod owners;
pub mod publish;
pub mod shared;
#[cfg(feature = "snapshot")]
pub mod snapshot;
pub mod stacks;
pub mod state;
pub mod subscription;
pub mod timer;
pub mod views;

pub use bus::EventBus;
pub use error::{ErrorCode, JsResult};
