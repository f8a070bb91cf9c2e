//! Counters and latency histograms. Histograms use fixed logarithmic buckets: recording is
//! a few integer operations and never allocates.

use alloc::string::String;
use alloc::vec::Vec;
use serde::{Deserialize, Serialize};

use crate::id::SubscriptionId;

/// Message counters, kept per topic, per subscription and for the whole bus.
#[derive(Copy, Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Counters {
    /// Messages published (per subscription: enqueued for it).
    pub published: u64,
    /// Handler calls that completed successfully, counted per message.
    pub delivered: u64,
    /// Failed attempts (each retry that fails counts again).
    pub failed: u64,
    /// Retries scheduled.
    pub retried: u64,
    /// Messages dead-lettered.
    pub dead_lettered: u64,
    /// Messages dropped by an overflow policy.
    pub dropped: u64,
    /// Messages the host's filter rejected.
    pub filtered: u64,
    /// (message, subscription) pairs routed, including replays and pairs dropped by
    /// `drop-newest` (per subscription this equals `published`).
    pub matched: u64,
    /// Dead letters moved back to their subscription's queue.
    pub redriven: u64,
}

/// A latency histogram over microseconds with fixed log2 buckets, each power of two split
/// into 4 linear sub-buckets.
///
/// # Buckets and error bound
///
/// Values 0–3 µs have a bucket each (exact). A value `v ≥ 4` with highest set bit `e` lands in
/// one of the four buckets covering `[2^e, 2^(e+1))`, each `2^(e-2)` wide. Percentiles report
/// the **upper bound** of the bucket holding the requested sample, capped at the largest
/// sample seen, so a reported percentile is never below the true one and at most 25 % above
/// it (less than one bucket width, `2^(e-2) ≤ v/4`). Buckets reach 2^40 µs (about 12.7 days);
/// larger samples share one overflow bucket, reported as the largest sample.
///
/// # Cost
///
/// [`Histogram::new`] allocates its [`Histogram::BUCKETS`] counters once (about 1.3 KB);
/// [`Histogram::record`] is a handful of integer operations and never allocates. All counts
/// saturate instead of overflowing. Samples of 0 µs (every delivery the inline path records)
/// only count: bucket 0 holds what is stored there plus every sample `count` has beyond the
/// buckets' sum, so recording them touches no bucket memory (a bus recording thousands of
/// topics in turn would otherwise miss the cache on each histogram's buckets).
///
/// ```
/// use switchyard_core::Histogram;
///
/// let mut latency = Histogram::new();
/// for micros in 1..=100 {
///     latency.record(micros);
/// }
/// let p = latency.percentiles();
/// assert_eq!((p.count, p.max), (100, 100));
/// assert!(p.p50 >= 50 && p.p50 <= 50 + 50 / 4);
/// assert!(p.p99 >= 99 && p.p99 <= 100);
/// ```
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct Histogram {
    pub(crate) buckets: Vec<u64>,
    pub(crate) count: u64,
    pub(crate) max: u64,
}

/// p50 / p90 / p99 in microseconds (upper bound of the bucket holding the percentile, capped
/// at `max`; see [`Histogram`] for the error bound). All zero when nothing was recorded.
#[derive(Copy, Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct Percentiles {
    /// Median.
    pub p50: u64,
    /// 90th percentile.
    pub p90: u64,
    /// 99th percentile.
    pub p99: u64,
    /// Samples recorded.
    pub count: u64,
    /// Largest sample.
    pub max: u64,
}

impl Default for Histogram {
    fn default() -> Self {
        Histogram::new()
    }
}

/// Sub-buckets per power of two, as a shift (4 = 1 << 2).
const SUB_BITS: u32 = 2;
const SUB_BUCKETS: usize = 1 << SUB_BITS;
/// Samples at or above `2^LIMIT_BITS` µs go to the overflow bucket.
const LIMIT_BITS: u32 = 40;

impl Histogram {
    /// How many buckets every histogram has: 4 exact ones for 0–3 µs, 4 per power of two from
    /// 2^2 to 2^39, and one overflow bucket.
    pub const BUCKETS: usize = SUB_BUCKETS + (LIMIT_BITS - SUB_BITS) as usize * SUB_BUCKETS + 1;

    /// An empty histogram. The only allocation a histogram ever makes.
    pub fn new() -> Self {
        Histogram {
            buckets: alloc::vec![0; Self::BUCKETS],
            count: 0,
            max: 0,
        }
    }

    /// Records one sample in microseconds.
    #[inline]
    pub fn record(&mut self, micros: u64) {
        if micros == 0 {
            // Counted in bucket 0 by `count` alone (see the type's docs).
            self.count = self.count.saturating_add(1);
            return;
        }
        let index = bucket_index(micros);
        if self.buckets.len() != Self::BUCKETS {
            // Only a histogram deserialised from foreign data can get here.
            self.buckets.resize(Self::BUCKETS, 0);
        }
        if let Some(bucket) = self.buckets.get_mut(index) {
            *bucket = bucket.saturating_add(1);
        }
        self.count = self.count.saturating_add(1);
        self.max = self.max.max(micros);
    }

    /// Records `times` samples of `micros` at once (what `times` calls to
    /// [`Histogram::record`] would do, in constant time).
    #[inline]
    pub fn record_many(&mut self, micros: u64, times: u64) {
        if times == 0 {
            return;
        }
        if micros == 0 {
            // Counted in bucket 0 by `count` alone (see the type's docs).
            self.count = self.count.saturating_add(times);
            return;
        }
        let index = bucket_index(micros);
        if self.buckets.len() != Self::BUCKETS {
            self.buckets.resize(Self::BUCKETS, 0);
        }
        if let Some(bucket) = self.buckets.get_mut(index) {
            *bucket = bucket.saturating_add(times);
        }
        self.count = self.count.saturating_add(times);
        self.max = self.max.max(micros);
    }

    /// Samples recorded.
    pub fn count(&self) -> u64 {
        self.count
    }

    /// Largest sample recorded (0 if none).
    pub fn max(&self) -> u64 {
        self.max
    }

    /// The percentiles of what was recorded.
    ///
    /// One pass over the buckets for all three (`metrics()` computes this for every topic and
    /// subscription); each is the upper bound of the bucket holding the sample of rank
    /// `ceil(p × count)`, capped at `max`.
    pub fn percentiles(&self) -> Percentiles {
        let mut values = [0u64; 3];
        // As `bucket_counts`, without its iterator: bucket 0 also holds the zeros that only
        // `count` records. A plain fold over the slice, then one scan that stops at the 99th
        // percentile (with one sample: at its bucket).
        // Summed wide (no overflow with 157 buckets), then saturated: what a saturating fold
        // gives, without a branch per bucket.
        let stored: u128 = self.buckets.iter().map(|bucket| u128::from(*bucket)).sum();
        let stored = u64::try_from(stored).unwrap_or(u64::MAX);
        let zeros = self.count.saturating_sub(stored);
        let total = stored.saturating_add(zeros);
        if total > 0 {
            // ceil(total × percent / 100) as (100a + b) × p / 100 = a × p + ceil(b × p / 100):
            // exact, fits a u64 and needs no 128-bit division (`__udivti3`, 1 KB of wasm).
            let wanted = [50u64, 90, 99].map(|percent| {
                let whole = total / 100 * percent + (total % 100 * percent).div_ceil(100);
                u128::from(whole.max(1))
            });
            let mut next = 0;
            let mut seen: u128 = 0;
            for index in 0..self.buckets.len().max(1) {
                let bucket = self.buckets.get(index).copied().unwrap_or(0);
                let bucket = if index == 0 {
                    bucket.saturating_add(zeros)
                } else {
                    bucket
                };
                seen += u128::from(bucket);
                while next < wanted.len() && seen >= wanted[next] {
                    values[next] = bucket_upper_bound(index).min(self.max);
                    next += 1;
                }
                if next == wanted.len() {
                    break;
                }
            }
            for value in &mut values[next..] {
                *value = self.max;
            }
        }
        Percentiles {
            p50: values[0],
            p90: values[1],
            p99: values[2],
            count: self.count,
            max: self.max,
        }
    }

    /// Adds every sample of `other` to `self`, as if each had been recorded here.
    pub fn merge(&mut self, other: &Histogram) {
        if self.buckets.len() != Self::BUCKETS {
            self.buckets.resize(Self::BUCKETS, 0);
        }
        for (mine, theirs) in self.buckets.iter_mut().zip(&other.buckets) {
            *mine = mine.saturating_add(*theirs);
        }
        self.count = self.count.saturating_add(other.count);
        self.max = self.max.max(other.max);
    }

    /// Forgets every sample, keeping the allocation.
    pub fn clear(&mut self) {
        self.buckets.iter_mut().for_each(|bucket| *bucket = 0);
        self.count = 0;
        self.max = 0;
    }

    /// The samples in each bucket, bucket 0 including the zeros only `count` holds.
    fn bucket_counts(&self) -> impl Iterator<Item = u64> + '_ {
        let stored = self
            .buckets
            .iter()
            .fold(0u64, |sum, bucket| sum.saturating_add(*bucket));
        let zeros = self.count.saturating_sub(stored);
        let first = self
            .buckets
            .first()
            .copied()
            .unwrap_or(0)
            .saturating_add(zeros);
        core::iter::once(first).chain(self.buckets.iter().skip(1).copied())
    }

    /// The value at quantile `numerator / denominator`: the upper bound of the bucket holding
    /// the sample of rank `ceil(quantile × count)`, capped at `max`. (The reference
    /// [`Histogram::percentiles`] is tested against.)
    #[cfg(test)]
    fn value_at(&self, numerator: u64, denominator: u64) -> u64 {
        let total: u64 = self
            .bucket_counts()
            .fold(0, |sum, bucket| sum.saturating_add(bucket));
        if total == 0 {
            return 0;
        }
        let wanted = (u128::from(total) * u128::from(numerator))
            .div_ceil(u128::from(denominator))
            .max(1);
        let mut seen: u128 = 0;
        for (index, bucket) in self.bucket_counts().enumerate() {
            seen += u128::from(bucket);
            if seen >= wanted {
                return bucket_upper_bound(index).min(self.max);
            }
        }
        self.max
    }
}

/// Two histograms are equal when they hold the same samples, however their zeros are stored.
impl PartialEq for Histogram {
    fn eq(&self, other: &Histogram) -> bool {
        self.count == other.count
            && self.max == other.max
            && self.bucket_counts().eq(other.bucket_counts())
    }
}

impl Eq for Histogram {}

/// The bucket a sample falls into.
#[inline]
fn bucket_index(micros: u64) -> usize {
    if micros < SUB_BUCKETS as u64 {
        return micros as usize;
    }
    let exponent = 63 - micros.leading_zeros(); // >= SUB_BITS
    if exponent >= LIMIT_BITS {
        return Histogram::BUCKETS - 1;
    }
    let shift = exponent - SUB_BITS;
    let sub = ((micros >> shift) as usize) & (SUB_BUCKETS - 1);
    SUB_BUCKETS + (shift as usize) * SUB_BUCKETS + sub
}

/// The largest sample that falls into bucket `index`.
fn bucket_upper_bound(index: usize) -> u64 {
    if index < SUB_BUCKETS {
        return index as u64;
    }
    if index >= Histogram::BUCKETS - 1 {
        return u64::MAX;
    }
    let shift = ((index - SUB_BUCKETS) / SUB_BUCKETS) as u32;
    let sub = ((index - SUB_BUCKETS) % SUB_BUCKETS) as u64;
    ((SUB_BUCKETS as u64 + sub + 1) << shift) - 1
}

/// Per-subscription counters and gauges.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct SubscriptionStats {
    /// Counters.
    pub counters: Counters,
    /// Highest queue depth seen.
    pub high_water: usize,
    /// Publish → delivered latency.
    pub latency: Percentiles,
    /// Handler duration (poll → complete/settle).
    pub handler: Percentiles,
    /// Circuit breaker openings.
    pub breaker_opened: u64,
}

/// Per-topic counters.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct TopicStats {
    /// The topic.
    pub topic: String,
    /// Counters (published counts messages; the others sum over subscriptions).
    pub counters: Counters,
    /// Publish → delivered latency over all its subscriptions.
    pub latency: Percentiles,
}

/// Everything [`crate::Bus::metrics`] reports.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct BusMetrics {
    /// Bus-wide counters.
    pub totals: Counters,
    /// Per topic in the table, in topic order (an evicted topic is not listed: see
    /// [`Config::max_topics`](crate::Config::max_topics)).
    pub topics: Vec<TopicStats>,
    /// Per active subscription, in creation order.
    pub subscriptions: Vec<(SubscriptionId, SubscriptionStats)>,
    /// Active subscriptions.
    pub active_subscriptions: usize,
    /// Messages queued over all subscriptions.
    pub queued: usize,
    /// Deliveries in flight.
    pub in_flight: usize,
    /// Messages inside the deliveries in flight (a batch carries several).
    pub in_flight_messages: usize,
    /// Dead letters held.
    pub dead_letters: usize,
    /// Dead letters evicted because the store was full.
    pub dead_letters_evicted: u64,
    /// Settles that arrived after their delivery timed out (ignored).
    pub late_settles: u64,
    /// Publishes refused by the cascade limit.
    pub cascades_refused: u64,
    /// Publishes refused by `reject` backpressure.
    pub publishes_rejected: u64,
    /// Subscriptions removed because their weak owner was released.
    pub reclaimed: u64,
    /// Leak reports raised.
    pub leaks_suspected: u64,
    /// Messages expired by TTL.
    pub expired: u64,
    /// Subscriptions with an open breaker.
    pub breakers_open: usize,
    /// Idle topics evicted from the topic table past
    /// [`Config::max_topics`](crate::Config::max_topics) (their per-topic metrics went with
    /// them; the totals keep everything). Counted since the bus was created or restored.
    #[serde(default)]
    pub topics_evicted: u64,
    /// Retained messages (`Config::retain`) discarded because their topic, held by nothing
    /// else, was evicted past `Config::max_topics`; each is traced `dropped` with no
    /// subscription and detail 3. Not part of the conservation sum (retention keeps a copy for
    /// replay; no subscription was owed it). Counted since the bus was created or restored.
    #[serde(default)]
    pub retained_evicted: u64,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_empty_histogram_reports_zeros() {
        assert_eq!(Histogram::new().percentiles(), Percentiles::default());
    }

    #[test]
    fn recording_many_equals_recording_one_at_a_time() {
        let (mut once, mut many) = (Histogram::new(), Histogram::new());
        for _ in 0..5 {
            once.record(37);
        }
        once.record(2);
        many.record_many(37, 5);
        many.record_many(2, 1);
        many.record_many(9_999, 0);
        assert_eq!(once, many);
    }

    #[test]
    fn small_values_have_exact_buckets() {
        for value in 0..4 {
            let mut histogram = Histogram::new();
            histogram.record(value);
            let p = histogram.percentiles();
            assert_eq!(
                (p.p50, p.p90, p.p99, p.count, p.max),
                (value, value, value, 1, value)
            );
        }
    }

    #[test]
    fn every_bucket_holds_the_values_between_its_neighbours_bounds() {
        let mut lower = 0;
        for index in 0..Histogram::BUCKETS - 1 {
            let upper = bucket_upper_bound(index);
            assert!(upper >= lower, "bucket {index}");
            assert_eq!(bucket_index(lower), index, "lowest value of bucket {index}");
            assert_eq!(
                bucket_index(upper),
                index,
                "highest value of bucket {index}"
            );
            lower = upper + 1;
        }
        assert_eq!(lower, 1 << LIMIT_BITS);
        assert_eq!(bucket_index(lower), Histogram::BUCKETS - 1);
        assert_eq!(bucket_index(u64::MAX), Histogram::BUCKETS - 1);
    }

    #[test]
    fn a_reported_value_is_never_below_the_sample_and_at_most_a_quarter_above() {
        let mut value: u64 = 1;
        while value < 1 << LIMIT_BITS {
            for sample in [value, value + value / 3, value.saturating_mul(2) - 1] {
                let upper = bucket_upper_bound(bucket_index(sample));
                assert!(upper >= sample, "{sample}");
                assert!(upper - sample <= sample / 4, "{sample} reported as {upper}");
            }
            value *= 2;
        }
    }

    #[test]
    fn percentiles_in_one_pass_equal_each_quantile_computed_alone() {
        let mut seed = 0x9e37_79b9_7f4a_7c15u64;
        for size in [0usize, 1, 2, 3, 7, 100, 1000] {
            let mut histogram = Histogram::new();
            for _ in 0..size {
                seed ^= seed << 13;
                seed ^= seed >> 7;
                seed ^= seed << 17;
                histogram.record(seed % (1 << (seed % 41)));
            }
            let p = histogram.percentiles();
            assert_eq!(
                (p.p50, p.p90, p.p99),
                (
                    histogram.value_at(50, 100),
                    histogram.value_at(90, 100),
                    histogram.value_at(99, 100)
                ),
                "{size} samples"
            );
        }
    }

    #[test]
    fn percentiles_pick_the_bucket_of_the_ranked_sample() {
        let mut histogram = Histogram::new();
        for micros in 1..=1000 {
            histogram.record(micros);
        }
        let p = histogram.percentiles();
        assert_eq!((p.count, p.max), (1000, 1000));
        // Sample 500 lies in [448, 511], 900 in [896, 1023] (capped at max 1000), 990 likewise.
        assert_eq!((p.p50, p.p90, p.p99), (511, 1000, 1000));
    }

    #[test]
    fn a_few_slow_samples_move_only_the_high_percentiles() {
        let mut histogram = Histogram::new();
        for _ in 0..98 {
            histogram.record(10);
        }
        histogram.record(5_000);
        histogram.record(5_000);
        let p = histogram.percentiles();
        assert_eq!(p.p50, 11);
        assert_eq!(p.p90, 11);
        assert_eq!(p.p99, 5_000);
        assert_eq!(p.max, 5_000);
    }

    #[test]
    fn samples_beyond_the_last_bucket_are_reported_as_the_maximum() {
        let mut histogram = Histogram::new();
        histogram.record(u64::MAX);
        histogram.record(1 << 45);
        let p = histogram.percentiles();
        assert_eq!((p.p50, p.p99, p.max), (u64::MAX, u64::MAX, u64::MAX));
    }

    #[test]
    fn recording_never_reallocates() {
        let mut histogram = Histogram::new();
        let before = histogram.buckets.as_ptr();
        for shift in 0..64 {
            histogram.record(1 << shift);
        }
        assert_eq!(histogram.buckets.as_ptr(), before);
        assert_eq!(histogram.buckets.len(), Histogram::BUCKETS);
        assert_eq!(histogram.count(), 64);
    }

    #[test]
    fn merge_equals_recording_everything_in_one_histogram() {
        let (mut left, mut right, mut both) =
            (Histogram::new(), Histogram::new(), Histogram::new());
        for micros in (0..5_000).step_by(7) {
            left.record(micros);
            both.record(micros);
        }
        for micros in (0..90_000).step_by(13) {
            right.record(micros);
            both.record(micros);
        }
        left.merge(&right);
        assert_eq!(left, both);
        assert_eq!(left.percentiles(), both.percentiles());
    }

    #[test]
    fn clear_forgets_every_sample() {
        let mut histogram = Histogram::new();
        histogram.record(1234);
        histogram.clear();
        assert_eq!(histogram, Histogram::new());
    }

    #[test]
    fn a_histogram_deserialised_with_too_few_buckets_still_records() {
        let mut histogram: Histogram =
            serde_json::from_str(r#"{"buckets":[1],"count":1,"max":0}"#).expect("valid json");
        histogram.record(1 << 30);
        let p = histogram.percentiles();
        assert_eq!(p.count, 2);
        assert_eq!(p.max, 1 << 30);
        assert_eq!(p.p99, 1 << 30);
    }

    #[test]
    fn zeros_counted_without_their_bucket_read_as_bucket_zero() {
        let (mut counted, mut stored) = (Histogram::new(), Histogram::new());
        counted.record_many(0, 18);
        counted.record(0);
        counted.record(900);
        // The same samples with the zeros stored in bucket 0 (as an older snapshot holds them).
        stored.record(900);
        stored.buckets[0] = 19;
        stored.count = 20;
        assert_eq!(counted, stored);
        assert_eq!(counted.percentiles(), stored.percentiles());
        let p = counted.percentiles();
        assert_eq!((p.p50, p.p90, p.p99, p.count, p.max), (0, 0, 900, 20, 900));
        let mut merged = Histogram::new();
        merged.merge(&counted);
        merged.merge(&stored);
        let both = merged.percentiles();
        assert_eq!((both.p50, both.p90, both.count, both.max), (0, 0, 40, 900));
    }

    #[test]
    fn a_histogram_survives_a_serde_round_trip() {
        let mut histogram = Histogram::new();
        histogram.record(42);
        let json = serde_json::to_string(&histogram).expect("serialisable");
        assert_eq!(
            serde_json::from_str::<Histogram>(&json).expect("parses"),
            histogram
        );
    }
}
