//! The trace: an optional bounded ring of lifecycle events read by cursor, like a
//! `tokio::sync::broadcast` receiver that reports how much it lagged. Off (capacity 0) it
//! costs one branch per event site.

use alloc::collections::VecDeque;
use alloc::sync::Arc;
use alloc::vec::Vec;
use serde::{Deserialize, Serialize};

use crate::id::{MessageId, SubscriptionId};
use crate::time::Instant;

/// What happened.
#[derive(Copy, Clone, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum TraceKind {
    /// A subscription was added.
    Subscribed,
    /// A subscription was removed (`detail` 1 = reclaimed weak, 2 = once/max reached).
    Unsubscribed,
    /// A message was published (`detail` = matched count).
    Published,
    /// A message was enqueued for a subscription (`detail` = depth after).
    Enqueued,
    /// A delivery was handed to the host (`detail` = attempt).
    Delivering,
    /// A delivery completed successfully (`detail` = handler µs).
    Delivered,
    /// The host's filter rejected a message.
    Filtered,
    /// A delivery failed (`detail` = attempt).
    Failed,
    /// A retry was scheduled (`detail` = delay µs).
    RetryScheduled,
    /// A message was dead-lettered (`detail` = reason index in DeadLetterReason order).
    DeadLettered,
    /// A message was dropped by an overflow policy (`detail` 0 = oldest, 1 = newest).
    Dropped,
    /// A publish was refused because a `reject` queue was full.
    Backpressure,
    /// A batch was handed out (`detail` = size).
    BatchFlushed,
    /// The delivery strategy changed.
    StrategySwapped,
    /// A subscription was paused.
    Paused,
    /// A subscription was resumed.
    Resumed,
    /// A breaker opened.
    CircuitOpened,
    /// A breaker went half-open.
    CircuitHalfOpen,
    /// A breaker closed.
    CircuitClosed,
    /// A leak was suspected.
    LeakSuspected,
    /// A dead letter was redriven.
    Redriven,
    /// A delivery timed out.
    TimedOut,
    /// A publish was refused by the cascade limit.
    CascadeRefused,
}

impl TraceKind {
    /// The snake_case name (as used in JS and the recording format).
    pub fn as_str(self) -> &'static str {
        todo!("H1")
    }
}

/// One lifecycle event.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct TraceEvent {
    /// Position in the trace (starts at 0, never reused).
    pub cursor: u64,
    /// When.
    pub at: Instant,
    /// What.
    pub kind: TraceKind,
    /// The subscription concerned, if any.
    pub subscription: Option<SubscriptionId>,
    /// The message concerned, if any.
    pub message: Option<MessageId>,
    /// The topic concerned, if any.
    pub topic: Option<Arc<str>>,
    /// Kind-specific number (see [`TraceKind`]).
    pub detail: u64,
}

/// The result of reading the trace from a cursor.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct TraceBatch {
    /// Events at or after the cursor still in the ring, oldest first.
    pub events: Vec<TraceEvent>,
    /// Cursor to pass next time.
    pub cursor: u64,
    /// Events between the given cursor and the oldest returned that were overwritten.
    pub missed: u64,
}

/// A bounded ring of trace events.
#[derive(Debug, Default)]
pub struct TraceRing {
    capacity: usize,
    events: VecDeque<TraceEvent>,
    next_cursor: u64,
}

impl TraceRing {
    /// A ring holding `capacity` events (0 = off).
    pub fn new(capacity: usize) -> Self {
        TraceRing { capacity, events: VecDeque::new(), next_cursor: 0 }
    }
    /// Whether recording is on.
    #[inline]
    pub fn enabled(&self) -> bool {
        self.capacity > 0
    }
    /// Records an event (no-op when off); overwrites the oldest when full.
    #[allow(clippy::too_many_arguments)]
    pub fn push(
        &mut self,
        at: Instant,
        kind: TraceKind,
        subscription: Option<SubscriptionId>,
        message: Option<MessageId>,
        topic: Option<Arc<str>>,
        detail: u64,
    ) {
        todo!("H3 {at:?} {kind:?} {subscription:?} {message:?} {topic:?} {detail}")
    }
    /// Resizes (0 = off and cleared); keeps the newest events that fit and the cursor.
    pub fn set_capacity(&mut self, capacity: usize) {
        todo!("H3 {capacity}")
    }
    /// Events at or after `cursor`.
    pub fn since(&self, cursor: u64) -> TraceBatch {
        todo!("H1: {cursor}")
    }
}
