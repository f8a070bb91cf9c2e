//! Host-supplied time. The engine never reads a clock: every input carries `now`.

use core::time::Duration;
use serde::{Deserialize, Serialize};

/// A point in the host's time, in whole microseconds since an origin the host chooses
/// (for example `performance.timeOrigin`). Only differences between instants matter.
#[derive(
    Copy, Clone, Debug, Default, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize,
)]
pub struct Instant(u64);

impl Instant {
    /// The origin.
    pub const ZERO: Instant = Instant(0);

    /// An instant `micros` microseconds after the origin.
    pub const fn from_micros(micros: u64) -> Self {
        Instant(micros)
    }

    /// An instant `millis` milliseconds after the origin (saturating).
    pub const fn from_millis(millis: u64) -> Self {
        Instant(millis.saturating_mul(1000))
    }

    /// An instant from fractional milliseconds, as JavaScript's `performance.now()` gives them.
    /// Negative values and NaN map to the origin; values past `u64::MAX` µs saturate.
    pub fn from_millis_f64(millis: f64) -> Self {
        let micros = millis * 1000.0;
        if micros.is_nan() || micros <= 0.0 {
            Instant(0)
        } else if micros >= u64::MAX as f64 {
            Instant(u64::MAX)
        } else {
            Instant(micros as u64)
        }
    }

    /// Microseconds since the origin.
    pub const fn as_micros(self) -> u64 {
        self.0
    }

    /// Milliseconds since the origin, with fractions.
    pub fn as_millis_f64(self) -> f64 {
        self.0 as f64 / 1000.0
    }

    /// `self + duration`, saturating at the far future.
    pub fn saturating_add(self, duration: Duration) -> Self {
        let micros = u64::try_from(duration.as_micros()).unwrap_or(u64::MAX);
        Instant(self.0.saturating_add(micros))
    }

    /// Time from `earlier` to `self`, or zero if `earlier` is later.
    pub fn saturating_duration_since(self, earlier: Instant) -> Duration {
        Duration::from_micros(self.0.saturating_sub(earlier.0))
    }
}
