//! Circuit breaker state machine for one subscription.
//!
//! Closed → (N consecutive failures, or a failure ratio over a window) → Open → (cooldown) →
//! HalfOpen (one delivery let through) → success: Closed / failure: Open again.
//! While open, messages stay queued: nothing fails and nothing is lost.
//!
//! ```text
//!            failures ≥ N, or ratio ≥ r over the last W outcomes
//!   Closed ───────────────────────────────────────────────────▶ Open { until: now + cooldown }
//!     ▲                                                          │  ▲
//!     │ trial succeeded                        poll(now ≥ until) │  │ trial failed
//!     │                                                          ▼  │
//!     └──────────────────────────────────────────────────────── HalfOpen (one trial)
//! ```
//!
//! The breaker is a pure state machine: it reads no clock (`now` is passed in) and reports
//! every state change as a [`Transition`].
//!
//! # Example
//!
//! ```
//! use core::time::Duration;
//! use switchyard_core::breaker::{Breaker, BreakerPolicy, BreakerState, Transition};
//! use switchyard_core::Instant;
//!
//! let policy = BreakerPolicy { failures: 2, cooldown: Duration::from_secs(1), failure_ratio: None };
//! policy.validate().unwrap();
//! let mut breaker = Breaker::new(policy);
//! let t0 = Instant::from_millis(0);
//!
//! assert_eq!(breaker.on_failure(t0), None);
//! assert_eq!(breaker.on_failure(t0), Some(Transition::Opened));
//! assert!(!breaker.allows());
//! assert_eq!(breaker.next_deadline(), Some(Instant::from_millis(1_000)));
//!
//! assert_eq!(breaker.poll(Instant::from_millis(999)), None);
//! assert_eq!(breaker.poll(Instant::from_millis(1_000)), Some(Transition::HalfOpened));
//! assert!(breaker.allows());
//! breaker.on_start(); // the one trial delivery
//! assert!(!breaker.allows());
//! assert_eq!(breaker.on_success(), Some(Transition::Closed));
//! assert_eq!(breaker.state(), BreakerState::Closed);
//! ```
//!
//! # How the bus uses this
//!
//! A subscription with a [`BreakerPolicy`] owns one [`Breaker`]. Before handing out a delivery
//! the bus checks [`Breaker::allows`] and calls [`Breaker::on_start`] when it does; while the
//! breaker refuses, the subscription's messages stay queued (backpressure applies). Outcomes
//! feed [`Breaker::on_success`] / [`Breaker::on_failure`] (a timeout is a failure; a filtered
//! item is neither). [`Breaker::next_deadline`] joins the bus's `poll_timeout`, and
//! `handle_timeout(now)` calls [`Breaker::poll`]. Every returned [`Transition`] is traced
//! (`circuit_opened`, `circuit_half_open`, `circuit_closed`) and `Opened` is counted in
//! `SubscriptionStats::breaker_opened`.

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
    ///
    /// * `failures` must be at least 1;
    /// * a failure ratio must be finite and within `(0, 1]`, over a window of 1 to
    ///   [`MAX_WINDOW`] outcomes.
    pub fn validate(&self) -> Result<(), ConfigError> {
        if self.failures == 0 {
            return Err(ConfigError::new("failures", "must be at least 1"));
        }
        if let Some((ratio, window)) = self.failure_ratio {
            if !ratio.is_finite() || ratio <= 0.0 || ratio > 1.0 {
                return Err(ConfigError::new(
                    "failure_ratio.ratio",
                    "must be within (0, 1]",
                ));
            }
            if window == 0 || window > MAX_WINDOW {
                return Err(ConfigError::new(
                    "failure_ratio.window",
                    "must be between 1 and 64 outcomes",
                ));
            }
        }
        Ok(())
    }
}

/// Most outcomes a failure-ratio window may span.
pub const MAX_WINDOW: u32 = 64;

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
    pub(crate) policy: BreakerPolicy,
    pub(crate) state: BreakerState,
    pub(crate) consecutive_failures: u32,
    /// Recent outcomes for the ratio window, as a bit ring (1 = failure), newest in bit 0.
    pub(crate) window_bits: u64,
    pub(crate) window_len: u32,
    pub(crate) trial_in_flight: bool,
}

impl Breaker {
    /// A closed breaker.
    ///
    /// An unvalidated policy never makes the breaker panic: `failures == 0` opens on the first
    /// failure, and a ratio window is clamped to [`MAX_WINDOW`] (a zero window disables it).
    pub fn new(policy: BreakerPolicy) -> Self {
        Breaker {
            policy,
            state: BreakerState::Closed,
            consecutive_failures: 0,
            window_bits: 0,
            window_len: 0,
            trial_in_flight: false,
        }
    }
    /// The policy this breaker follows.
    pub fn policy(&self) -> &BreakerPolicy {
        &self.policy
    }
    /// Current state.
    pub fn state(&self) -> BreakerState {
        self.state
    }
    /// Consecutive failures seen while closed.
    pub fn consecutive_failures(&self) -> u32 {
        self.consecutive_failures
    }
    /// Moves Open → HalfOpen when the cooldown has passed at `now`.
    pub fn poll(&mut self, now: Instant) -> Option<Transition> {
        match self.state {
            BreakerState::Open { until } if now >= until => {
                self.state = BreakerState::HalfOpen;
                self.trial_in_flight = false;
                Some(Transition::HalfOpened)
            }
            _ => None,
        }
    }
    /// Whether a delivery may start now (Closed, or HalfOpen with no trial in flight).
    /// Call [`Breaker::on_start`] when one does.
    pub fn allows(&self) -> bool {
        match self.state {
            BreakerState::Closed => true,
            BreakerState::HalfOpen => !self.trial_in_flight,
            BreakerState::Open { .. } => false,
        }
    }
    /// A delivery started (marks the half-open trial as taken).
    pub fn on_start(&mut self) {
        if self.state == BreakerState::HalfOpen {
            self.trial_in_flight = true;
        }
    }
    /// A delivery succeeded.
    ///
    /// Closed: resets the consecutive-failure count. HalfOpen: the trial succeeded, the
    /// breaker closes with a fresh window. Open: a delivery that started before the breaker
    /// opened finished late; it changes nothing.
    pub fn on_success(&mut self) -> Option<Transition> {
        match self.state {
            BreakerState::Closed => {
                self.consecutive_failures = 0;
                self.record(false);
                None
            }
            BreakerState::HalfOpen => {
                self.close();
                Some(Transition::Closed)
            }
            BreakerState::Open { .. } => None,
        }
    }
    /// A delivery failed at `now`.
    ///
    /// Closed: opens when the consecutive failures reach `failures`, or when the failure ratio
    /// over a full window reaches `ratio`. HalfOpen: the trial failed, the breaker opens again
    /// for another cooldown. Open: a late failure of an earlier delivery changes nothing.
    pub fn on_failure(&mut self, now: Instant) -> Option<Transition> {
        match self.state {
            BreakerState::Closed => {
                self.consecutive_failures = self.consecutive_failures.saturating_add(1);
                self.record(true);
                if self.consecutive_failures >= self.policy.failures || self.ratio_exceeded() {
                    self.open(now);
                    Some(Transition::Opened)
                } else {
                    None
                }
            }
            BreakerState::HalfOpen => {
                self.open(now);
                Some(Transition::Opened)
            }
            BreakerState::Open { .. } => None,
        }
    }
    /// When [`Breaker::poll`] will next change the state, if it will.
    pub fn next_deadline(&self) -> Option<Instant> {
        match self.state {
            BreakerState::Open { until } => Some(until),
            _ => None,
        }
    }

    /// The breaker as a snapshot restores it: its instants moved by `shift`, and no trial
    /// marked in flight (deliveries in flight are not persisted; theirs go back to the queue).
    #[cfg(feature = "snapshot")]
    pub(crate) fn restored(mut self, shift: impl Fn(Instant) -> Instant) -> Self {
        if let BreakerState::Open { until } = self.state {
            self.state = BreakerState::Open {
                until: shift(until),
            };
        }
        self.trial_in_flight = false;
        self
    }

    fn open(&mut self, now: Instant) {
        self.state = BreakerState::Open {
            until: now.saturating_add(self.policy.cooldown),
        };
        self.trial_in_flight = false;
    }

    fn close(&mut self) {
        self.state = BreakerState::Closed;
        self.consecutive_failures = 0;
        self.window_bits = 0;
        self.window_len = 0;
        self.trial_in_flight = false;
    }

    /// The ratio window size in use (0 = no ratio rule).
    fn window(&self) -> u32 {
        self.policy
            .failure_ratio
            .map_or(0, |(_, window)| window.min(MAX_WINDOW))
    }

    /// Pushes one outcome into the window ring (newest in bit 0).
    fn record(&mut self, failed: bool) {
        let window = self.window();
        if window == 0 {
            return;
        }
        self.window_bits = (self.window_bits << 1) | u64::from(failed);
        self.window_bits &= window_mask(window);
        self.window_len = self.window_len.saturating_add(1).min(window);
    }

    /// True when a full window holds at least `ratio` failures.
    fn ratio_exceeded(&self) -> bool {
        let Some((ratio, _)) = self.policy.failure_ratio else {
            return false;
        };
        let window = self.window();
        if window == 0 || self.window_len < window {
            return false;
        }
        let failures = self.window_bits.count_ones();
        f64::from(failures) >= ratio * f64::from(window)
    }
}

/// The low `window` bits set (`window` in 1..=64).
fn window_mask(window: u32) -> u64 {
    if window >= 64 {
        u64::MAX
    } else {
        (1u64 << window) - 1
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ms(millis: u64) -> Instant {
        Instant::from_millis(millis)
    }

    fn consecutive(failures: u32) -> Breaker {
        Breaker::new(BreakerPolicy {
            failures,
            cooldown: Duration::from_millis(500),
            failure_ratio: None,
        })
    }

    fn with_ratio(ratio: f64, window: u32) -> Breaker {
        Breaker::new(BreakerPolicy {
            failures: u32::MAX,
            cooldown: Duration::from_millis(500),
            failure_ratio: Some((ratio, window)),
        })
    }

    fn open_then_half_open(breaker: &mut Breaker) {
        while breaker.on_failure(ms(0)).is_none() {}
        assert_eq!(breaker.poll(ms(500)), Some(Transition::HalfOpened));
    }

    #[test]
    fn zero_failures_is_refused_naming_the_field() {
        let err = BreakerPolicy {
            failures: 0,
            cooldown: Duration::ZERO,
            failure_ratio: None,
        }
        .validate()
        .unwrap_err();
        assert_eq!(err.field, "failures");
    }

    #[test]
    fn ratio_outside_zero_exclusive_to_one_is_refused() {
        for ratio in [0.0, -0.5, 1.01, f64::NAN, f64::INFINITY] {
            let policy = BreakerPolicy {
                failures: 3,
                cooldown: Duration::ZERO,
                failure_ratio: Some((ratio, 10)),
            };
            assert_eq!(
                policy.validate().unwrap_err().field,
                "failure_ratio.ratio",
                "ratio {ratio}"
            );
        }
        let ok = BreakerPolicy {
            failures: 3,
            cooldown: Duration::ZERO,
            failure_ratio: Some((1.0, 64)),
        };
        assert_eq!(ok.validate(), Ok(()));
    }

    #[test]
    fn window_of_zero_or_over_64_is_refused() {
        for window in [0, 65, u32::MAX] {
            let policy = BreakerPolicy {
                failures: 3,
                cooldown: Duration::ZERO,
                failure_ratio: Some((0.5, window)),
            };
            assert_eq!(
                policy.validate().unwrap_err().field,
                "failure_ratio.window",
                "window {window}"
            );
        }
    }

    #[test]
    fn a_new_breaker_is_closed_and_allows_deliveries() {
        let b = consecutive(3);
        assert_eq!(b.state(), BreakerState::Closed);
        assert!(b.allows());
        assert_eq!(b.next_deadline(), None);
    }

    #[test]
    fn opens_after_n_consecutive_failures_until_the_cooldown_ends() {
        let mut b = consecutive(3);
        assert_eq!(b.on_failure(ms(10)), None);
        assert_eq!(b.on_failure(ms(20)), None);
        assert_eq!(b.on_failure(ms(30)), Some(Transition::Opened));
        assert_eq!(b.state(), BreakerState::Open { until: ms(530) });
        assert!(!b.allows());
        assert_eq!(b.next_deadline(), Some(ms(530)));
    }

    #[test]
    fn a_success_resets_the_consecutive_count() {
        let mut b = consecutive(3);
        b.on_failure(ms(0));
        b.on_failure(ms(0));
        assert_eq!(b.on_success(), None);
        assert_eq!(b.consecutive_failures(), 0);
        assert_eq!(b.on_failure(ms(0)), None);
        assert_eq!(b.on_failure(ms(0)), None);
        assert_eq!(b.state(), BreakerState::Closed);
    }

    #[test]
    fn poll_before_the_cooldown_changes_nothing() {
        let mut b = consecutive(1);
        b.on_failure(ms(0));
        assert_eq!(b.poll(ms(499)), None);
        assert!(!b.allows());
    }

    #[test]
    fn after_the_cooldown_exactly_one_trial_goes_through() {
        let mut b = consecutive(1);
        open_then_half_open(&mut b);
        assert_eq!(b.state(), BreakerState::HalfOpen);
        assert!(b.allows());
        b.on_start();
        assert!(!b.allows(), "a second delivery must wait for the trial");
        assert_eq!(b.next_deadline(), None);
    }

    #[test]
    fn a_successful_trial_closes_the_breaker() {
        let mut b = consecutive(2);
        open_then_half_open(&mut b);
        b.on_start();
        assert_eq!(b.on_success(), Some(Transition::Closed));
        assert_eq!(b.state(), BreakerState::Closed);
        assert!(b.allows());
        assert_eq!(b.on_failure(ms(600)), None, "closing starts a fresh count");
    }

    #[test]
    fn a_failed_trial_reopens_for_another_cooldown() {
        let mut b = consecutive(5);
        open_then_half_open(&mut b);
        b.on_start();
        assert_eq!(b.on_failure(ms(700)), Some(Transition::Opened));
        assert_eq!(b.state(), BreakerState::Open { until: ms(1_200) });
        assert_eq!(b.poll(ms(1_199)), None);
        assert_eq!(b.poll(ms(1_200)), Some(Transition::HalfOpened));
    }

    #[test]
    fn late_outcomes_while_open_change_nothing() {
        let mut b = consecutive(1);
        b.on_failure(ms(0));
        assert_eq!(b.on_failure(ms(100)), None);
        assert_eq!(b.on_success(), None);
        assert_eq!(b.state(), BreakerState::Open { until: ms(500) });
    }

    #[test]
    fn on_start_while_closed_does_not_block_later_deliveries() {
        let mut b = consecutive(1);
        b.on_start();
        b.on_start();
        assert!(b.allows());
    }

    #[test]
    fn ratio_opens_only_once_the_window_is_full() {
        let mut b = with_ratio(0.5, 4);
        assert_eq!(b.on_failure(ms(0)), None);
        assert_eq!(b.on_failure(ms(0)), None);
        assert_eq!(b.on_success(), None);
        // Window now full: F F S F -> 3/4 >= 0.5.
        assert_eq!(b.on_failure(ms(0)), Some(Transition::Opened));
    }

    #[test]
    fn ratio_counts_only_the_last_window_outcomes() {
        let mut b = with_ratio(0.5, 4);
        b.on_failure(ms(0)); // pushed out below
        for _ in 0..4 {
            assert_eq!(b.on_success(), None);
        }
        // Window: S S S F -> 1/4 < 0.5
        assert_eq!(b.on_failure(ms(0)), None);
        // Window: S S F F -> 2/4 >= 0.5
        assert_eq!(b.on_failure(ms(0)), Some(Transition::Opened));
    }

    #[test]
    fn ratio_below_threshold_keeps_it_closed() {
        let mut b = with_ratio(0.75, 8);
        for i in 0..100 {
            let t = if i % 2 == 0 {
                b.on_failure(ms(0))
            } else {
                b.on_success()
            };
            assert_eq!(t, None, "outcome {i}");
        }
    }

    #[test]
    fn a_full_64_outcome_window_works() {
        let mut b = with_ratio(1.0, 64);
        for _ in 0..63 {
            assert_eq!(b.on_failure(ms(0)), None);
        }
        assert_eq!(b.on_failure(ms(0)), Some(Transition::Opened));
    }

    #[test]
    fn cooldown_near_the_end_of_time_saturates() {
        let mut b = Breaker::new(BreakerPolicy {
            failures: 1,
            cooldown: Duration::MAX,
            failure_ratio: None,
        });
        assert_eq!(
            b.on_failure(Instant::from_micros(u64::MAX - 1)),
            Some(Transition::Opened)
        );
        assert_eq!(b.next_deadline(), Some(Instant::from_micros(u64::MAX)));
    }

    #[test]
    fn an_unvalidated_policy_never_panics() {
        let mut b = Breaker::new(BreakerPolicy {
            failures: 0,
            cooldown: Duration::ZERO,
            failure_ratio: Some((f64::NAN, u32::MAX)),
        });
        assert_eq!(b.on_failure(ms(0)), Some(Transition::Opened));
        assert_eq!(b.poll(ms(0)), Some(Transition::HalfOpened));
        let mut c = Breaker::new(BreakerPolicy {
            failures: 5,
            cooldown: Duration::ZERO,
            failure_ratio: Some((0.5, 0)),
        });
        for _ in 0..4 {
            assert_eq!(c.on_failure(ms(0)), None);
        }
    }
}
