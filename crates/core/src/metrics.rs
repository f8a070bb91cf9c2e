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
}

/// A latency histogram over microseconds with fixed log2 buckets (sub-bucketed ×4).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Histogram {
    buckets: Vec<u64>,
    count: u64,
    max: u64,
}

/// p50 / p90 / p99 in microseconds (upper bound of the bucket holding the percentile).
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

impl Histogram {
    /// An empty histogram.
    pub fn new() -> Self {
        todo!("H1")
    }
    /// Records one sample in microseconds.
    pub fn record(&mut self, micros: u64) {
        todo!("H1: {micros}")
    }
    /// The percentiles of what was recorded.
    pub fn percentiles(&self) -> Percentiles {
        todo!("H1")
    }
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
    /// Per topic, in topic order.
    pub topics: Vec<TopicStats>,
    /// Per active subscription, in creation order.
    pub subscriptions: Vec<(SubscriptionId, SubscriptionStats)>,
    /// Active subscriptions.
    pub active_subscriptions: usize,
    /// Messages queued over all subscriptions.
    pub queued: usize,
    /// Deliveries in flight.
    pub in_flight: usize,
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
}
