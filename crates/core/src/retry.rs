//! Retry policy: exponential backoff with jitter from a seeded PRNG.
//!
//! A failed delivery is retried while [`RetryPolicy::allows_retry_after`] says so; the wait
//! before the next attempt is [`RetryPolicy::delay_after`]:
//!
//! ```text
//! delay(n) = min(backoff * factor^(n-1), max_backoff)      n = the attempt that failed (1-based)
//! ```
//!
//! then randomised by the policy's [`Jitter`]. The randomness comes from [`Rng`], a seeded
//! SplitMix64 generator owned by the bus, so the same seed and the same sequence of failures
//! always give the same delays: tests stay deterministic and a recorded run can be replayed.
//!
//! All arithmetic saturates: a huge attempt number, factor or backoff yields `max_backoff`,
//! never an overflow or a panic.
//!
//! # Example
//!
//! ```
//! use core::time::Duration;
//! use switchyard_core::retry::{Jitter, RetryPolicy, Rng};
//!
//! let policy = RetryPolicy {
//!     max_attempts: 4,
//!     backoff: Duration::from_millis(100),
//!     factor: 2.0,
//!     max_backoff: Duration::from_millis(300),
//!     jitter: Jitter::None,
//! };
//! policy.validate().unwrap();
//!
//! let mut rng = Rng::new(42);
//! assert_eq!(policy.delay_after(1, &mut rng), Duration::from_millis(100));
//! assert_eq!(policy.delay_after(2, &mut rng), Duration::from_millis(200));
//! assert_eq!(policy.delay_after(3, &mut rng), Duration::from_millis(300)); // capped
//! assert!(policy.allows_retry_after(3));
//! assert!(!policy.allows_retry_after(4)); // the 4th attempt was the last
//! ```
//!
//! # How the bus uses this
//!
//! When a delivery fails on attempt `n`, the bus asks the subscription's policy
//! `allows_retry_after(n)`. If it does, the message is rescheduled at
//! `now + delay_after(n, &mut bus_rng)` with attempt `n + 1` (counted as `retried`, traced as
//! `retry_scheduled`); otherwise it is dead-lettered. Policies are validated with
//! [`RetryPolicy::validate`] when the bus or a subscription is created.

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
    ///
    /// * `max_attempts` must be at least 1;
    /// * `factor` must be finite and at least 1.0;
    /// * `max_backoff` must be at least `backoff`;
    /// * a [`Jitter::Proportional`] ratio must be finite and within `[0, 1]`.
    pub fn validate(&self) -> Result<(), ConfigError> {
        if self.max_attempts == 0 {
            return Err(ConfigError::new("max_attempts", "must be at least 1"));
        }
        if !self.factor.is_finite() {
            return Err(ConfigError::new("factor", "must be a finite number"));
        }
        if self.factor < 1.0 {
            return Err(ConfigError::new("factor", "must be at least 1"));
        }
        if self.max_backoff < self.backoff {
            return Err(ConfigError::new(
                "max_backoff",
                "must be at least `backoff`",
            ));
        }
        if let Jitter::Proportional(ratio) = self.jitter {
            if !ratio.is_finite() || !(0.0..=1.0).contains(&ratio) {
                return Err(ConfigError::new(
                    "jitter",
                    "proportional ratio must be within [0, 1]",
                ));
            }
        }
        Ok(())
    }

    /// Whether a delivery that failed on attempt `attempt` (1-based) may be tried again:
    /// true while `attempt < max_attempts`.
    pub fn allows_retry_after(&self, attempt: u32) -> bool {
        attempt < self.max_attempts
    }

    /// The delay before attempt `attempt + 1`, given that attempt `attempt` (1-based) failed:
    /// `backoff * factor^(attempt-1)`, capped at `max_backoff`, then jittered with `rng`.
    ///
    /// Attempt 0 is treated as attempt 1. The result never exceeds `max_backoff` (for a
    /// validated policy) and the computation never overflows: it saturates at the cap.
    /// `rng` is only advanced when the policy has jitter.
    pub fn delay_after(&self, attempt: u32, rng: &mut Rng) -> Duration {
        let cap = duration_to_nanos(self.max_backoff);
        let base = duration_to_nanos(self.backoff);
        let exponential = if base == 0.0 {
            0.0 // zero backoff stays zero however large the growth (avoids 0 * inf = NaN)
        } else {
            clamp_nanos(
                base * growth(self.factor, attempt.saturating_sub(1), cap),
                cap,
            )
        };
        let jittered = match self.jitter {
            Jitter::None => exponential,
            Jitter::Full => exponential * rng.next_f64(),
            Jitter::Proportional(ratio) => {
                let ratio = if ratio.is_nan() {
                    0.0
                } else {
                    ratio.clamp(0.0, 1.0)
                };
                let low = exponential * (1.0 - ratio);
                let high = exponential * (1.0 + ratio);
                low + (high - low) * rng.next_f64()
            }
        };
        let jittered = clamp_nanos(jittered, cap);
        if jittered >= cap {
            // Return the cap exactly: f64 cannot represent every nanosecond of a long Duration.
            self.max_backoff
        } else {
            nanos_to_duration(jittered)
        }
    }
}

/// `factor^exponent` by square-and-multiply (at most 32 rounds for a `u32` exponent; `core`
/// has no `powf`). Stops early once the product can only grow past `cap` nanoseconds, which
/// is all the caller needs to know.
fn growth(factor: f64, mut exponent: u32, cap: f64) -> f64 {
    let mut result = 1.0_f64;
    let mut square = factor;
    while exponent > 0 {
        if exponent & 1 == 1 {
            result *= square;
        }
        exponent >>= 1;
        if exponent > 0 {
            square *= square;
        }
        // For factor >= 1 both only grow from here: once past the cap (or infinite) we are done.
        if factor >= 1.0 && result > cap.max(1.0) {
            break;
        }
    }
    result
}

/// `value` clamped to `[0, cap]`; NaN (from an unvalidated policy) maps to `cap`.
fn clamp_nanos(value: f64, cap: f64) -> f64 {
    if value.is_nan() || value > cap {
        cap
    } else if value < 0.0 {
        0.0
    } else {
        value
    }
}

fn duration_to_nanos(duration: Duration) -> f64 {
    duration.as_nanos() as f64
}

fn nanos_to_duration(nanos: f64) -> Duration {
    // `as` saturates for out-of-range floats; the value is already within [0, cap].
    let whole = nanos as u128;
    let (secs, subsec) = div_nanos(whole);
    Duration::new(secs, subsec)
}

/// `(nanos / 1e9` saturated to `u64`, `nanos % 1e9)`, by short division in 32-bit limbs: the
/// same as dividing the `u128`, without linking a 128-bit division (`__udivti3`, 1 KB of wasm).
fn div_nanos(nanos: u128) -> (u64, u32) {
    const DIVISOR: u64 = 1_000_000_000;
    let mut quotient: u128 = 0;
    let mut rest: u64 = 0;
    for shift in [96u32, 64, 32, 0] {
        // `rest < DIVISOR < 2^32`, so `current` fits in a u64.
        let current = (rest << 32) | ((nanos >> shift) as u64 & 0xffff_ffff);
        quotient |= u128::from(current / DIVISOR) << shift;
        rest = current % DIVISOR;
    }
    // The remainder is below 1e9 and fits in a u32.
    (u64::try_from(quotient).unwrap_or(u64::MAX), rest as u32)
}

/// A small, seeded, deterministic PRNG (SplitMix64). Not for cryptography.
///
/// The same seed always yields the same sequence, on every platform.
///
/// ```
/// use switchyard_core::retry::Rng;
///
/// let mut a = Rng::new(7);
/// let mut b = Rng::new(7);
/// assert_eq!(a.next_u64(), b.next_u64());
/// let x = a.next_f64();
/// assert!((0.0..1.0).contains(&x));
/// ```
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Rng {
    pub(crate) state: u64,
}

impl Rng {
    /// A generator seeded with `seed`.
    pub const fn new(seed: u64) -> Self {
        Rng { state: seed }
    }
    /// The next 64 random bits.
    pub fn next_u64(&mut self) -> u64 {
        self.state = self.state.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.state;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }
    /// Uniform in `[0, 1)`: the top 53 bits of [`Rng::next_u64`] scaled by 2⁻⁵³.
    pub fn next_f64(&mut self) -> f64 {
        const SCALE: f64 = 1.0 / (1u64 << 53) as f64;
        (self.next_u64() >> 11) as f64 * SCALE
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use alloc::vec::Vec;

    #[test]
    fn nanosecond_split_matches_128_bit_division_for_every_magnitude() {
        let mut values = Vec::from([
            0u128,
            1,
            999_999_999,
            1_000_000_000,
            1_000_000_001,
            u128::from(u64::MAX),
            u128::from(u64::MAX) * 1_000_000_000,
            u128::from(u64::MAX) * 1_000_000_000 + 999_999_999,
            u128::from(u64::MAX) * 1_000_000_000 + 1_000_000_000,
            u128::MAX,
        ]);
        let mut rng = Rng::new(3);
        for bits in 0..128 {
            let random = u128::from(rng.next_u64()) << 64 | u128::from(rng.next_u64());
            values.push(random >> bits);
            values.push(1u128 << bits);
        }
        for nanos in values {
            let secs = u64::try_from(nanos / 1_000_000_000).unwrap_or(u64::MAX);
            let subsec = (nanos % 1_000_000_000) as u32;
            assert_eq!(div_nanos(nanos), (secs, subsec), "{nanos}");
        }
    }

    fn policy(
        max_attempts: u32,
        backoff_ms: u64,
        factor: f64,
        max_ms: u64,
        jitter: Jitter,
    ) -> RetryPolicy {
        RetryPolicy {
            max_attempts,
            backoff: Duration::from_millis(backoff_ms),
            factor,
            max_backoff: Duration::from_millis(max_ms),
            jitter,
        }
    }

    #[test]
    fn default_policy_is_valid_and_never_retries() {
        let p = RetryPolicy::default();
        assert_eq!(p.validate(), Ok(()));
        assert!(!p.allows_retry_after(1));
    }

    #[test]
    fn zero_max_attempts_is_refused_naming_the_field() {
        let err = policy(0, 10, 2.0, 100, Jitter::None)
            .validate()
            .unwrap_err();
        assert_eq!(err.field, "max_attempts");
        assert_eq!(err.problem, "must be at least 1");
    }

    #[test]
    fn factor_below_one_or_not_finite_is_refused() {
        for factor in [0.5, -1.0, f64::NAN, f64::INFINITY, f64::NEG_INFINITY] {
            let err = policy(3, 10, factor, 100, Jitter::None)
                .validate()
                .unwrap_err();
            assert_eq!(err.field, "factor", "factor {factor}");
        }
        assert_eq!(policy(3, 10, 1.0, 100, Jitter::None).validate(), Ok(()));
    }

    #[test]
    fn max_backoff_below_backoff_is_refused() {
        let err = policy(3, 200, 2.0, 100, Jitter::None)
            .validate()
            .unwrap_err();
        assert_eq!(err.field, "max_backoff");
        assert_eq!(policy(3, 100, 2.0, 100, Jitter::None).validate(), Ok(()));
    }

    #[test]
    fn proportional_ratio_outside_zero_to_one_is_refused() {
        for ratio in [-0.1, 1.1, f64::NAN, f64::INFINITY] {
            let err = policy(3, 10, 2.0, 100, Jitter::Proportional(ratio))
                .validate()
                .unwrap_err();
            assert_eq!(err.field, "jitter", "ratio {ratio}");
        }
        for ratio in [0.0, 0.5, 1.0] {
            assert_eq!(
                policy(3, 10, 2.0, 100, Jitter::Proportional(ratio)).validate(),
                Ok(())
            );
        }
    }

    #[test]
    fn validation_error_is_prefixed_by_within() {
        let err = policy(0, 10, 2.0, 100, Jitter::None)
            .validate()
            .unwrap_err()
            .within("retry");
        assert_eq!(err.field, "retry.max_attempts");
    }

    #[test]
    fn retry_stops_at_max_attempts() {
        let p = policy(3, 10, 2.0, 100, Jitter::None);
        assert!(p.allows_retry_after(1));
        assert!(p.allows_retry_after(2));
        assert!(!p.allows_retry_after(3));
        assert!(!p.allows_retry_after(u32::MAX));
    }

    #[test]
    fn delay_grows_exponentially_and_is_capped() {
        let p = policy(10, 100, 3.0, 1_000, Jitter::None);
        let mut rng = Rng::new(1);
        let delays: Vec<u64> = (1..=5)
            .map(|n| p.delay_after(n, &mut rng).as_millis() as u64)
            .collect();
        assert_eq!(delays, [100, 300, 900, 1_000, 1_000]);
    }

    #[test]
    fn attempt_zero_is_treated_as_the_first() {
        let p = policy(10, 100, 2.0, 1_000, Jitter::None);
        let mut rng = Rng::new(1);
        assert_eq!(p.delay_after(0, &mut rng), Duration::from_millis(100));
    }

    #[test]
    fn fractional_factor_grows_the_delay() {
        let p = policy(10, 1_000, 1.5, 60_000, Jitter::None);
        let mut rng = Rng::new(1);
        assert_eq!(p.delay_after(3, &mut rng), Duration::from_millis(2_250));
    }

    #[test]
    fn factor_of_one_keeps_a_constant_delay_even_for_huge_attempts() {
        let p = policy(u32::MAX, 250, 1.0, 1_000, Jitter::None);
        let mut rng = Rng::new(1);
        assert_eq!(
            p.delay_after(u32::MAX, &mut rng),
            Duration::from_millis(250)
        );
    }

    #[test]
    fn zero_backoff_stays_zero_for_any_attempt() {
        let p = policy(u32::MAX, 0, 1e300, 1_000, Jitter::None);
        let mut rng = Rng::new(1);
        assert_eq!(p.delay_after(u32::MAX, &mut rng), Duration::ZERO);
    }

    #[test]
    fn huge_attempts_and_durations_saturate_at_max_backoff() {
        let p = RetryPolicy {
            max_attempts: u32::MAX,
            backoff: Duration::from_secs(u64::MAX / 2),
            factor: f64::MAX,
            max_backoff: Duration::MAX,
            jitter: Jitter::None,
        };
        let mut rng = Rng::new(1);
        assert_eq!(p.delay_after(u32::MAX, &mut rng), Duration::MAX);
        let q = policy(u32::MAX, 1, 10.0, 5_000, Jitter::Full);
        assert!(q.delay_after(u32::MAX, &mut rng) <= Duration::from_millis(5_000));
    }

    #[test]
    fn an_unvalidated_policy_never_panics_and_stays_within_bounds() {
        let mut rng = Rng::new(3);
        let weird = [
            policy(0, 100, f64::NAN, 50, Jitter::Proportional(f64::NAN)),
            policy(1, 100, -3.0, 1_000, Jitter::Proportional(7.0)),
            policy(1, 100, 0.0, 1_000, Jitter::Full),
            policy(1, 100, f64::INFINITY, 1_000, Jitter::Proportional(-2.0)),
        ];
        for p in weird {
            for attempt in [0, 1, 2, 3, 64, u32::MAX] {
                assert!(
                    p.delay_after(attempt, &mut rng) <= p.max_backoff,
                    "{p:?} attempt {attempt}"
                );
            }
        }
    }

    #[test]
    fn full_jitter_stays_between_zero_and_the_delay() {
        let p = policy(10, 100, 2.0, 10_000, Jitter::Full);
        let mut rng = Rng::new(99);
        let mut seen_below_half = false;
        for _ in 0..1_000 {
            let d = p.delay_after(3, &mut rng);
            assert!(d <= Duration::from_millis(400));
            seen_below_half |= d < Duration::from_millis(200);
        }
        assert!(
            seen_below_half,
            "full jitter should spread over the whole range"
        );
    }

    #[test]
    fn proportional_jitter_stays_within_the_ratio_and_the_cap() {
        let p = policy(10, 100, 2.0, 10_000, Jitter::Proportional(0.25));
        let mut rng = Rng::new(5);
        let (mut low, mut high) = (Duration::MAX, Duration::ZERO);
        for _ in 0..1_000 {
            let d = p.delay_after(2, &mut rng);
            assert!(
                d >= Duration::from_millis(150) && d <= Duration::from_millis(250),
                "{d:?}"
            );
            low = low.min(d);
            high = high.max(d);
        }
        assert!(low < Duration::from_millis(160) && high > Duration::from_millis(240));

        let capped = policy(10, 100, 2.0, 200, Jitter::Proportional(1.0));
        for _ in 0..1_000 {
            assert!(capped.delay_after(2, &mut rng) <= Duration::from_millis(200));
        }
    }

    #[test]
    fn same_seed_gives_the_same_delays() {
        let p = policy(10, 100, 2.0, 10_000, Jitter::Full);
        let run = |seed| {
            let mut rng = Rng::new(seed);
            (1..=8)
                .map(|n| p.delay_after(n, &mut rng))
                .collect::<Vec<_>>()
        };
        assert_eq!(run(1234), run(1234));
        assert_ne!(run(1234), run(4321));
    }

    #[test]
    fn no_jitter_does_not_advance_the_rng() {
        let p = policy(10, 100, 2.0, 10_000, Jitter::None);
        let mut rng = Rng::new(8);
        p.delay_after(4, &mut rng);
        assert_eq!(rng, Rng::new(8));
    }

    #[test]
    fn rng_matches_the_splitmix64_reference_sequence() {
        // Reference values of SplitMix64 (Vigna) for seed 1234567.
        let mut rng = Rng::new(1_234_567);
        let got: Vec<u64> = (0..5).map(|_| rng.next_u64()).collect();
        assert_eq!(
            got,
            [
                6_457_827_717_110_365_317,
                3_203_168_211_198_807_973,
                9_817_491_932_198_370_423,
                4_593_380_528_125_082_431,
                16_408_922_859_458_223_821,
            ]
        );
    }

    #[test]
    fn next_f64_is_in_the_unit_interval_and_spread() {
        let mut rng = Rng::new(0);
        let mut buckets = [0u32; 10];
        for _ in 0..10_000 {
            let x = rng.next_f64();
            assert!((0.0..1.0).contains(&x));
            buckets[(x * 10.0) as usize] += 1;
        }
        assert!(
            buckets.iter().all(|&n| (800..1_200).contains(&n)),
            "{buckets:?}"
        );
    }
}
