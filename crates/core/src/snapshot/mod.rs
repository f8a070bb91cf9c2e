//! Versioned, serde-serialisable snapshots of a bus, so a host can persist it (IndexedDB) and
//! recover after a reload without losing a message. Payload encoding is the host's, through
//! [`PayloadCodec`]. A snapshot from a newer version, or an inconsistent one, is refused and
//! nothing is half-restored.
//!
//! # What a snapshot holds
//!
//! A [`Snapshot`] is plain data (no handlers, no `Arc`s, no host objects):
//!
//! * every subscription's configuration and state ([`SubscriptionSnapshot`]): pattern,
//!   options, pause flag, circuit breaker, leak-watch state, counters, histograms, and its
//!   queue of waiting messages with their attempt counts and retry times;
//! * every message referenced anywhere, **once** ([`MessageSnapshot`]), payload encoded by the
//!   host's codec; queues, dead letters and retained lists name messages by id, so a message
//!   queued for ten subscriptions is stored (and decoded) once, and shared again on restore;
//! * the dead letters ([`DeadLetterSnapshot`]) and the dead-letter id counter;
//! * per-topic sequence numbers, counters, latency and retained messages ([`TopicSnapshot`]);
//! * the global sequence number, the subscription creation counter, the jitter PRNG state,
//!   consumer-group cursors and the bus-wide counters ([`BusCounters`]).
//!
//! Deliveries in flight when the snapshot is taken are not lost: their messages are written
//! back at the head of their subscription's queue with the same attempt number, so after a
//! restore they are delivered again (at-least-once). They counted toward the capacity while in
//! flight, so the written-back queue fits it; a queue may still be longer than its capacity
//! after [`Bus::set_capacity`] shrank it (a `reject` queue keeps its excess, in-flight messages
//! are never evicted), and such a snapshot restores as it was. The trace ring, the trend-leak window,
//! remembered timed-out tokens and the count of evicted topics (`BusMetrics::topics_evicted`,
//! which describes the memory of one bus rather than its messages) are not persisted; topics
//! evicted before the snapshot are simply not in it.
//!
//! # Time
//!
//! The engine's clock is the host's. A page reload usually restarts that clock
//! (`performance.now()`), so instants in a snapshot are taken relative to the bus clock at
//! snapshot time ([`Snapshot::clock`]) and moved onto the `now` given to
//! [`Bus::restore`]: a retry due 2 s after the snapshot is due 2 s after the restore, a TTL
//! keeps its remaining time, a breaker its remaining cooldown. Time spent offline does not
//! count.
//!
//! # Restoring
//!
//! [`Bus::restore`] checks the version, then validates the whole snapshot (unique ids, every
//! referenced message present, patterns and policies valid, queued messages matching their
//! subscription's pattern, sequence numbers consistent) and decodes every payload **before** building anything. Any
//! problem is a [`SnapshotError`] and no bus is returned. On success it returns a
//! [`Restored`]: the new bus plus the mapping from each old [`SubscriptionId`] to its new one,
//! so the host can re-attach its handlers.
//!
//! # Binary form
//!
//! [`Snapshot::to_bytes`] and [`Snapshot::from_bytes`] write and read the snapshot as compact,
//! versioned bytes (postcard's layout, see [`wire`]) without serde, which is how the
//! WebAssembly build stores it; any serde format works too, as below.
//!
//! # Example
//!
//! ```
//! use switchyard_core::snapshot::{SerdeCodec, Snapshot};
//! use switchyard_core::{Bus, Config, Instant, PublishOptions, SubscribeOptions};
//!
//! let t0 = Instant::from_millis(1_000);
//! let mut bus: Bus<String> = Bus::new(Config::default()).unwrap();
//! let old = bus.subscribe("orders.*", SubscribeOptions::default(), t0).unwrap();
//! bus.publish("orders.created", "order 1".to_string(), PublishOptions::default(), t0).unwrap();
//!
//! // Persist: any serde format works; the payload codec is the host's.
//! let json = serde_json::to_string(&bus.snapshot(&SerdeCodec).unwrap()).unwrap();
//!
//! // After a reload: restore with the host's new clock and re-attach handlers.
//! let snapshot: Snapshot<String> = serde_json::from_str(&json).unwrap();
//! let now = Instant::from_millis(5);
//! let mut restored = Bus::restore(Config::default(), snapshot, &SerdeCodec, now).unwrap();
//! let new = restored.new_id(old).unwrap();
//! let delivery = restored.bus.poll_delivery(now).unwrap();
//! assert_eq!(delivery.subscription, new);
//! assert_eq!(delivery.items[0].message.payload, "order 1");
//! ```

use alloc::string::String;
use alloc::vec::Vec;
use core::fmt;
use core::time::Duration;
use serde::de::DeserializeOwned;
use serde::{Deserialize, Serialize};

use crate::breaker::Breaker;
use crate::bus::Bus;
use crate::dead_letter::DeadLetterReason;
use crate::error::ConfigError;
use crate::id::{DeadLetterId, MessageId, OwnerId, SubscriptionId};
use crate::leak::IdleWatch;
use crate::metrics::{Counters, Histogram};
use crate::retry::{RetryPolicy, Rng};
use crate::subscription::{DeliveryStrategy, OrderingMode, Overflow};
use crate::time::Instant;

mod restore;
mod take;
#[cfg(test)]
mod tests;
mod validate;
pub mod wire;

/// The snapshot format this build writes, and the newest it reads. Version 2 added
/// [`MessageSnapshot::origin`]; version 1 snapshots are still read (their messages have no
/// origin).
pub const SNAPSHOT_VERSION: u32 = 2;

/// The subscription id given to dead letters whose subscription no longer existed when the
/// snapshot was taken: it never names a live subscription, so redriving such a dead letter
/// fails with [`crate::RedriveError::SubscriptionGone`] (its name and pattern are kept).
pub const GONE_SUBSCRIPTION: SubscriptionId = SubscriptionId {
    index: u32::MAX,
    generation: u32::MAX,
};

/// How the host turns its payloads into something serde can store, and back.
///
/// ```
/// use switchyard_core::snapshot::PayloadCodec;
///
/// /// Stores `Vec<u8>` payloads as hex text (say, for a JSON store).
/// struct Hex;
/// impl PayloadCodec<Vec<u8>> for Hex {
///     type Encoded = String;
///     fn encode(&self, payload: &Vec<u8>) -> Result<String, String> {
///         Ok(payload.iter().map(|b| format!("{b:02x}")).collect())
///     }
///     fn decode(&self, text: String) -> Result<Vec<u8>, String> {
///         if text.len() % 2 != 0 {
///             return Err("odd number of hex digits".into());
///         }
///         (0..text.len())
///             .step_by(2)
///             .map(|i| u8::from_str_radix(&text[i..i + 2], 16).map_err(|e| e.to_string()))
///             .collect()
///     }
/// }
/// assert_eq!(Hex.decode(Hex.encode(&vec![1, 255]).unwrap()).unwrap(), vec![1, 255]);
/// ```
pub trait PayloadCodec<P> {
    /// The serialisable form of a payload.
    type Encoded: Serialize + DeserializeOwned;
    /// Encodes one payload; the error text ends up in [`SnapshotError::Payload`].
    fn encode(&self, payload: &P) -> Result<Self::Encoded, String>;
    /// Decodes one payload; the error text ends up in [`SnapshotError::Payload`].
    fn decode(&self, encoded: Self::Encoded) -> Result<P, String>;
}

/// The codec for payloads that are themselves serde types: stores a clone of each payload.
#[derive(Copy, Clone, Debug, Default)]
pub struct SerdeCodec;

impl<P: Clone + Serialize + DeserializeOwned> PayloadCodec<P> for SerdeCodec {
    type Encoded = P;
    fn encode(&self, payload: &P) -> Result<P, String> {
        Ok(payload.clone())
    }
    fn decode(&self, encoded: P) -> Result<P, String> {
        Ok(encoded)
    }
}

/// Why a snapshot could not be taken or restored. A failed restore returns no bus.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum SnapshotError {
    /// The snapshot was written by a newer version of the format.
    NewerVersion {
        /// The version in the snapshot.
        found: u32,
        /// The newest version this build reads ([`SNAPSHOT_VERSION`]).
        supported: u32,
    },
    /// The snapshot is inconsistent; the text says what is wrong.
    Corrupt(String),
    /// The payload codec failed; the text is the codec's, prefixed with the message id.
    Payload(String),
    /// The configuration given to [`Bus::restore`] is invalid.
    InvalidConfig(ConfigError),
}

impl fmt::Display for SnapshotError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            SnapshotError::NewerVersion { found, supported } => write!(
                f,
                "snapshot format version {found} is newer than the newest this build reads ({supported})"
            ),
            SnapshotError::Corrupt(reason) => write!(f, "corrupt snapshot: {reason}"),
            SnapshotError::Payload(reason) => write!(f, "payload codec failed: {reason}"),
            SnapshotError::InvalidConfig(error) => write!(f, "invalid configuration: {error}"),
        }
    }
}

#[cfg(feature = "std")]
impl std::error::Error for SnapshotError {}

/// A whole bus as plain serde data. `E` is the host's encoded payload type
/// ([`PayloadCodec::Encoded`]).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Snapshot<E> {
    /// Format version ([`SNAPSHOT_VERSION`] when written by this build).
    pub version: u32,
    /// The bus clock (latest instant seen) when the snapshot was taken; every other instant
    /// is restored relative to it.
    pub clock: Instant,
    /// The last global sequence number handed out.
    pub last_message: u64,
    /// Creation order of the next subscription.
    pub next_order: u64,
    /// The jitter PRNG, so retries after a restore stay deterministic.
    pub rng: Rng,
    /// Round-robin cursor per consumer group.
    pub groups: Vec<(String, u64)>,
    /// Every topic in the table (published to and not evicted since, see
    /// [`Config::max_topics`](crate::Config::max_topics)).
    pub topics: Vec<TopicSnapshot>,
    /// Every message referenced by a queue, a dead letter or a retained list, once.
    pub messages: Vec<MessageSnapshot<E>>,
    /// Active subscriptions, in creation order.
    pub subscriptions: Vec<SubscriptionSnapshot>,
    /// Dead letters, oldest first.
    pub dead_letters: Vec<DeadLetterSnapshot>,
    /// The next dead-letter id.
    pub next_dead_letter: u64,
    /// Bus-wide counters.
    pub counters: BusCounters,
    /// Owners reported released while they still owned strong subscriptions.
    pub released_owners: Vec<OwnerId>,
}

/// One message, with its payload encoded by the host.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct MessageSnapshot<E> {
    /// Global sequence number.
    pub id: MessageId,
    /// The concrete topic.
    pub topic: String,
    /// Sequence number within its topic.
    pub topic_seq: u64,
    /// When it was published.
    pub published_at: Instant,
    /// The message whose handler published it.
    pub causation: Option<MessageId>,
    /// Correlation id.
    pub correlation: Option<String>,
    /// Causation hops from the root publish.
    pub depth: u32,
    /// Headers, in order.
    pub headers: Vec<(String, String)>,
    /// TTL deadline.
    pub expires_at: Option<Instant>,
    /// Where a bridged message came from (absent from version 1 snapshots).
    pub origin: Option<OriginSnapshot>,
    /// The encoded payload.
    pub payload: E,
}

/// A message's [`Origin`](crate::Origin) as plain data.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct OriginSnapshot {
    /// The publishing realm.
    pub realm: String,
    /// The message's id there.
    pub id: u64,
    /// Its per-topic sequence number there.
    pub seq: u64,
    /// Links crossed.
    pub hops: u8,
}

/// One topic's sequence number, counters, latency and retained messages.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct TopicSnapshot {
    /// The topic.
    pub name: String,
    /// Last per-topic sequence number handed out.
    pub seq: u64,
    /// Counters.
    pub counters: Counters,
    /// Publish → delivered latency over all its subscriptions.
    pub latency: Option<Histogram>,
    /// Retained messages, oldest first.
    pub retained: Vec<MessageId>,
}

/// One waiting (message, subscription) pair.
#[derive(Copy, Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct QueuedSnapshot {
    /// The message.
    pub message: MessageId,
    /// When it entered the subscription's queue.
    pub enqueued_at: Instant,
    /// When its first attempt failed (meaningful once `attempt > 1`).
    pub first_failure_at: Instant,
    /// The attempt its next delivery will be (1-based).
    pub attempt: u32,
}

/// One subscription: configuration (no handler) and state.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct SubscriptionSnapshot {
    /// Its id on the bus the snapshot was taken from.
    pub id: SubscriptionId,
    /// The pattern text.
    pub pattern: String,
    /// Name.
    pub name: Option<String>,
    /// Consumer group.
    pub group: Option<String>,
    /// Creation time.
    pub created_at: Instant,
    /// Creation order.
    pub order: u64,
    /// Priority.
    pub priority: i32,
    /// Queue bound.
    pub capacity: usize,
    /// Overflow policy.
    pub overflow: Overflow,
    /// Delivery strategy.
    pub delivery: DeliveryStrategy,
    /// Ordering mode.
    pub ordering: OrderingMode,
    /// Most deliveries in flight.
    pub concurrency: u32,
    /// Whether the host evaluates a filter.
    pub has_filter: bool,
    /// Paused by the host.
    pub paused: bool,
    /// A flush was requested and not yet served.
    pub flush_requested: bool,
    /// Retry policy in force.
    pub retry: RetryPolicy,
    /// Timeout of pending deliveries.
    pub timeout: Option<Duration>,
    /// `max_deliveries`.
    pub max_deliveries: Option<u32>,
    /// Messages accepted toward `max_deliveries`.
    pub accepted: u32,
    /// Messages delivered successfully toward `max_deliveries`.
    pub successes: u32,
    /// Owner.
    pub owner: Option<OwnerId>,
    /// Weak ownership.
    pub weak: bool,
    /// Creation stack.
    pub stack: Option<String>,
    /// Circuit breaker with its state.
    pub breaker: Option<Breaker>,
    /// Waiting messages, FIFO (deliveries that were in flight come first).
    pub queue: Vec<QueuedSnapshot>,
    /// Relaxed mode: failed messages waiting for their retry, with their due times.
    pub delayed: Vec<(Instant, QueuedSnapshot)>,
    /// Strict mode: the head may not go before this instant.
    pub retry_at: Option<Instant>,
    /// Idle-leak watch.
    pub idle: IdleWatch,
    /// The current idle episode was reported.
    pub idle_flagged: bool,
    /// Counters.
    pub counters: Counters,
    /// Highest depth seen.
    pub high_water: usize,
    /// Publish → delivered latency.
    pub latency: Option<Histogram>,
    /// Handler duration.
    pub handler_latency: Option<Histogram>,
    /// Breaker openings.
    pub breaker_opened: u64,
}

/// One dead letter; the message is named by id.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct DeadLetterSnapshot {
    /// Its id.
    pub id: DeadLetterId,
    /// The message.
    pub message: MessageId,
    /// The subscription it failed for (an old id; mapped on restore).
    pub subscription: SubscriptionId,
    /// That subscription's name.
    pub subscription_name: Option<String>,
    /// That subscription's pattern.
    pub pattern: String,
    /// Attempts made.
    pub attempts: u32,
    /// The last error text.
    pub last_error: Option<String>,
    /// Why.
    pub reason: DeadLetterReason,
    /// When the first attempt failed.
    pub first_failure_at: Instant,
    /// When it was dead-lettered.
    pub dead_lettered_at: Instant,
}

/// Bus-wide counters.
#[derive(Copy, Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct BusCounters {
    /// Message counters over the whole bus.
    pub totals: Counters,
    /// Settles that arrived after their delivery timed out.
    pub late_settles: u64,
    /// Publishes refused by the cascade limit.
    pub cascades_refused: u64,
    /// Publishes refused by `reject` backpressure.
    pub publishes_rejected: u64,
    /// Weak subscriptions reclaimed.
    pub reclaimed: u64,
    /// Messages expired by TTL.
    pub expired: u64,
    /// Leak reports raised.
    pub leaks_suspected: u64,
    /// Dead letters evicted because the store was full.
    pub dead_letters_evicted: u64,
}

/// A restored bus and how its subscriptions were renumbered.
#[derive(Debug)]
pub struct Restored<P> {
    /// The new bus.
    pub bus: Bus<P>,
    /// `(old id, new id)` for every subscription, in creation order: re-attach handlers
    /// with it.
    pub subscriptions: Vec<(SubscriptionId, SubscriptionId)>,
}

impl<P> Restored<P> {
    /// The new id of the subscription that had `old` in the snapshot.
    pub fn new_id(&self, old: SubscriptionId) -> Option<SubscriptionId> {
        self.subscriptions
            .iter()
            .find(|(o, _)| *o == old)
            .map(|(_, new)| *new)
    }
}
