//! One subscription's internal state: its configuration, its bounded queue, the retries it
//! waits for, and its counters.

use alloc::boxed::Box;
use alloc::collections::VecDeque;
use alloc::string::String;
use alloc::sync::Arc;
use alloc::vec::Vec;
use core::cmp::Reverse;
use core::time::Duration;

use crate::breaker::Breaker;
use crate::id::{MessageId, OwnerId};
use crate::leak::IdleWatch;
use crate::message::Envelope;
use crate::metrics::{Counters, Histogram};
use crate::retry::RetryPolicy;
use crate::subscription::{DeliveryStrategy, OrderingMode, Overflow};
use crate::time::Instant;
use crate::topic::{Pattern, TopicError};

/// One queued reference to a shared message (32 bytes on 64-bit targets).
#[derive(Debug)]
pub(crate) struct Queued<P> {
    /// The shared message.
    pub(crate) message: Arc<Envelope<P>>,
    /// When it entered this subscription's queue (kept across retries).
    pub(crate) enqueued_at: Instant,
    /// When its first attempt failed (meaningful once `attempt > 1`).
    pub(crate) first_failure_at: Instant,
    /// The attempt the next delivery will be (1-based).
    pub(crate) attempt: u32,
    /// Index of its topic in the bus's topic table.
    pub(crate) topic: u32,
}

/// Position of a ready subscription in the dispatch order: oldest head message first, then
/// higher priority, then earlier subscription.
#[derive(Copy, Clone, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub(crate) struct ReadyKey {
    pub(crate) head: u64,
    pub(crate) priority: Reverse<i32>,
    pub(crate) order: u64,
    pub(crate) index: u32,
}

/// Rarely read configuration, kept out of line.
#[derive(Debug)]
pub(crate) struct Profile {
    pub(crate) name: Option<String>,
    pub(crate) group: Option<String>,
    pub(crate) created_at: Instant,
    pub(crate) retry: RetryPolicy,
    pub(crate) timeout: Option<Duration>,
    pub(crate) max_deliveries: Option<u32>,
    pub(crate) owner: Option<OwnerId>,
    pub(crate) weak: bool,
    pub(crate) stack: Option<String>,
}

/// Latency histograms, allocated on first use.
#[derive(Debug, Default)]
pub(crate) struct Latencies {
    /// Publish → delivered.
    pub(crate) latency: Histogram,
    /// Handler duration.
    pub(crate) handler: Histogram,
}

/// One subscription.
#[derive(Debug)]
pub(crate) struct Subscriber<P> {
    /// Shared with the bus's last parsed pattern (see [`PatternCache`]) and with other
    /// subscriptions made from it.
    pub(crate) pattern: Arc<Pattern>,
    pub(crate) profile: Box<Profile>,
    pub(crate) priority: i32,
    pub(crate) order: u64,
    pub(crate) capacity: usize,
    pub(crate) overflow: Overflow,
    pub(crate) delivery: DeliveryStrategy,
    pub(crate) ordering: OrderingMode,
    pub(crate) concurrency: u32,
    pub(crate) has_filter: bool,
    pub(crate) paused: bool,
    /// Set by `flush`; cleared when the queue empties.
    pub(crate) flush_requested: bool,
    pub(crate) breaker: Option<Box<Breaker>>,

    /// Messages waiting, FIFO. In strict mode a message waiting for its retry is at the head.
    pub(crate) queue: VecDeque<Queued<P>>,
    /// Relaxed mode: failed messages waiting for their retry, sorted by due time.
    pub(crate) delayed: Vec<(Instant, Queued<P>)>,
    /// Strict mode: the head is a retry that may not go before this instant.
    pub(crate) retry_at: Option<Instant>,
    /// The batch-window deadline a timer is already armed for.
    pub(crate) batch_timer: Option<Instant>,
    /// Tokens of deliveries handed out and not finished.
    pub(crate) in_flight: Vec<u64>,
    /// Messages inside those deliveries (a batch carries several): kept as deliveries start
    /// (`take_delivery`, an inline hand-over) and leave the in-flight table (complete,
    /// settle, timeout: `take_in_flight`), so what the subscription holds against its
    /// capacity is O(1) to read. Zero after a restore (in-flight messages are written back
    /// to the queue). Equals the walk over `in_flight` ([`super::inflight::in_flight_items`]).
    pub(crate) in_flight_messages: usize,
    /// Messages accepted toward `max_deliveries` (queued, in flight or delivered).
    pub(crate) accepted: u32,
    /// Messages delivered successfully.
    pub(crate) successes: u32,
    /// Where it sits in the bus's ready index, if it is ready.
    pub(crate) ready_key: Option<ReadyKey>,

    /// Idle-leak watch (see [`IdleWatch`]).
    pub(crate) idle: IdleWatch,
    /// The current idle episode was reported and has not ended.
    pub(crate) idle_flagged: bool,

    pub(crate) counters: Counters,
    pub(crate) high_water: usize,
    pub(crate) latencies: Option<Box<Latencies>>,
    pub(crate) breaker_opened: u64,
}

impl<P> Subscriber<P> {
    /// Messages waiting, including those waiting for a retry.
    #[inline]
    pub(crate) fn depth(&self) -> usize {
        self.queue.len() + self.delayed.len()
    }

    /// Whether `max_deliveries` forbids accepting another message.
    #[inline]
    pub(crate) fn saturated(&self) -> bool {
        matches!(self.profile.max_deliveries, Some(max) if self.accepted >= max)
    }

    /// Records the depth for the high-water mark.
    #[inline]
    pub(crate) fn note_depth(&mut self) {
        let depth = self.depth();
        if depth > self.high_water {
            self.high_water = depth;
        }
    }

    /// When the oldest waiting message was enqueued.
    pub(crate) fn oldest_queued_at(&self) -> Option<Instant> {
        let queued = self.queue.iter().map(|q| q.enqueued_at).min();
        let delayed = self.delayed.iter().map(|(_, q)| q.enqueued_at).min();
        match (queued, delayed) {
            (Some(a), Some(b)) => Some(a.min(b)),
            (a, b) => a.or(b),
        }
    }

    /// Moves relaxed retries that are due at `now` to the head of the queue (earliest due
    /// first) and lifts a strict retry wait that has passed.
    pub(crate) fn release_due_retries(&mut self, now: Instant) {
        if matches!(self.retry_at, Some(at) if at <= now) {
            self.retry_at = None;
        }
        let due = self.delayed.iter().take_while(|(at, _)| *at <= now).count();
        if due > 0 {
            for (_, item) in self.delayed.drain(..due).rev() {
                self.queue.push_front(item);
            }
        }
    }

    /// Inserts a relaxed retry in due order (stable for equal due times).
    pub(crate) fn delay(&mut self, due: Instant, item: Queued<P>) {
        let position = self.delayed.partition_point(|(at, _)| *at <= due);
        self.delayed.insert(position, (due, item));
    }

    /// The head message id if the subscription may be handed a delivery at `now`, plus the
    /// instant a batch window closes if that is what it waits for.
    pub(crate) fn readiness(&self, now: Instant) -> (Option<MessageId>, Option<Instant>) {
        if self.paused || self.in_flight.len() >= self.concurrency as usize {
            return (None, None);
        }
        if let Some(breaker) = &self.breaker {
            if !breaker.allows() {
                return (None, None);
            }
        }
        if self.retry_at.is_some() {
            return (None, None);
        }
        let Some(head) = self.queue.front() else {
            return (None, None);
        };
        match self.delivery {
            DeliveryStrategy::Immediate => (Some(head.message.id), None),
            DeliveryStrategy::Batched { size, max_wait } => {
                let window_closes = head.enqueued_at.saturating_add(max_wait);
                if self.flush_requested
                    || self.queue.len() >= size
                    || head.attempt > 1
                    || window_closes <= now
                {
                    (Some(head.message.id), None)
                } else {
                    (None, Some(window_closes))
                }
            }
        }
    }

    /// How many items the next delivery carries.
    pub(crate) fn batch_len(&self) -> usize {
        match self.delivery {
            DeliveryStrategy::Immediate => 1,
            DeliveryStrategy::Batched { size, .. } => size.max(1),
        }
        .min(self.queue.len())
    }

    /// Latency histograms, allocating them on first use.
    pub(crate) fn latencies_mut(&mut self) -> &mut Latencies {
        self.latencies.get_or_insert_with(Default::default)
    }
}

/// The pattern parsed last, so that subscribing the same pattern again (a component that
/// subscribes on mount and unsubscribes on unmount, a loop over one topic) shares it instead
/// of parsing and allocating it each time.
#[derive(Debug, Default)]
pub(crate) struct PatternCache {
    last: Option<Arc<Pattern>>,
}

impl PatternCache {
    /// `source` parsed, from the cache when it is the pattern parsed last. An invalid pattern
    /// is refused and leaves the cache as it was.
    pub(crate) fn parse(&mut self, source: &str) -> Result<Arc<Pattern>, TopicError> {
        if let Some(last) = &self.last {
            if last.as_str() == source {
                return Ok(Arc::clone(last));
            }
        }
        let pattern = Arc::new(Pattern::parse(source)?);
        self.last = Some(Arc::clone(&pattern));
        Ok(pattern)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_pattern_parsed_again_is_shared_with_the_first_parse() {
        let mut cache = PatternCache::default();
        let first = cache.parse("orders.*.created").unwrap();
        let again = cache.parse("orders.*.created").unwrap();
        assert!(Arc::ptr_eq(&first, &again));
        assert_eq!(again.as_str(), "orders.*.created");
    }

    #[test]
    fn a_different_pattern_is_parsed_and_replaces_the_cached_one() {
        let mut cache = PatternCache::default();
        let orders = cache.parse("orders.*").unwrap();
        let invoices = cache.parse("invoices.**").unwrap();
        assert_eq!(invoices.as_str(), "invoices.**");
        assert_eq!(invoices.segments().len(), 2);
        assert!(!Arc::ptr_eq(&orders, &cache.parse("orders.*").unwrap()));
    }

    #[test]
    fn an_invalid_pattern_is_refused_and_keeps_the_cached_one() {
        let mut cache = PatternCache::default();
        let orders = cache.parse("orders.*").unwrap();
        assert!(cache.parse("orders..created").is_err());
        assert!(Arc::ptr_eq(&orders, &cache.parse("orders.*").unwrap()));
    }
}
