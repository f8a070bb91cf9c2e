//! Subscription options and the read-only view of a subscription's state.

use alloc::string::String;
use core::time::Duration;
use serde::{Deserialize, Serialize};

use crate::breaker::{BreakerPolicy, BreakerState};
use crate::id::{OwnerId, SubscriptionId};
use crate::retry::RetryPolicy;
use crate::time::Instant;

/// What happens when a message arrives for a subscription whose queue is full.
#[derive(Copy, Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub enum Overflow {
    /// The publish fails atomically: nothing is enqueued for anyone, and the error names the
    /// full subscription.
    #[default]
    Reject,
    /// The oldest queued message is dropped (counted, traced) to make room.
    DropOldest,
    /// The new message is not enqueued for this subscription (counted, traced).
    DropNewest,
}

/// How queued messages are handed out.
#[derive(Copy, Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub enum DeliveryStrategy {
    /// One message per delivery, as soon as the subscription is ready.
    #[default]
    Immediate,
    /// Up to `size` messages per delivery, handed out when `size` are queued, when the oldest
    /// has waited `max_wait`, or on an explicit [`crate::Bus::flush`], whichever comes first.
    Batched {
        /// Messages per batch (at least 1).
        size: usize,
        /// Longest a queued message waits for its batch to fill.
        max_wait: Duration,
    },
}

/// How a failed message that waits for its retry affects later messages.
#[derive(Copy, Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub enum OrderingMode {
    /// A message waiting for its retry holds back later messages (like a Kafka partition).
    #[default]
    Strict,
    /// Later messages go ahead; the retried one is delivered when due.
    Relaxed,
}

/// Options for [`crate::Bus::subscribe`]. `Default` gives an immediate, strict, FIFO
/// subscription that inherits the bus's capacity, overflow, retry and timeout.
#[derive(Clone, Debug, Default)]
pub struct SubscribeOptions {
    /// A human-readable name, shown in errors, leak reports and the visualiser.
    pub name: Option<String>,
    /// Higher priorities receive each message first; ties in subscription order.
    pub priority: i32,
    /// Unsubscribe automatically after this many delivered messages (`once` = `Some(1)`).
    pub max_deliveries: Option<u32>,
    /// The host evaluates a filter predicate for each delivery and reports filtered items.
    pub has_filter: bool,
    /// Consumer group: each message for the group goes to one member, round-robin.
    pub group: Option<String>,
    /// Enqueue up to this many retained messages of matching topics on subscribe.
    pub replay: usize,
    /// Bound on the messages held (queued, waiting for a retry, in flight); `None` inherits
    /// `Config::capacity`.
    pub capacity: Option<usize>,
    /// Overflow policy; `None` inherits `Config::overflow`.
    pub overflow: Option<Overflow>,
    /// Delivery strategy.
    pub delivery: DeliveryStrategy,
    /// Most deliveries in flight (pending) at once; 0 means the default of 1.
    pub concurrency: u32,
    /// Ordering under retries.
    pub ordering: OrderingMode,
    /// Retry policy; `None` inherits `Config::retry`.
    pub retry: Option<RetryPolicy>,
    /// Timeout of a pending delivery; `None` inherits `Config::timeout`.
    pub timeout: Option<Duration>,
    /// Circuit breaker; `None` means no breaker.
    pub breaker: Option<BreakerPolicy>,
    /// The host object this subscription belongs to (see [`crate::Bus::owner_released`]).
    pub owner: Option<OwnerId>,
    /// With an owner: remove the subscription when the owner is released instead of
    /// reporting a leak.
    pub weak: bool,
    /// Creation stack captured by the host, shown in leak reports.
    pub stack: Option<String>,
}

/// A snapshot of one subscription's configuration and state.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct SubscriptionInfo {
    /// Its id.
    pub id: SubscriptionId,
    /// The pattern text.
    pub pattern: String,
    /// Its name, if any.
    pub name: Option<String>,
    /// Priority.
    pub priority: i32,
    /// Consumer group, if any.
    pub group: Option<String>,
    /// Creation order on this bus (0-based, never reused).
    pub order: u64,
    /// When it was created.
    pub created_at: Instant,
    /// Paused by the host.
    pub paused: bool,
    /// Bound on `depth + in_flight_messages` (exceeded only after a shrink, until it drains).
    pub capacity: usize,
    /// Overflow policy in force.
    pub overflow: Overflow,
    /// Delivery strategy in force.
    pub delivery: DeliveryStrategy,
    /// Ordering mode.
    pub ordering: OrderingMode,
    /// Messages waiting (including those waiting for a retry).
    pub depth: usize,
    /// Highest depth seen.
    pub high_water: usize,
    /// Deliveries handed out and not yet completed or settled.
    pub in_flight: usize,
    /// Messages inside those deliveries (a batch carries several). `depth +
    /// in_flight_messages` is what the subscription holds against its `capacity`.
    pub in_flight_messages: usize,
    /// When the oldest queued message was enqueued, if any is queued.
    pub oldest_queued_at: Option<Instant>,
    /// Circuit breaker state (`Closed` when there is no breaker).
    pub breaker: BreakerState,
    /// Owner, if any.
    pub owner: Option<OwnerId>,
    /// Weak ownership.
    pub weak: bool,
    /// Counters for this subscription.
    pub stats: crate::metrics::SubscriptionStats,
}
