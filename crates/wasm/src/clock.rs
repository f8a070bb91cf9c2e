//! Time for the engine: `performance.now()`, or a manual clock moved only by `bus.advance(ms)`.
//!
//! The engine never reads a clock; every binding asks [`Clock::now`] and passes the instant in.
//! With the real clock the bus also keeps one `setTimeout` armed for the engine's next deadline
//! (see `timer.rs`); with the manual clock nothing is scheduled and `advance` fires deadlines in
//! order, so users' tests of retries and batching are deterministic and instant.

use switchyard_core::Instant;
use wasm_bindgen::prelude::*;

#[wasm_bindgen]
extern "C" {
    #[wasm_bindgen(js_namespace = performance, js_name = now)]
    fn performance_now() -> f64;
}

/// Where the bus's time comes from.
#[derive(Clone, Debug)]
pub enum Clock {
    /// `performance.now()`, in milliseconds since the page or process started.
    Real,
    /// Milliseconds moved only by `advance`.
    Manual {
        /// The current time in milliseconds.
        now_ms: f64,
    },
}

impl Clock {
    /// The current time in milliseconds.
    pub fn now_ms(&self) -> f64 {
        match self {
            Clock::Real => performance_now(),
            Clock::Manual { now_ms } => *now_ms,
        }
    }

    /// The current time as an engine instant.
    pub fn now(&self) -> Instant {
        Instant::from_millis_f64(self.now_ms())
    }

    /// Whether time moves only through `advance`.
    pub fn is_manual(&self) -> bool {
        matches!(self, Clock::Manual { .. })
    }

    /// Moves a manual clock to `to` (never backwards); a no-op for the real clock.
    pub fn set(&mut self, to: Instant) {
        if let Clock::Manual { now_ms } = self {
            let to_ms = to.as_millis_f64();
            if to_ms > *now_ms {
                *now_ms = to_ms;
            }
        }
    }
}
