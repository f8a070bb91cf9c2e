//! Retry policy: exponential backoff with jitter from a seeded PRNG.

use core::time::Duration;
use serde::{Deserialize, Serialize};

use crate::error::ConfigError;

/// Randomisation applied to a backoff delay.
#[derive(Copy, Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub enum Jitter {
    /// The exact exponential delay.
    #[default]
    None,
    /// Uniform in `[0, delay]` ("full jitter").
    Full,
    /// Uniform in `[delay * (1 - ratio), delay * (1 + ratio)]`, capped by `max_backoff`;
    /// `ratio` in `[0, 1]`.
    Proportional(f64),
}

/// When and how often a failed delivery is retried.
#[derive(Copy, Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct RetryPolicy {
    /// Total attempts including the first (1 = never retry; at least 1).
    pub max_attempts: u32,
    /// Delay before the first retry.
    pub backoff: Duration,
    /// Each further retry waits `factor` times longer (at least 1.0).
    pub factor: f64,
    /// Upper bound of any delay.
    pub max_backoff: Duration,
    /// Randomisation.
    pub jitter: Jitter,
}

impl Default for RetryPolicy {
    fn default() -> Self {
        RetryPolicy {
            max_attempts: 1,
            backoff: Duration::from_millis(100),
            factor: 2.0,
            max_backoff: Duration::from_secs(30),
            jitter: Jitter::None,
        }
    }
}

impl RetryPolicy {
    /// Checks every field; the error names the first bad one.
    pub fn validate(&self) -> Result<(), ConfigError> {
        todo!("H2")
    }

    /// Whether a delivery that failed on attempt `attempt` (1-based) may be tried again.
    pub fn allows_retry_after(&self, attempt: u32) -> bool {
        todo!("H2: {attempt}")
    }

    /// The delay before attempt `attempt + 1`, given that attempt `attempt` (1-based) failed:
    /// `backoff * factor^(attempt-1)`, capped at `max_backoff`, then jittered with `rng`.
    pub fn delay_after(&self, attempt: u32, rng: &mut Rng) -> Duration {
        todo!("H2: {attempt} {rng:?}")
    }
}

/// A small, seeded, deterministic PRNG (SplitMix64). Not for cryptography.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Rng {
    state: u64,
}

impl Rng {
    /// A generator seeded with `seed`.
    pub const fn new(seed: u64) -> Self {
        Rng { state: seed }
    }
    /// The next 64 random bits.
    pub fn next_u64(&mut self) -> u64 {
        todo!("H2")
    }
    /// Uniform in `[0, 1)`.
    pub fn next_f64(&mut self) -> f64 {
        todo!("H2")
    }
}
