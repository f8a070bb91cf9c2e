//! The trace: an optional bounded ring of lifecycle events read by cursor, like a
//! `tokio::sync::broadcast` receiver that reports how much it lagged.
//!
//! Every event gets a cursor, its position in the bus's history: 0 for the first event ever
//! recorded, then 1, 2, ... Cursors are never reused, not even after the ring is resized or
//! switched off and on again. The ring keeps the newest `capacity` events; older ones are
//! overwritten. A reader keeps the cursor [`TraceRing::since`] hands back and passes it next
//! time; [`TraceBatch::missed`] tells it how many events it lost because it read too rarely
//! (or because tracing was off in between), so a visualiser can say "312 events not shown"
//! instead of silently drawing a gap.
//!
//! Off (capacity 0, the default) recording costs one branch per event site and allocates
//! nothing.
//!
//! # Examples
//!
//! ```
//! use switchyard_core::trace::{TraceKind, TraceRing};
//! use switchyard_core::Instant;
//!
//! let mut ring = TraceRing::new(2);
//! for detail in 0..3 {
//!     ring.push(Instant::from_micros(detail), TraceKind::Published, None, None, None, detail);
//! }
//! // Capacity 2: event 0 was overwritten.
//! let batch = ring.since(0);
//! assert_eq!(batch.missed, 1);
//! assert_eq!(batch.events.iter().map(|e| e.cursor).collect::<Vec<_>>(), [1, 2]);
//! assert_eq!(batch.cursor, 3);
//!
//! // Nothing new since then.
//! assert!(ring.since(batch.cursor).events.is_empty());
//!
//! // Kinds have stable snake_case names, as in JavaScript and the recording format.
//! assert_eq!(TraceKind::RetryScheduled.as_str(), "retry_scheduled");
//! assert_eq!(TraceKind::parse("dead_lettered"), Some(TraceKind::DeadLettered));
//! ```

use alloc::collections::VecDeque;
use alloc::sync::Arc;
use alloc::vec::Vec;
use core::fmt;
use serde::{Deserialize, Serialize};

use crate::id::{MessageId, SubscriptionId};
use crate::message::Origin;
use crate::time::Instant;

/// What happened.
#[derive(Copy, Clone, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum TraceKind {
    /// A subscription was added.
    Subscribed,
    /// A subscription was removed (`detail` 0 = by the host, 1 = reclaimed weak, 2 = once/max
    /// reached, 3 = its owner was released while it was not weak: a reported leak).
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
    /// A message was dropped (`detail` 0 = oldest by overflow, 1 = newest by overflow, or the
    /// new one when in-flight messages fill the capacity, 2 = its subscription was removed while
    /// it was queued or in flight, 3 = a retained message evicted with its topic past
    /// `max_topics`, with no subscription).
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
    /// The dead-letter store was full: its oldest entry was dropped to make room (`detail` =
    /// that entry's dead-letter id; `message` and `subscription` are the entry's).
    DeadLetterEvicted,
}

impl TraceKind {
    /// Every kind, in declaration order.
    pub const ALL: [TraceKind; 24] = [
        TraceKind::Subscribed,
        TraceKind::Unsubscribed,
        TraceKind::Published,
        TraceKind::Enqueued,
        TraceKind::Delivering,
        TraceKind::Delivered,
        TraceKind::Filtered,
        TraceKind::Failed,
        TraceKind::RetryScheduled,
        TraceKind::DeadLettered,
        TraceKind::Dropped,
        TraceKind::Backpressure,
        TraceKind::BatchFlushed,
        TraceKind::StrategySwapped,
        TraceKind::Paused,
        TraceKind::Resumed,
        TraceKind::CircuitOpened,
        TraceKind::CircuitHalfOpen,
        TraceKind::CircuitClosed,
        TraceKind::LeakSuspected,
        TraceKind::Redriven,
        TraceKind::TimedOut,
        TraceKind::CascadeRefused,
        TraceKind::DeadLetterEvicted,
    ];

    /// The snake_case name (as used in JS and the recording format; equal to the serde name).
    pub const fn as_str(self) -> &'static str {
        match self {
            TraceKind::Subscribed => "subscribed",
            TraceKind::Unsubscribed => "unsubscribed",
            TraceKind::Published => "published",
            TraceKind::Enqueued => "enqueued",
            TraceKind::Delivering => "delivering",
            TraceKind::Delivered => "delivered",
            TraceKind::Filtered => "filtered",
            TraceKind::Failed => "failed",
            TraceKind::RetryScheduled => "retry_scheduled",
            TraceKind::DeadLettered => "dead_lettered",
            TraceKind::Dropped => "dropped",
            TraceKind::Backpressure => "backpressure",
            TraceKind::BatchFlushed => "batch_flushed",
            TraceKind::StrategySwapped => "strategy_swapped",
            TraceKind::Paused => "paused",
            TraceKind::Resumed => "resumed",
            TraceKind::CircuitOpened => "circuit_opened",
            TraceKind::CircuitHalfOpen => "circuit_half_open",
            TraceKind::CircuitClosed => "circuit_closed",
            TraceKind::LeakSuspected => "leak_suspected",
            TraceKind::Redriven => "redriven",
            TraceKind::TimedOut => "timed_out",
            TraceKind::CascadeRefused => "cascade_refused",
            TraceKind::DeadLetterEvicted => "dead_letter_evicted",
        }
    }

    /// The kind whose [`as_str`](TraceKind::as_str) name is `name` (exact, case-sensitive),
    /// or `None` if no kind has that name.
    pub fn parse(name: &str) -> Option<TraceKind> {
        TraceKind::ALL
            .into_iter()
            .find(|kind| kind.as_str() == name)
    }
}

impl fmt::Display for TraceKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
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
    /// On a `published` event of a bridged message: where it came from (the realm that
    /// published it first), so a visualiser can draw remote publishers. `None` otherwise.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub origin: Option<Arc<Origin>>,
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
///
/// Holds the newest `capacity` events; see the [module docs](self) for cursors and
/// [`TraceBatch::missed`].
#[derive(Debug, Default)]
pub struct TraceRing {
    capacity: usize,
    events: VecDeque<TraceEvent>,
    next_cursor: u64,
}

impl TraceRing {
    /// A ring holding `capacity` events (0 = off). Memory grows with use up to `capacity`
    /// events; nothing is reserved up front.
    pub fn new(capacity: usize) -> Self {
        TraceRing {
            capacity,
            events: VecDeque::new(),
            next_cursor: 0,
        }
    }
    /// Whether recording is on.
    #[inline]
    pub fn enabled(&self) -> bool {
        self.capacity > 0
    }
    /// How many events the ring holds at most (0 = off).
    pub fn capacity(&self) -> usize {
        self.capacity
    }
    /// How many events the ring holds now.
    pub fn len(&self) -> usize {
        self.events.len()
    }
    /// Whether the ring holds no event.
    pub fn is_empty(&self) -> bool {
        self.events.is_empty()
    }
    /// The cursor the next recorded event will get (= events recorded so far).
    pub fn next_cursor(&self) -> u64 {
        self.next_cursor
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
        if !self.enabled() {
            return;
        }
        if self.events.len() >= self.capacity {
            self.events.pop_front();
        }
        let cursor = self.next_cursor;
        self.next_cursor = cursor.saturating_add(1);
        self.events.push_back(TraceEvent {
            cursor,
            at,
            kind,
            subscription,
            message,
            topic,
            detail,
            origin: None,
        });
    }

    /// Sets the origin of the newest event (the `published` event of a bridged message just
    /// pushed). No-op when off or empty.
    pub(crate) fn set_last_origin(&mut self, origin: &Arc<Origin>) {
        if let Some(event) = self.events.back_mut() {
            event.origin = Some(Arc::clone(origin));
        }
    }
    /// Accounts for `count` events recorded and at once overwritten: advances the cursor by
    /// `count` and empties the ring. Only correct when at least `capacity` events are pushed
    /// right after (so every event held now, and the skipped ones, would have been
    /// overwritten anyway); the bus uses it to record long inline runs without building
    /// events nobody can read. No-op when off.
    pub(crate) fn skip_overwritten(&mut self, count: u64) {
        if !self.enabled() || count == 0 {
            return;
        }
        self.events.clear();
        self.next_cursor = self.next_cursor.saturating_add(count);
    }

    /// Resizes (0 = off and cleared); keeps the newest events that fit and the cursor.
    /// Events dropped by shrinking are reported as missed by later reads.
    pub fn set_capacity(&mut self, capacity: usize) {
        self.capacity = capacity;
        if self.events.len() > capacity {
            let excess = self.events.len() - capacity;
            self.events.drain(..excess);
            self.events.shrink_to(capacity);
        }
    }
    /// Events at or after `cursor` still held, oldest first, with the cursor to pass next
    /// time and how many events from `cursor` on were overwritten before this read.
    ///
    /// A `cursor` at or beyond the end returns no event, `missed` 0 and the current end as
    /// the next cursor (so a reader holding a cursor from the future resynchronises).
    pub fn since(&self, cursor: u64) -> TraceBatch {
        let end = self.next_cursor;
        if cursor >= end {
            return TraceBatch {
                events: Vec::new(),
                cursor: end,
                missed: 0,
            };
        }
        let oldest = self.events.front().map_or(end, |event| event.cursor);
        let missed = oldest.saturating_sub(cursor);
        let skip = usize::try_from(cursor.saturating_sub(oldest)).unwrap_or(usize::MAX);
        let events = self.events.iter().skip(skip).cloned().collect();
        TraceBatch {
            events,
            cursor: end,
            missed,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ring_with(capacity: usize, count: u64) -> TraceRing {
        let mut ring = TraceRing::new(capacity);
        for n in 0..count {
            ring.push(
                Instant::from_micros(n),
                TraceKind::Enqueued,
                None,
                Some(MessageId(n + 1)),
                None,
                n,
            );
        }
        ring
    }

    fn cursors(batch: &TraceBatch) -> Vec<u64> {
        batch.events.iter().map(|event| event.cursor).collect()
    }

    #[test]
    fn an_off_ring_records_nothing_and_allocates_nothing() {
        let mut ring = ring_with(0, 5);
        assert!(!ring.enabled());
        assert!(ring.is_empty());
        assert_eq!(ring.next_cursor(), 0);
        assert_eq!(ring.events.capacity(), 0);
        assert_eq!(
            ring.since(0),
            TraceBatch {
                events: Vec::new(),
                cursor: 0,
                missed: 0
            }
        );
        ring.set_capacity(0);
        assert!(ring.is_empty());
    }

    #[test]
    fn push_numbers_events_from_zero_and_keeps_their_fields() {
        let mut ring = TraceRing::new(4);
        let topic: Arc<str> = Arc::from("orders.created");
        let sub = SubscriptionId {
            index: 3,
            generation: 1,
        };
        ring.push(
            Instant::from_micros(7),
            TraceKind::Delivered,
            Some(sub),
            Some(MessageId(9)),
            Some(topic.clone()),
            42,
        );
        let batch = ring.since(0);
        assert_eq!(
            batch.events,
            [TraceEvent {
                cursor: 0,
                at: Instant::from_micros(7),
                kind: TraceKind::Delivered,
                subscription: Some(sub),
                message: Some(MessageId(9)),
                topic: Some(topic),
                detail: 42,
                origin: None,
            }]
        );
        assert_eq!((batch.cursor, batch.missed), (1, 0));
    }

    #[test]
    fn a_full_ring_overwrites_the_oldest_event() {
        let ring = ring_with(3, 5);
        assert_eq!(ring.len(), 3);
        let batch = ring.since(0);
        assert_eq!(cursors(&batch), [2, 3, 4]);
        assert_eq!((batch.cursor, batch.missed), (5, 2));
    }

    #[test]
    fn reading_from_a_held_cursor_skips_older_events_and_misses_none() {
        let ring = ring_with(8, 6);
        let batch = ring.since(4);
        assert_eq!(cursors(&batch), [4, 5]);
        assert_eq!((batch.cursor, batch.missed), (6, 0));
    }

    #[test]
    fn a_reader_following_the_returned_cursor_sees_every_event_once() {
        let mut ring = TraceRing::new(4);
        let mut cursor = 0;
        let mut seen = Vec::new();
        for round in 0..5u64 {
            for n in 0..3 {
                ring.push(
                    Instant::ZERO,
                    TraceKind::Published,
                    None,
                    None,
                    None,
                    round * 3 + n,
                );
            }
            let batch = ring.since(cursor);
            assert_eq!(batch.missed, 0);
            seen.extend(batch.events.iter().map(|event| event.detail));
            cursor = batch.cursor;
        }
        assert_eq!(seen, (0..15).collect::<Vec<_>>());
    }

    #[test]
    fn missed_counts_only_events_between_the_cursor_and_the_oldest_held() {
        let ring = ring_with(3, 10);
        let batch = ring.since(5);
        assert_eq!(cursors(&batch), [7, 8, 9]);
        assert_eq!(batch.missed, 2);
    }

    #[test]
    fn a_cursor_at_or_beyond_the_end_returns_nothing_and_misses_nothing() {
        let ring = ring_with(3, 4);
        assert_eq!(
            ring.since(4),
            TraceBatch {
                events: Vec::new(),
                cursor: 4,
                missed: 0
            }
        );
        assert_eq!(
            ring.since(u64::MAX),
            TraceBatch {
                events: Vec::new(),
                cursor: 4,
                missed: 0
            }
        );
    }

    #[test]
    fn shrinking_keeps_the_newest_events_and_reports_the_rest_as_missed() {
        let mut ring = ring_with(5, 5);
        ring.set_capacity(2);
        assert_eq!(ring.capacity(), 2);
        let batch = ring.since(0);
        assert_eq!(cursors(&batch), [3, 4]);
        assert_eq!(batch.missed, 3);
        ring.push(Instant::ZERO, TraceKind::Paused, None, None, None, 0);
        assert_eq!(cursors(&ring.since(0)), [4, 5]);
    }

    #[test]
    fn turning_off_clears_the_events_but_keeps_the_cursor() {
        let mut ring = ring_with(5, 3);
        ring.set_capacity(0);
        assert!(!ring.enabled());
        assert!(ring.is_empty());
        ring.push(Instant::ZERO, TraceKind::Paused, None, None, None, 0);
        assert_eq!(
            ring.since(1),
            TraceBatch {
                events: Vec::new(),
                cursor: 3,
                missed: 2
            }
        );

        ring.set_capacity(5);
        ring.push(Instant::ZERO, TraceKind::Resumed, None, None, None, 0);
        let batch = ring.since(0);
        assert_eq!(cursors(&batch), [3]);
        assert_eq!((batch.cursor, batch.missed), (4, 3));
    }

    #[test]
    fn growing_keeps_every_event_held() {
        let mut ring = ring_with(2, 4);
        ring.set_capacity(10);
        ring.push(Instant::ZERO, TraceKind::Resumed, None, None, None, 0);
        assert_eq!(cursors(&ring.since(0)), [2, 3, 4]);
    }

    #[test]
    fn skipping_overwritten_events_advances_the_cursor_and_reports_them_missed() {
        let mut ring = ring_with(3, 2);
        ring.skip_overwritten(10);
        for detail in 0..3 {
            ring.push(
                Instant::ZERO,
                TraceKind::Published,
                None,
                None,
                None,
                detail,
            );
        }
        let batch = ring.since(0);
        assert_eq!(cursors(&batch), [12, 13, 14]);
        assert_eq!((batch.cursor, batch.missed), (15, 12));

        let mut off = TraceRing::new(0);
        off.skip_overwritten(10);
        assert_eq!(off.next_cursor(), 0);
    }

    #[test]
    fn kind_names_equal_the_serde_names() {
        for kind in TraceKind::ALL {
            let json = serde_json::to_string(&kind).expect("serialisable");
            assert_eq!(json, alloc::format!("\"{}\"", kind.as_str()));
            assert_eq!(alloc::format!("{kind}"), kind.as_str());
        }
    }

    #[test]
    fn parse_is_the_inverse_of_as_str_and_refuses_other_names() {
        for kind in TraceKind::ALL {
            assert_eq!(TraceKind::parse(kind.as_str()), Some(kind));
        }
        assert_eq!(
            TraceKind::parse("circuit_half_open"),
            Some(TraceKind::CircuitHalfOpen)
        );
        for name in ["", "Delivered", "delivered ", "retryScheduled", "unknown"] {
            assert_eq!(TraceKind::parse(name), None, "{name:?}");
        }
    }

    #[test]
    fn all_lists_every_kind_once_in_declaration_order() {
        // serde's derived Deserialize accepts a variant index: walk the indexes until it
        // refuses one, so a variant added to the enum but not to ALL fails here.
        use serde::de::value::{Error, U32Deserializer};
        use serde::de::IntoDeserializer;
        let mut declared = Vec::new();
        for index in 0u32.. {
            let deserializer: U32Deserializer<Error> = index.into_deserializer();
            match TraceKind::deserialize(deserializer) {
                Ok(kind) => declared.push(kind),
                Err(_) => break,
            }
        }
        assert_eq!(declared, TraceKind::ALL);
    }
}
