//! Circuit breaker state machine for one subscription.
//!
//! Closed → (N consecutive failures, or a failure ratio over a window) → Open → (cooldown) →
//! HalfOpen (one delivery let through) → success: Closed / failure: Open again.
//! While open, messages stay queued: nothing fails and nothing is lost.

use core::time::Duration;
use serde::{Deserialize, Serialize};

use crate::error::ConfigError;
use crate::time::Instant;

/// When a subscription's breaker opens and how long it stays open.
#[derive(Copy, Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct BreakerPolicy {
    /// Consecutive failures that open the breaker (at least 1).
    pub failures: u32,
    /// How long it stays open before letting one delivery through.
    pub cooldown: Duration,
    /// Optionally also open when, over the last `window` outcomes (window ≥ 1), the
    /// fraction of failures is at least `ratio` (in `(0, 1]`).
    pub failure_ratio: Option<(f64, u32)>,
}

impl BreakerPolicy {
    /// Checks every field; the error names the first bad one.
    pub fn validate(&self) -> Result<(), ConfigError> {
        todo!("H2")
    }
}

/// A breaker's state.
#[derive(Copy, Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub enum BreakerState {
    /// Deliveries flow.
    #[default]
    Closed,
    /// No deliveries until `until`.
    Open {
        /// When it goes half-open.
        until: Instant,
    },
    /// One trial delivery may go through.
    HalfOpen,
}

/// A state change the bus must trace and count.
#[derive(Copy, Clone, Debug, PartialEq, Eq)]
pub enum Transition {
    /// The breaker opened (from closed or half-open).
    Opened,
    /// The cooldown ended; one trial delivery may go.
    HalfOpened,
    /// A trial succeeded; the breaker closed.
    Closed,
}

/// The breaker of one subscription.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Breaker {
    policy: BreakerPolicy,
    state: BreakerState,
    consecutive_failures: u32,
    /// Recent outcomes for the ratio window, as a bit ring (1 = failure), newest in bit 0.
    window_bits: u64,
    window_len: u32,
    trial_in_flight: bool,
}

impl Breaker {
    /// A closed breaker.
    pub fn new(policy: BreakerPolicy) -> Self {
        todo!("H2: {policy:?}")
    }
    /// Current state.
    pub fn state(&self) -> BreakerState {
        self.state
    }
    /// Moves Open → HalfOpen when the cooldown has passed at `now`.
    pub fn poll(&mut self, now: Instant) -> Option<Transition> {
        todo!("H2: {now:?}")
    }
    /// Whether a delivery may start now (Closed, or HalfOpen with no trial in flight).
    /// Call [`Breaker::on_start`] when one does.
    pub fn allows(&self) -> bool {
        todo!("H2")
    }
    /// A delivery started (marks the half-open trial as taken).
    pub fn on_start(&mut self) {
        todo!("H2")
    }
    /// A delivery succeeded.
    pub fn on_success(&mut self) -> Option<Transition> {
        todo!("H2")
    }
    /// A delivery failed at `now`.
    pub fn on_failure(&mut self, now: Instant) -> Option<Transition> {
        todo!("H2: {now:?}")
    }
    /// When [`Breaker::poll`] will next change the state, if it will.
    pub fn next_deadline(&self) -> Option<Instant> {
        match self.state {
            BreakerState::Open { until } => Some(until),
            _ => None,
        }
    }
}
