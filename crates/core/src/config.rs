//! Bus-wide configuration.

use core::time::Duration;

use crate::error::ConfigError;
use crate::retry::RetryPolicy;
use crate::subscription::Overflow;

/// Bus-wide settings. Per-subscription options override the defaults named here.
#[derive(Clone, Debug)]
pub struct Config {
    /// Default per-subscription bound (default 1024, at least 1): the most messages one
    /// subscription holds, queued, waiting for a retry or in flight (each message of a batch
    /// counts). See [`crate::Bus::set_capacity`] and docs/ARCHITECTURE.md, "What a queue's
    /// capacity bounds".
    pub capacity: usize,
    /// Default overflow policy (default [`Overflow::Reject`]).
    pub overflow: Overflow,
    /// Default retry policy (default: one attempt, no retry).
    pub retry: RetryPolicy,
    /// Dead-letter store bound (default 1000); when full the oldest is evicted and counted.
    pub dead_letter_capacity: usize,
    /// Active subscriptions per pattern before a leak is suspected (default 100; 0 = off).
    pub max_listeners: usize,
    /// Trace ring size in events (default 0: tracing off, zero cost).
    pub trace_capacity: usize,
    /// Most causation hops a publish may be from its root (default 32).
    pub max_cascade_depth: u32,
    /// Default timeout for pending deliveries (default none).
    pub timeout: Option<Duration>,
    /// Messages retained per topic for replay (default 0).
    pub retain: usize,
    /// Seed of the jitter PRNG (deterministic tests).
    pub seed: u64,
    /// A subscription that received nothing for this long while a topic it matches was
    /// published to is reported idle (default none = off).
    pub idle_after: Option<Duration>,
    /// Subscription-count trend detection: report when subscribes minus unsubscribes rose in
    /// each of `trend_windows` consecutive windows of `trend_window` (default off).
    pub trend_window: Option<Duration>,
    /// See `trend_window` (default 5).
    pub trend_windows: u32,
    /// Most distinct topics kept in the route cache (default 4096).
    pub route_cache_capacity: usize,
    /// Most *idle* topics the bus keeps per-topic state for (default 10 000, at least 1).
    ///
    /// Each topic published to gets an entry: its sequence number, counters and latency
    /// histogram (about 1.5 KB once delivered to). Past this bound a new topic evicts the least
    /// recently used idle one, approximately: one with no message queued, delayed, in flight
    /// or dead-lettered anywhere. Retention does not make a topic busy: an evicted topic's
    /// retained messages go with it, counted in
    /// [`BusMetrics::retained_evicted`](crate::BusMetrics::retained_evicted) and traced
    /// `dropped` (no subscription, detail 3). Busy topics are never evicted, and neither are
    /// topics named by an event
    /// the trace ring still holds (at most one per event of `trace_capacity`) or by an envelope
    /// the host still holds. An evicted topic's per-topic metrics
    /// disappear (the bus totals keep everything) and the eviction is counted in
    /// [`BusMetrics::topics_evicted`](crate::BusMetrics::topics_evicted); published again, it
    /// starts a new lifetime whose sequence numbers restart at 1.
    pub max_topics: usize,
}

impl Default for Config {
    fn default() -> Self {
        Config {
            capacity: 1024,
            overflow: Overflow::Reject,
            retry: RetryPolicy::default(),
            dead_letter_capacity: 1000,
            max_listeners: 100,
            trace_capacity: 0,
            max_cascade_depth: 32,
            timeout: None,
            retain: 0,
            seed: 0x5EED_CAFE_F00D_D00D,
            idle_after: None,
            trend_window: None,
            trend_windows: 5,
            route_cache_capacity: 4096,
            max_topics: 10_000,
        }
    }
}

impl Config {
    /// Checks every field; the error names the first bad one.
    pub fn validate(&self) -> Result<(), ConfigError> {
        if self.capacity == 0 {
            return Err(ConfigError::new("capacity", "must be at least 1"));
        }
        if self.max_topics == 0 {
            return Err(ConfigError::new("max_topics", "must be at least 1"));
        }
        self.retry.validate().map_err(|e| e.within("retry"))?;
        Ok(())
    }
}
