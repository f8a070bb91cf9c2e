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
//! restore they are delivered again (at-least-once). The trace ring, the trend-leak window and
//! remembered timed-out tokens are not persisted.
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
//! referenced message present, patterns and policies valid, queues within their capacity,
//! sequence numbers consistent) and decodes every payload **before** building anything. Any
//! problem is a [`SnapshotError`] and no bus is returned. On success it returns a
//! [`Restored`]: the new bus plus the mapping from each old [`SubscriptionId`] to its new one,
//! so the host can re-attach its handlers.
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

use alloc::boxed::Box;
use alloc::collections::{BTreeMap, BTreeSet, VecDeque};
use alloc::format;
use alloc::string::String;
use alloc::sync::Arc;
use alloc::vec::Vec;
use core::fmt;
use core::time::Duration;
use serde::de::DeserializeOwned;
use serde::{Deserialize, Serialize};

use crate::breaker::Breaker;
use crate::bus::slab::Key;
use crate::bus::subscriber::{Latencies, Profile, Queued, Subscriber};
use crate::bus::timers::Timer;
use crate::bus::{key, sid, Bus};
use crate::config::Config;
use crate::dead_letter::{DeadLetter, DeadLetterReason, DeadLetterStore};
use crate::error::ConfigError;
use crate::id::{DeadLetterId, MessageId, OwnerId, SubscriptionId};
use crate::leak::IdleWatch;
use crate::message::Envelope;
use crate::metrics::{Counters, Histogram};
use crate::retry::{RetryPolicy, Rng};
use crate::router::Rank;
use crate::subscription::{DeliveryStrategy, OrderingMode, Overflow};
use crate::time::Instant;
use crate::topic::{validate_topic, Pattern};

/// The snapshot format this build writes, and the newest it reads.
pub const SNAPSHOT_VERSION: u32 = 1;

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

fn corrupt(reason: String) -> SnapshotError {
    SnapshotError::Corrupt(reason)
}

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
    /// Every topic published to.
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
    /// The encoded payload.
    pub payload: E,
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

fn queued_snapshot<P>(item: &Queued<P>) -> QueuedSnapshot {
    QueuedSnapshot {
        message: item.message.id,
        enqueued_at: item.enqueued_at,
        first_failure_at: item.first_failure_at,
        attempt: item.attempt,
    }
}

/// Collects each referenced message once, by id.
struct MessageTable<'a, P> {
    messages: BTreeMap<u64, &'a Arc<Envelope<P>>>,
}

impl<'a, P> MessageTable<'a, P> {
    fn note(&mut self, message: &'a Arc<Envelope<P>>) -> MessageId {
        self.messages.entry(message.id.0).or_insert(message);
        message.id
    }
}

impl<P> Bus<P> {
    /// Writes the bus state to a [`Snapshot`], encoding each payload once with `codec`.
    ///
    /// The bus is not changed. Deliveries in flight are written back at the head of their
    /// subscription's queue (see the [module docs](crate::snapshot)). Fails only when the
    /// codec does ([`SnapshotError::Payload`]).
    pub fn snapshot<C: PayloadCodec<P>>(
        &self,
        codec: &C,
    ) -> Result<Snapshot<C::Encoded>, SnapshotError> {
        let mut table = MessageTable {
            messages: BTreeMap::new(),
        };

        // In-flight deliveries per subscription, oldest first.
        let mut in_flight: BTreeMap<Key, Vec<(Instant, u64, Vec<QueuedSnapshot>)>> =
            BTreeMap::new();
        for (_, entry) in self.in_flight.iter() {
            let items: Vec<QueuedSnapshot> = entry
                .items
                .iter()
                .map(|item| {
                    table.note(&item.message);
                    queued_snapshot(item)
                })
                .collect();
            let first = items.first().map_or(0, |q| q.message.0);
            in_flight
                .entry(entry.subscription)
                .or_default()
                .push((entry.started_at, first, items));
        }

        let mut subs: Vec<(Key, &Subscriber<P>)> = self.subs.iter().collect();
        crate::sort::sort_by_key(&mut subs, |(_, s)| s.order);
        let mut subscriptions = Vec::with_capacity(subs.len());
        for (k, sub) in subs {
            let mut queue = Vec::with_capacity(sub.queue.len());
            if let Some(mut deliveries) = in_flight.remove(&k) {
                crate::sort::sort_by_key(&mut deliveries, |(started, first, _)| (*started, *first));
                queue.extend(deliveries.into_iter().flat_map(|(_, _, items)| items));
            }
            for item in &sub.queue {
                table.note(&item.message);
                queue.push(queued_snapshot(item));
            }
            let delayed = sub
                .delayed
                .iter()
                .map(|(due, item)| {
                    table.note(&item.message);
                    (*due, queued_snapshot(item))
                })
                .collect();
            subscriptions.push(SubscriptionSnapshot {
                id: sid(k),
                pattern: String::from(sub.pattern.as_str()),
                name: sub.profile.name.clone(),
                group: sub.profile.group.clone(),
                created_at: sub.profile.created_at,
                order: sub.order,
                priority: sub.priority,
                capacity: sub.capacity,
                overflow: sub.overflow,
                delivery: sub.delivery,
                ordering: sub.ordering,
                concurrency: sub.concurrency,
                has_filter: sub.has_filter,
                paused: sub.paused,
                flush_requested: sub.flush_requested,
                retry: sub.profile.retry,
                timeout: sub.profile.timeout,
                max_deliveries: sub.profile.max_deliveries,
                accepted: sub.accepted,
                successes: sub.successes,
                owner: sub.profile.owner,
                weak: sub.profile.weak,
                stack: sub.profile.stack.clone(),
                // A half-open trial in flight is written back to the queue: the trial is free again.
                breaker: sub.breaker.as_deref().map(|b| b.clone().restored(|t| t)),
                queue,
                delayed,
                retry_at: sub.retry_at,
                idle: sub.idle,
                idle_flagged: sub.idle_flagged,
                counters: sub.counters,
                high_water: sub.high_water,
                latency: sub.latencies.as_ref().map(|l| l.latency.clone()),
                handler_latency: sub.latencies.as_ref().map(|l| l.handler.clone()),
                breaker_opened: sub.breaker_opened,
            });
        }

        let dead_letters = self
            .dead
            .iter()
            .map(|d| DeadLetterSnapshot {
                id: d.id,
                message: table.note(&d.message),
                subscription: if self.subs.get(key(d.subscription)).is_some() {
                    d.subscription
                } else {
                    GONE_SUBSCRIPTION
                },
                subscription_name: d.subscription_name.clone(),
                pattern: d.pattern.clone(),
                attempts: d.attempts,
                last_error: d.last_error.clone(),
                reason: d.reason,
                first_failure_at: d.first_failure_at,
                dead_lettered_at: d.dead_lettered_at,
            })
            .collect();

        let topics = self
            .topics
            .entries
            .iter()
            .map(|t| TopicSnapshot {
                name: String::from(&*t.name),
                seq: t.seq,
                counters: t.counters,
                latency: t.latency.clone(),
                retained: t.retained.iter().map(|m| table.note(m)).collect(),
            })
            .collect();

        let mut messages = Vec::with_capacity(table.messages.len());
        for message in table.messages.values() {
            let payload = codec
                .encode(&message.payload)
                .map_err(|e| SnapshotError::Payload(format!("message {}: {e}", message.id.0)))?;
            messages.push(MessageSnapshot {
                id: message.id,
                topic: String::from(&*message.topic),
                topic_seq: message.topic_seq,
                published_at: message.published_at,
                causation: message.causation,
                correlation: message.correlation.as_deref().map(String::from),
                depth: message.depth,
                headers: message
                    .headers
                    .iter()
                    .map(|(k, v)| (String::from(&**k), String::from(&**v)))
                    .collect(),
                expires_at: message.expires_at,
                payload,
            });
        }

        Ok(Snapshot {
            version: SNAPSHOT_VERSION,
            clock: self.now,
            last_message: self.next_message,
            next_order: self.next_order,
            rng: self.rng.clone(),
            groups: self.groups.iter().map(|(g, c)| (g.clone(), *c)).collect(),
            topics,
            messages,
            subscriptions,
            dead_letters,
            next_dead_letter: self.dead.peek_next_id().0,
            counters: BusCounters {
                totals: self.totals,
                late_settles: self.late_settles,
                cascades_refused: self.cascades_refused,
                publishes_rejected: self.publishes_rejected,
                reclaimed: self.reclaimed,
                expired: self.expired,
                leaks_suspected: self.leaks.suspected,
                dead_letters_evicted: self.dead.evicted(),
            },
            released_owners: self.leaks.released.iter().copied().collect(),
        })
    }

    /// Builds a new bus with `config` from `snapshot`, decoding payloads with `codec`; `now`
    /// is the host's current time (see the [module docs](crate::snapshot) on time).
    ///
    /// The snapshot is validated and every payload decoded before anything is built: on any
    /// error no bus is returned. Subscriptions get new ids, returned as a mapping in
    /// [`Restored::subscriptions`]; dead letters of a restored subscription name its new id.
    /// Per-subscription settings (capacity, retry, ...) come from the snapshot; bus-wide ones
    /// from `config`. If `config` holds fewer dead letters or retained messages than the
    /// snapshot, the oldest are evicted (dead letters counted as evicted).
    pub fn restore<C: PayloadCodec<P>>(
        config: Config,
        snapshot: Snapshot<C::Encoded>,
        codec: &C,
        now: Instant,
    ) -> Result<Restored<P>, SnapshotError> {
        if snapshot.version > SNAPSHOT_VERSION {
            return Err(SnapshotError::NewerVersion {
                found: snapshot.version,
                supported: SNAPSHOT_VERSION,
            });
        }
        if snapshot.version == 0 {
            return Err(corrupt(String::from("format version 0 does not exist")));
        }
        let mut bus = Bus::new(config).map_err(SnapshotError::InvalidConfig)?;
        validate(&snapshot)?;

        let clock = snapshot.clock;
        let shift = move |t: Instant| rebase(t, clock, now);

        // Decode every payload first: nothing is built if one fails.
        let mut decoded = Vec::with_capacity(snapshot.messages.len());
        for message in snapshot.messages {
            let MessageSnapshot { id, payload, .. } = message;
            let payload = codec
                .decode(payload)
                .map_err(|e| SnapshotError::Payload(format!("message {}: {e}", id.0)))?;
            decoded.push((
                MessageSnapshot {
                    id,
                    topic: message.topic,
                    topic_seq: message.topic_seq,
                    published_at: message.published_at,
                    causation: message.causation,
                    correlation: message.correlation,
                    depth: message.depth,
                    headers: message.headers,
                    expires_at: message.expires_at,
                    payload: (),
                },
                payload,
            ));
        }

        // Topics, then messages sharing the topics' names.
        bus.now = now;
        let mut topic_index: BTreeMap<String, u32> = BTreeMap::new();
        for topic in &snapshot.topics {
            let (index, entry) = bus.topics.intern(&topic.name);
            entry.seq = topic.seq;
            entry.counters = topic.counters;
            entry.latency = topic.latency.clone();
            topic_index.insert(topic.name.clone(), index);
        }
        let mut messages: BTreeMap<u64, (u32, Arc<Envelope<P>>)> = BTreeMap::new();
        for (meta, payload) in decoded {
            let Some(&index) = topic_index.get(&meta.topic) else {
                return Err(corrupt(format!(
                    "message {} names unknown topic `{}`",
                    meta.id.0, meta.topic
                )));
            };
            let Some(name) = bus
                .topics
                .entries
                .get(index as usize)
                .map(|e| Arc::clone(&e.name))
            else {
                return Err(corrupt(format!("topic `{}` was not restored", meta.topic)));
            };
            let envelope = Envelope {
                id: meta.id,
                topic: name,
                topic_seq: meta.topic_seq,
                published_at: shift(meta.published_at),
                causation: meta.causation,
                correlation: meta.correlation.map(Arc::from),
                depth: meta.depth,
                headers: meta
                    .headers
                    .into_iter()
                    .map(|(k, v)| (Box::from(k), Box::from(v)))
                    .collect(),
                expires_at: meta.expires_at.map(shift),
                payload,
            };
            messages.insert(meta.id.0, (index, Arc::new(envelope)));
        }
        let message = |id: MessageId| -> Result<(u32, Arc<Envelope<P>>), SnapshotError> {
            messages
                .get(&id.0)
                .map(|(topic, m)| (*topic, Arc::clone(m)))
                .ok_or_else(|| corrupt(format!("message {} is referenced but missing", id.0)))
        };
        let queued = |q: &QueuedSnapshot| -> Result<Queued<P>, SnapshotError> {
            let (topic, message) = message(q.message)?;
            Ok(Queued {
                message,
                enqueued_at: shift(q.enqueued_at),
                first_failure_at: shift(q.first_failure_at),
                attempt: q.attempt,
                topic,
            })
        };

        let retain = bus.config.retain;
        for topic in &snapshot.topics {
            let Some(&index) = topic_index.get(&topic.name) else {
                continue;
            };
            let skip = topic.retained.len().saturating_sub(retain);
            let mut retained = VecDeque::with_capacity(topic.retained.len() - skip);
            for id in &topic.retained[skip..] {
                retained.push_back(message(*id)?.1);
            }
            if let Some(entry) = bus.topics.entries.get_mut(index as usize) {
                entry.retained = retained;
            }
        }

        // Subscriptions in creation order.
        let mut mapping: Vec<(SubscriptionId, SubscriptionId)> =
            Vec::with_capacity(snapshot.subscriptions.len());
        let mut subscriptions = snapshot.subscriptions;
        crate::sort::sort_by_key(&mut subscriptions, |s| s.order);
        for snap in subscriptions {
            let pattern = Pattern::parse(&snap.pattern)
                .map_err(|e| corrupt(format!("subscription pattern `{}` {e}", snap.pattern)))?;
            let queue = snap
                .queue
                .iter()
                .map(&queued)
                .collect::<Result<VecDeque<_>, _>>()?;
            // By due time; equal times keep their snapshot order (the position is in the key).
            let mut delayed = snap
                .delayed
                .iter()
                .enumerate()
                .map(|(position, (due, q))| Ok((shift(*due), position, queued(q)?)))
                .collect::<Result<Vec<_>, SnapshotError>>()?;
            crate::sort::sort_by_key(&mut delayed, |(due, position, _)| (*due, *position));
            let delayed = delayed.into_iter().map(|(due, _, q)| (due, q)).collect();
            let latencies = match (snap.latency, snap.handler_latency) {
                (None, None) => None,
                (latency, handler) => Some(Box::new(Latencies {
                    latency: latency.unwrap_or_default(),
                    handler: handler.unwrap_or_default(),
                })),
            };
            let grouped = snap.group.is_some();
            let subscriber = Subscriber {
                pattern: pattern.clone(),
                profile: Box::new(Profile {
                    name: snap.name,
                    group: snap.group,
                    created_at: shift(snap.created_at),
                    retry: snap.retry,
                    timeout: snap.timeout,
                    max_deliveries: snap.max_deliveries,
                    owner: snap.owner,
                    weak: snap.weak,
                    stack: snap.stack,
                }),
                priority: snap.priority,
                order: snap.order,
                capacity: snap.capacity,
                overflow: snap.overflow,
                delivery: snap.delivery,
                ordering: snap.ordering,
                concurrency: snap.concurrency,
                has_filter: snap.has_filter,
                paused: snap.paused,
                flush_requested: snap.flush_requested,
                breaker: snap.breaker.map(|b| Box::new(b.restored(shift))),
                queue,
                delayed,
                retry_at: snap.retry_at.map(shift),
                batch_timer: None,
                in_flight: Vec::new(),
                accepted: snap.accepted,
                successes: snap.successes,
                ready_key: None,
                idle: snap.idle.shifted(shift),
                idle_flagged: snap.idle_flagged,
                counters: snap.counters,
                high_water: snap.high_water,
                latencies,
                breaker_opened: snap.breaker_opened,
            };
            let Some(k) = bus.subs.insert(subscriber) else {
                return Err(corrupt(String::from("too many subscriptions")));
            };
            if grouped {
                bus.grouped += 1;
            }
            bus.router.insert(
                &pattern,
                sid(k),
                Rank {
                    priority: snap.priority,
                    order: snap.order,
                },
            );
            // The crossing (if any) was reported before the snapshot; only the count is rebuilt.
            let _ = bus.leaks.listeners.on_subscribe(pattern.as_str());
            arm_timers(&mut bus, k);
            bus.refresh(k);
            mapping.push((snap.id, sid(k)));
        }

        // Dead letters, naming the new subscription ids.
        let mut entries = Vec::with_capacity(snapshot.dead_letters.len());
        for d in snapshot.dead_letters {
            let subscription = mapping
                .iter()
                .find(|(old, _)| *old == d.subscription)
                .map_or(GONE_SUBSCRIPTION, |m| m.1);
            entries.push(DeadLetter {
                id: d.id,
                message: message(d.message)?.1,
                subscription,
                subscription_name: d.subscription_name,
                pattern: d.pattern,
                attempts: d.attempts,
                last_error: d.last_error,
                reason: d.reason,
                first_failure_at: shift(d.first_failure_at),
                dead_lettered_at: shift(d.dead_lettered_at),
            });
        }
        let capacity = bus.config.dead_letter_capacity;
        let (store, _evicted) = DeadLetterStore::from_parts(
            capacity,
            entries,
            snapshot.next_dead_letter,
            snapshot.counters.dead_letters_evicted,
        )
        .map_err(|reason| corrupt(String::from(reason)))?;
        bus.dead = store;

        bus.next_message = snapshot.last_message;
        bus.next_order = snapshot.next_order;
        bus.rng = snapshot.rng;
        // Inserted one by one rather than collected: `collect` into a B-tree sorts with its own
        // copy of the stable sort (kilobytes of WebAssembly). A repeated key keeps its last value
        // either way.
        bus.groups.clear();
        for (group, cursor) in snapshot.groups {
            bus.groups.insert(group, cursor);
        }
        let counters = snapshot.counters;
        bus.totals = counters.totals;
        bus.late_settles = counters.late_settles;
        bus.cascades_refused = counters.cascades_refused;
        bus.publishes_rejected = counters.publishes_rejected;
        bus.reclaimed = counters.reclaimed;
        bus.expired = counters.expired;
        bus.leaks.suspected = counters.leaks_suspected;
        bus.leaks.released.clear();
        bus.leaks.released.extend(snapshot.released_owners);

        Ok(Restored {
            bus,
            subscriptions: mapping,
        })
    }
}

/// Moves `t` from a timeline where the bus clock read `clock` to one where it reads `now`.
fn rebase(t: Instant, clock: Instant, now: Instant) -> Instant {
    let (t, clock, now) = (t.as_micros(), clock.as_micros(), now.as_micros());
    if now >= clock {
        Instant::from_micros(t.saturating_add(now - clock))
    } else {
        Instant::from_micros(t.saturating_sub(clock - now))
    }
}

/// Arms the timers a restored subscription needs: retry waits, breaker cooldown, TTLs and
/// the idle watch. (Batch windows are armed by `refresh`.)
fn arm_timers<P>(bus: &mut Bus<P>, k: Key) {
    let idle_after = bus.config.idle_after;
    let Some(sub) = bus.subs.get(k) else { return };
    let mut timers: Vec<(Instant, Timer)> = Vec::new();
    timers.extend(sub.retry_at.map(|at| (at, Timer::Wake(k))));
    timers.extend(sub.delayed.iter().map(|(due, _)| (*due, Timer::Wake(k))));
    timers.extend(
        sub.breaker
            .as_ref()
            .and_then(|b| b.next_deadline())
            .map(|at| (at, Timer::Wake(k))),
    );
    let items = sub.queue.iter().chain(sub.delayed.iter().map(|(_, q)| q));
    timers.extend(items.filter_map(|q| {
        q.message
            .expires_at
            .map(|at| (at, Timer::Expiry(k, q.message.id.0)))
    }));
    if let Some(idle_after) = idle_after {
        timers.extend(sub.idle.deadline(idle_after).map(|at| (at, Timer::Idle(k))));
    }
    for (at, timer) in timers {
        bus.timers.arm(at, timer);
    }
}

/// Checks a snapshot's internal consistency without building anything.
fn validate<E>(snapshot: &Snapshot<E>) -> Result<(), SnapshotError> {
    // Topics: unique, valid names.
    let mut topics: BTreeMap<&str, &TopicSnapshot> = BTreeMap::new();
    for topic in &snapshot.topics {
        validate_topic(&topic.name).map_err(|e| corrupt(format!("topic `{}` {e}", topic.name)))?;
        if topics.insert(&topic.name, topic).is_some() {
            return Err(corrupt(format!("topic `{}` appears twice", topic.name)));
        }
    }

    // Messages: unique ids within the sequence handed out, on known topics.
    let mut messages: BTreeMap<u64, &str> = BTreeMap::new();
    for m in &snapshot.messages {
        if m.id.0 == 0 || m.id.0 > snapshot.last_message {
            return Err(corrupt(format!(
                "message id {} is outside the sequence handed out (1..={})",
                m.id.0, snapshot.last_message
            )));
        }
        let Some(topic) = topics.get(m.topic.as_str()) else {
            return Err(corrupt(format!(
                "message {} names unknown topic `{}`",
                m.id.0, m.topic
            )));
        };
        if m.topic_seq == 0 || m.topic_seq > topic.seq {
            return Err(corrupt(format!(
                "message {} has topic sequence {} beyond its topic's",
                m.id.0, m.topic_seq
            )));
        }
        if messages.insert(m.id.0, &m.topic).is_some() {
            return Err(corrupt(format!("message {} appears twice", m.id.0)));
        }
    }
    let mut referenced: BTreeSet<u64> = BTreeSet::new();
    let mut reference = |id: MessageId, by: &dyn fmt::Display| -> Result<(), SnapshotError> {
        if messages.contains_key(&id.0) {
            referenced.insert(id.0);
            Ok(())
        } else {
            Err(corrupt(format!(
                "{by} names message {}, which is not in the snapshot",
                id.0
            )))
        }
    };
    for topic in &snapshot.topics {
        for id in &topic.retained {
            reference(
                *id,
                &format_args!("retained list of topic `{}`", topic.name),
            )?;
            if messages.get(&id.0) != Some(&topic.name.as_str()) {
                return Err(corrupt(format!(
                    "topic `{}` retains message {} of another topic",
                    topic.name, id.0
                )));
            }
        }
    }

    // Subscriptions.
    // Ids as their bits, so this set shares the `BTreeSet<u64>` code of the others.
    let mut ids: BTreeSet<u64> = BTreeSet::new();
    let mut orders: BTreeSet<u64> = BTreeSet::new();
    for s in &snapshot.subscriptions {
        let name = SubscriptionName(s.id);
        if !ids.insert(s.id.to_bits()) {
            return Err(corrupt(format!("{name} appears twice")));
        }
        if s.order >= snapshot.next_order || !orders.insert(s.order) {
            return Err(corrupt(format!(
                "{name} has a duplicate or unissued creation order {}",
                s.order
            )));
        }
        let pattern = Pattern::parse(&s.pattern)
            .map_err(|e| corrupt(format!("{name} pattern `{}` {e}", s.pattern)))?;
        validate_subscription(s).map_err(|e| corrupt(format!("{name} option {e}")))?;
        let depth = s.queue.len().saturating_add(s.delayed.len());
        if depth > s.capacity {
            return Err(corrupt(format!(
                "{name} holds {depth} messages, over its capacity {}",
                s.capacity
            )));
        }
        for q in s.queue.iter().chain(s.delayed.iter().map(|(_, q)| q)) {
            reference(q.message, &format_args!("the queue of {name}"))?;
            if let Some(topic) = messages.get(&q.message.0) {
                if !pattern.matches(topic) {
                    return Err(corrupt(format!(
                        "{name} queues message {} on topic `{topic}`, which its pattern does not match",
                        q.message.0
                    )));
                }
            }
            if q.attempt == 0 {
                return Err(corrupt(format!(
                    "{name} queues message {} at attempt 0",
                    q.message.0
                )));
            }
        }
    }

    // Dead letters: unique increasing ids below the counter.
    let mut previous = 0u64;
    for d in &snapshot.dead_letters {
        if d.id.0 <= previous || d.id.0 >= snapshot.next_dead_letter {
            return Err(corrupt(format!(
                "dead letter id {} is duplicated, out of order or unissued",
                d.id.0
            )));
        }
        previous = d.id.0;
        reference(d.message, &format_args!("dead letter {}", d.id.0))?;
    }

    if let Some(unused) = messages.keys().find(|id| !referenced.contains(id)) {
        return Err(corrupt(format!(
            "message {unused} is stored but nothing refers to it"
        )));
    }
    Ok(())
}

/// Displays a subscription id as `subscription 3v1` (index, generation) in errors.
struct SubscriptionName(SubscriptionId);

impl fmt::Display for SubscriptionName {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "subscription {}v{}", self.0.index, self.0.generation)
    }
}

/// The option checks `Bus::subscribe` applies, on stored settings.
fn validate_subscription(s: &SubscriptionSnapshot) -> Result<(), ConfigError> {
    if s.capacity == 0 {
        return Err(ConfigError::new("capacity", "must be at least 1"));
    }
    if s.concurrency == 0 {
        return Err(ConfigError::new("concurrency", "must be at least 1"));
    }
    if s.max_deliveries == Some(0) {
        return Err(ConfigError::new("max_deliveries", "must be at least 1"));
    }
    if let DeliveryStrategy::Batched { size: 0, .. } = s.delivery {
        return Err(ConfigError::new("delivery.size", "must be at least 1"));
    }
    s.retry.validate().map_err(|e| e.within("retry"))?;
    if let Some(breaker) = &s.breaker {
        breaker
            .policy()
            .validate()
            .map_err(|e| e.within("breaker"))?;
    }
    if s.weak && s.owner.is_none() {
        return Err(ConfigError::new("weak", "needs an owner"));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::breaker::BreakerPolicy;
    use crate::delivery::{Delivery, Outcome};
    use crate::error::RedriveError;
    use crate::message::PublishOptions;
    use crate::retry::Jitter;
    use crate::subscription::SubscribeOptions;
    use alloc::string::ToString;
    use alloc::vec;

    fn ms(millis: u64) -> Instant {
        Instant::from_millis(millis)
    }

    fn config() -> Config {
        Config {
            retain: 2,
            retry: RetryPolicy {
                max_attempts: 3,
                backoff: Duration::from_millis(100),
                factor: 2.0,
                max_backoff: Duration::from_secs(1),
                jitter: Jitter::Full,
            },
            ..Config::default()
        }
    }

    fn publish(bus: &mut Bus<String>, topic: &str, payload: &str, now: Instant) {
        bus.publish(topic, payload.to_string(), PublishOptions::default(), now)
            .unwrap();
    }

    fn to_json(bus: &Bus<String>) -> String {
        serde_json::to_string(&bus.snapshot(&SerdeCodec).unwrap()).unwrap()
    }

    fn from_json(json: &str) -> Snapshot<String> {
        serde_json::from_str(json).unwrap()
    }

    /// Drives a bus to quiescence, completing every delivery as delivered, and returns
    /// (subscription, payload, attempt) in delivery order.
    fn drain(bus: &mut Bus<String>, mut now: Instant) -> Vec<(SubscriptionId, String, u32)> {
        let mut log = Vec::new();
        for _ in 0..1_000 {
            if let Some(delivery) = bus.poll_delivery(now) {
                let Delivery {
                    token,
                    subscription,
                    items,
                    ..
                } = delivery;
                for item in items {
                    log.push((subscription, item.message.payload.clone(), item.attempt));
                }
                bus.complete(token, Outcome::Delivered, now).unwrap();
            } else if let Some(next) = bus.poll_timeout() {
                now = now.max(next);
                bus.handle_timeout(now);
            } else {
                break;
            }
        }
        log
    }

    /// A bus with something in every corner: queued messages, an in-flight delivery, a strict
    /// retry wait, a relaxed retry, an open breaker, a paused subscription, dead letters
    /// (one of a removed subscription), retained messages and counters.
    fn busy_bus() -> (Bus<String>, Vec<SubscriptionId>) {
        let t0 = ms(1_000);
        let mut bus: Bus<String> = Bus::new(config()).unwrap();
        let gone = bus
            .subscribe("orders.eu", SubscribeOptions::default(), t0)
            .unwrap();
        let strict = bus
            .subscribe(
                "orders.*",
                SubscribeOptions {
                    name: Some("strict".into()),
                    ..Default::default()
                },
                t0,
            )
            .unwrap();
        let relaxed = bus
            .subscribe(
                "orders.**",
                SubscribeOptions {
                    ordering: OrderingMode::Relaxed,
                    priority: 5,
                    ..Default::default()
                },
                t0,
            )
            .unwrap();
        let breaker = bus
            .subscribe(
                "audit",
                SubscribeOptions {
                    breaker: Some(BreakerPolicy {
                        failures: 1,
                        cooldown: Duration::from_secs(5),
                        failure_ratio: None,
                    }),
                    retry: Some(RetryPolicy {
                        max_attempts: 1,
                        ..RetryPolicy::default()
                    }),
                    ..Default::default()
                },
                t0,
            )
            .unwrap();
        let paused = bus
            .subscribe("orders.us", SubscribeOptions::default(), t0)
            .unwrap();
        bus.pause(paused, t0).unwrap();

        // A dead letter for `gone`, which is then removed.
        bus.publish(
            "orders.eu",
            "eu-1".to_string(),
            PublishOptions::default(),
            t0,
        )
        .unwrap();
        let mut now = t0;
        while let Some(d) = bus.poll_delivery(now) {
            let outcome = if d.subscription == gone {
                Outcome::Rejected("no".into())
            } else {
                Outcome::Delivered
            };
            bus.complete(d.token, outcome, now).unwrap();
        }
        bus.unsubscribe(gone, now);

        // The audit breaker opens after one failure; its message is dead-lettered.
        publish(&mut bus, "audit", "audit-1", now);
        publish(&mut bus, "audit", "audit-2", now);
        let d = bus.poll_delivery(now).unwrap();
        assert_eq!(d.subscription, breaker);
        bus.complete(d.token, Outcome::Failed("audit down".into()), now)
            .unwrap();

        // strict + relaxed: one failure each (retry waits), more queued behind.
        now = ms(1_010);
        publish(&mut bus, "orders.us", "us-1", now);
        publish(&mut bus, "orders.us", "us-2", now);
        publish(&mut bus, "orders.us", "us-3", now);
        let first = bus.poll_delivery(now).unwrap();
        assert_eq!(first.subscription, relaxed);
        bus.complete(first.token, Outcome::Failed("relaxed boom".into()), now)
            .unwrap();
        let second = bus.poll_delivery(now).unwrap();
        assert_eq!(second.subscription, strict);
        bus.complete(second.token, Outcome::Failed("strict boom".into()), now)
            .unwrap();
        // An async delivery left pending (in flight) on `relaxed`.
        let pending = bus.poll_delivery(now).unwrap();
        assert_eq!(pending.subscription, relaxed);
        bus.complete(pending.token, Outcome::Pending, now).unwrap();
        (bus, vec![strict, relaxed, breaker, paused])
    }

    /// `snapshot` with the old subscription ids replaced through `mapping`.
    fn renumbered(
        mut snapshot: Snapshot<String>,
        mapping: &[(SubscriptionId, SubscriptionId)],
    ) -> Snapshot<String> {
        let map = |id: SubscriptionId| {
            mapping
                .iter()
                .find(|(o, _)| *o == id)
                .map_or(id, |(_, n)| *n)
        };
        for s in &mut snapshot.subscriptions {
            s.id = map(s.id);
        }
        for d in &mut snapshot.dead_letters {
            d.subscription = map(d.subscription);
        }
        snapshot
    }

    #[test]
    fn a_json_round_trip_keeps_every_queued_message_dead_letter_retained_message_and_counter() {
        let (bus, _) = busy_bus();
        let before = bus.snapshot(&SerdeCodec).unwrap();
        let json = serde_json::to_string(&before).unwrap();
        let restored = Bus::restore(config(), from_json(&json), &SerdeCodec, before.clock).unwrap();
        let after = restored.bus.snapshot(&SerdeCodec).unwrap();
        assert_eq!(after, renumbered(before.clone(), &restored.subscriptions));

        // Spot checks of what the equality covers.
        let metrics = restored.bus.metrics();
        let original = bus.metrics();
        assert_eq!(metrics.totals, original.totals);
        assert_eq!(
            metrics.queued,
            original.queued + original.in_flight_messages,
            "in-flight items are queued again"
        );
        assert_eq!(metrics.in_flight, 0);
        assert_eq!(metrics.dead_letters, 2);
        assert_eq!(metrics.dead_letters, original.dead_letters);
        assert_eq!(metrics.topics, original.topics);
        assert_eq!(metrics.breakers_open, 1);
        let retained: usize = restored
            .bus
            .topics
            .entries
            .iter()
            .map(|t| t.retained.len())
            .sum();
        assert_eq!(
            retained,
            2 + 2 + 1,
            "orders.us keeps 2 of 3, audit 2, orders.eu 1"
        );
        for (old, new) in &restored.subscriptions {
            let (a, b) = (
                bus.subscription(*old).unwrap(),
                restored.bus.subscription(*new).unwrap(),
            );
            assert_eq!(
                (a.pattern, a.name, a.paused, a.stats.counters),
                (b.pattern, b.name, b.paused, b.stats.counters)
            );
        }
    }

    #[test]
    fn a_restored_bus_delivers_exactly_what_the_original_still_owed() {
        let (bus, subs) = busy_bus();
        let relaxed = subs[1];
        let snapshot = bus.snapshot(&SerdeCodec).unwrap();
        let clock = snapshot.clock;
        let json = serde_json::to_string(&snapshot).unwrap();
        let mut restored = Bus::restore(config(), from_json(&json), &SerdeCodec, clock).unwrap();

        // The pending delivery (us-2 on `relaxed`) died with the page; it comes back queued.
        let in_flight: Vec<&str> = bus
            .in_flight
            .iter()
            .flat_map(|(_, e)| e.items.iter())
            .map(|q| q.message.payload.as_str())
            .collect();
        assert_eq!(in_flight, ["us-2"]);

        let new_relaxed = restored.new_id(relaxed).unwrap();
        let mut log = drain(&mut restored.bus, clock);
        log.sort();
        let mut expected: Vec<(SubscriptionId, String, u32)> = vec![
            // relaxed: us-2 back from flight (attempt 1), us-1 retried (attempt 2), us-3.
            (new_relaxed, "us-1".into(), 2),
            (new_relaxed, "us-2".into(), 1),
            (new_relaxed, "us-3".into(), 1),
            // strict: us-1 retried, then us-2 and us-3 in order.
            (restored.new_id(subs[0]).unwrap(), "us-1".into(), 2),
            (restored.new_id(subs[0]).unwrap(), "us-2".into(), 1),
            (restored.new_id(subs[0]).unwrap(), "us-3".into(), 1),
            // breaker: audit-2 after the cooldown.
            (restored.new_id(subs[2]).unwrap(), "audit-2".into(), 1),
        ];
        expected.sort();
        assert_eq!(log, expected);
        // The paused subscription still holds its three messages.
        let paused = restored
            .bus
            .subscription(restored.new_id(subs[3]).unwrap())
            .unwrap();
        assert_eq!((paused.paused, paused.depth), (true, 3));
    }

    #[test]
    fn strict_order_survives_a_restore() {
        let (bus, subs) = busy_bus();
        let json = to_json(&bus);
        let snapshot = from_json(&json);
        let clock = snapshot.clock;
        let mut restored = Bus::restore(config(), snapshot, &SerdeCodec, clock).unwrap();
        let strict = restored.new_id(subs[0]).unwrap();
        let log = drain(&mut restored.bus, clock);
        let strict_order: Vec<&str> = log
            .iter()
            .filter(|(s, _, _)| *s == strict)
            .map(|(_, p, _)| p.as_str())
            .collect();
        assert_eq!(strict_order, ["us-1", "us-2", "us-3"]);
    }

    #[test]
    fn instants_move_onto_the_new_clock() {
        let (bus, subs) = busy_bus();
        let snapshot = bus.snapshot(&SerdeCodec).unwrap();
        let clock = snapshot.clock;
        let strict_retry = bus.subs.get(key(subs[0])).unwrap().retry_at.unwrap();
        let breaker_until = bus.subscription(subs[2]).unwrap().breaker;
        // The page reloaded: the host's clock restarted near zero.
        let now = ms(3);
        let restored = Bus::restore(config(), snapshot, &SerdeCodec, now).unwrap();
        let shift =
            |t: Instant| Instant::from_micros(t.as_micros() - clock.as_micros() + now.as_micros());
        let new_strict = restored
            .bus
            .subs
            .get(key(restored.new_id(subs[0]).unwrap()))
            .unwrap();
        assert_eq!(new_strict.retry_at, Some(shift(strict_retry)));
        let crate::BreakerState::Open { until } = breaker_until else {
            panic!("breaker should be open")
        };
        assert_eq!(
            restored
                .bus
                .subscription(restored.new_id(subs[2]).unwrap())
                .unwrap()
                .breaker,
            crate::BreakerState::Open {
                until: shift(until)
            }
        );
        let due = restored.bus.poll_timeout().unwrap();
        assert!(due >= now && due <= shift(strict_retry), "{due:?}");
    }

    #[test]
    fn dead_letters_follow_their_subscription_to_its_new_id_and_can_be_redriven() {
        let (bus, subs) = busy_bus();
        let snapshot = bus.snapshot(&SerdeCodec).unwrap();
        let clock = snapshot.clock;
        let mut restored = Bus::restore(config(), snapshot, &SerdeCodec, clock).unwrap();
        let audit = restored.new_id(subs[2]).unwrap();
        let letters: Vec<(DeadLetterId, SubscriptionId, String)> = restored
            .bus
            .dead_letters()
            .map(|d| (d.id, d.subscription, d.message.payload.clone()))
            .collect();
        assert_eq!(letters.len(), 2);
        let (gone_id, gone_sub, gone_payload) = letters[0].clone();
        assert_eq!(
            (gone_sub, gone_payload.as_str()),
            (GONE_SUBSCRIPTION, "eu-1")
        );
        assert_eq!(letters[1].1, audit);
        assert_eq!(
            restored.bus.redrive(gone_id, clock),
            Err(RedriveError::SubscriptionGone(GONE_SUBSCRIPTION)),
            "the removed subscription stays gone"
        );
        assert_eq!(restored.bus.redrive(letters[1].0, clock), Ok(()));
        assert_eq!(restored.bus.subscription(audit).unwrap().depth, 2);
    }

    #[test]
    fn each_message_is_stored_once_and_shared_again_after_restore() {
        let mut bus: Bus<String> = Bus::new(Config::default()).unwrap();
        let t0 = ms(0);
        for _ in 0..3 {
            bus.subscribe("a.**", SubscribeOptions::default(), t0)
                .unwrap();
        }
        publish(&mut bus, "a.b", "shared", t0);
        let snapshot = bus.snapshot(&SerdeCodec).unwrap();
        assert_eq!(snapshot.messages.len(), 1);
        let restored = Bus::restore(Config::default(), snapshot, &SerdeCodec, t0).unwrap();
        let queued: Vec<&Arc<Envelope<String>>> = restored
            .bus
            .subs
            .iter()
            .flat_map(|(_, s)| s.queue.iter().map(|q| &q.message))
            .collect();
        assert_eq!(queued.len(), 3);
        assert!(queued.iter().all(|m| Arc::ptr_eq(m, queued[0])));
    }

    #[test]
    fn publishing_after_restore_continues_every_sequence() {
        let (bus, _) = busy_bus();
        let snapshot = bus.snapshot(&SerdeCodec).unwrap();
        let clock = snapshot.clock;
        let last = snapshot.last_message;
        let mut restored = Bus::restore(config(), snapshot, &SerdeCodec, clock).unwrap();
        let published = restored
            .bus
            .publish("orders.us", "us-4".into(), PublishOptions::default(), clock)
            .unwrap();
        assert_eq!(published.id, MessageId(last + 1));
        assert_eq!(published.topic_seq, 4);
        let subscribed = restored
            .bus
            .subscribe("x", SubscribeOptions::default(), clock)
            .unwrap();
        assert_eq!(restored.bus.subscription(subscribed).unwrap().order, 5);
    }

    #[test]
    fn a_snapshot_from_a_newer_version_is_refused() {
        let (bus, _) = busy_bus();
        let mut snapshot = bus.snapshot(&SerdeCodec).unwrap();
        snapshot.version = SNAPSHOT_VERSION + 1;
        let error = Bus::restore(config(), snapshot, &SerdeCodec, ms(0)).unwrap_err();
        assert_eq!(
            error,
            SnapshotError::NewerVersion {
                found: SNAPSHOT_VERSION + 1,
                supported: SNAPSHOT_VERSION
            }
        );
        assert_eq!(
            error.to_string(),
            "snapshot format version 2 is newer than the newest this build reads (1)"
        );
    }

    fn refused(edit: impl FnOnce(&mut Snapshot<String>)) -> String {
        let (bus, _) = busy_bus();
        let mut snapshot = bus.snapshot(&SerdeCodec).unwrap();
        edit(&mut snapshot);
        match Bus::restore(config(), snapshot, &SerdeCodec, ms(0)) {
            Err(SnapshotError::Corrupt(reason)) => reason,
            other => panic!(
                "expected a corrupt snapshot, got {:?}",
                other.map(|r| r.subscriptions)
            ),
        }
    }

    #[test]
    fn a_queued_message_missing_from_the_snapshot_is_refused() {
        let reason = refused(|s| {
            let id = s.subscriptions[0].queue[0].message;
            s.messages.retain(|m| m.id != id);
        });
        assert!(reason.contains("not in the snapshot"), "{reason}");
    }

    #[test]
    fn duplicate_subscription_ids_are_refused() {
        let reason = refused(|s| s.subscriptions[1].id = s.subscriptions[0].id);
        assert!(reason.contains("appears twice"), "{reason}");
    }

    #[test]
    fn duplicate_messages_and_dead_letter_ids_are_refused() {
        let reason = refused(|s| {
            let copy = s.messages[0].clone();
            s.messages.push(copy);
        });
        assert!(reason.contains("appears twice"), "{reason}");
        let reason = refused(|s| s.dead_letters[1].id = s.dead_letters[0].id);
        assert!(reason.contains("dead letter id"), "{reason}");
    }

    #[test]
    fn inconsistent_sequences_and_options_are_refused() {
        assert!(refused(|s| s.last_message = 1).contains("outside the sequence"));
        assert!(refused(|s| s.topics[0].seq = 0).contains("topic sequence"));
        assert!(refused(|s| s.next_order = 0).contains("creation order"));
        assert!(refused(|s| s.subscriptions[0].pattern = "a..b".into()).contains("pattern"));
        assert!(refused(|s| s.subscriptions[0].capacity = 1).contains("over its capacity"));
        assert!(
            refused(|s| s.subscriptions[0].retry.max_attempts = 0).contains("retry.max_attempts")
        );
        assert!(refused(|s| s.subscriptions[0].queue[0].attempt = 0).contains("attempt 0"));
        assert!(refused(|s| s.next_dead_letter = 1).contains("dead letter id"));
        assert!(refused(|s| s.version = 0).contains("version 0"));
        assert!(
            refused(|s| s.subscriptions[0].pattern = "elsewhere".into()).contains("does not match")
        );
        assert!(refused(|s| {
            let topic = s.topics.iter().position(|t| t.name == "audit").unwrap();
            let other = s.messages.iter().find(|m| m.topic != "audit").unwrap().id;
            s.topics[topic].retained.push(other);
        })
        .contains("of another topic"));
    }

    #[test]
    fn an_unreferenced_message_is_refused() {
        let reason = refused(|s| {
            let mut extra = s.messages[0].clone();
            extra.id = MessageId(s.last_message);
            s.messages.retain(|m| m.id != extra.id);
            s.messages.push(extra.clone());
            for sub in &mut s.subscriptions {
                sub.queue.retain(|q| q.message != extra.id);
                sub.delayed.retain(|(_, q)| q.message != extra.id);
            }
            for topic in &mut s.topics {
                topic.retained.retain(|id| *id != extra.id);
            }
            s.dead_letters.retain(|d| d.message != extra.id);
        });
        assert!(reason.contains("nothing refers to it"), "{reason}");
    }

    /// Payloads are `u32` on the bus and text in the snapshot; "bad" text fails to decode.
    struct Text;
    impl PayloadCodec<u32> for Text {
        type Encoded = String;
        fn encode(&self, payload: &u32) -> Result<String, String> {
            if *payload == 666 {
                Err("unencodable".into())
            } else {
                Ok(payload.to_string())
            }
        }
        fn decode(&self, text: String) -> Result<u32, String> {
            text.parse()
                .map_err(|_| format!("`{text}` is not a number"))
        }
    }

    #[test]
    fn a_payload_that_fails_to_decode_refuses_the_whole_restore() {
        let mut bus: Bus<u32> = Bus::new(Config::default()).unwrap();
        bus.subscribe("n", SubscribeOptions::default(), ms(0))
            .unwrap();
        for n in [1, 2, 3] {
            bus.publish("n", n, PublishOptions::default(), ms(0))
                .unwrap();
        }
        let mut snapshot = bus.snapshot(&Text).unwrap();
        assert_eq!(
            snapshot
                .messages
                .iter()
                .map(|m| m.payload.as_str())
                .collect::<Vec<_>>(),
            ["1", "2", "3"]
        );
        snapshot.messages[1].payload = "two".into();
        let error = Bus::restore(Config::default(), snapshot, &Text, ms(0)).unwrap_err();
        assert_eq!(
            error,
            SnapshotError::Payload("message 2: `two` is not a number".into())
        );
    }

    #[test]
    fn a_payload_that_fails_to_encode_fails_the_snapshot_and_changes_nothing() {
        let mut bus: Bus<u32> = Bus::new(Config::default()).unwrap();
        bus.subscribe("n", SubscribeOptions::default(), ms(0))
            .unwrap();
        bus.publish("n", 666, PublishOptions::default(), ms(0))
            .unwrap();
        assert_eq!(
            bus.snapshot(&Text).unwrap_err(),
            SnapshotError::Payload("message 1: unencodable".into())
        );
        assert_eq!(bus.metrics().queued, 1);
    }

    #[test]
    fn an_invalid_config_is_refused_naming_the_field() {
        let (bus, _) = busy_bus();
        let snapshot = bus.snapshot(&SerdeCodec).unwrap();
        let error = Bus::restore(
            Config {
                capacity: 0,
                ..config()
            },
            snapshot,
            &SerdeCodec,
            ms(0),
        )
        .unwrap_err();
        assert_eq!(
            error,
            SnapshotError::InvalidConfig(ConfigError::new("capacity", "must be at least 1"))
        );
        assert_eq!(
            error.to_string(),
            "invalid configuration: `capacity` must be at least 1"
        );
    }

    #[test]
    fn a_smaller_dead_letter_store_evicts_the_oldest_and_counts_them() {
        let (bus, _) = busy_bus();
        let snapshot = bus.snapshot(&SerdeCodec).unwrap();
        let restored = Bus::restore(
            Config {
                dead_letter_capacity: 1,
                ..config()
            },
            snapshot,
            &SerdeCodec,
            ms(0),
        )
        .unwrap();
        let metrics = restored.bus.metrics();
        assert_eq!((metrics.dead_letters, metrics.dead_letters_evicted), (1, 1));
    }

    #[test]
    fn an_empty_bus_round_trips() {
        let bus: Bus<String> = Bus::new(Config::default()).unwrap();
        let json = to_json(&bus);
        let restored =
            Bus::restore(Config::default(), from_json(&json), &SerdeCodec, ms(0)).unwrap();
        assert!(restored.subscriptions.is_empty());
        assert!(restored.bus.is_idle());
        assert_eq!(restored.bus.metrics(), bus.metrics());
    }

    #[test]
    fn corrupt_errors_display_their_reason() {
        assert_eq!(
            SnapshotError::Corrupt("x".into()).to_string(),
            "corrupt snapshot: x"
        );
        assert_eq!(
            SnapshotError::Payload("y".into()).to_string(),
            "payload codec failed: y"
        );
    }

    mod restore_is_invisible {
        //! Property: snapshotting and restoring a quiescent-host bus (no delivery in flight)
        //! at any point changes nothing the host can observe afterwards.
        use super::*;
        use proptest::prelude::*;

        const PATTERNS: [&str; 4] = ["a", "a.*", "**", "*.c"];
        const TOPICS: [&str; 3] = ["a", "a.b", "b.c"];

        #[derive(Clone, Debug)]
        enum Op {
            Subscribe {
                pattern: usize,
                relaxed: bool,
                breaker: bool,
                batched: bool,
            },
            Publish {
                topic: usize,
                ttl: bool,
            },
            Deliver,
            Advance(u64),
        }

        fn op() -> impl Strategy<Value = Op> {
            prop_oneof![
                1 => (0..PATTERNS.len(), any::<bool>(), any::<bool>(), any::<bool>())
                    .prop_map(|(pattern, relaxed, breaker, batched)| Op::Subscribe { pattern, relaxed, breaker, batched }),
                3 => (0..TOPICS.len(), any::<bool>()).prop_map(|(topic, ttl)| Op::Publish { topic, ttl }),
                3 => Just(Op::Deliver),
                1 => (1..80u64).prop_map(Op::Advance),
            ]
        }

        /// The host's handler: fails every payload divisible by 3, rejects those divisible by 7.
        fn outcome(payload: u32) -> Outcome {
            match payload {
                p if p % 7 == 0 => Outcome::Rejected("seven".into()),
                p if p % 3 == 0 => Outcome::Failed("three".into()),
                _ => Outcome::Delivered,
            }
        }

        /// One handler call: the subscription, its (payload, attempt) items, and when.
        type Handled = (SubscriptionId, Vec<(u32, u32)>, Instant);

        fn handle_one(
            bus: &mut Bus<u32>,
            now: Instant,
        ) -> Option<(SubscriptionId, Vec<(u32, u32)>)> {
            let delivery = bus.poll_delivery(now)?;
            let items = delivery
                .items
                .iter()
                .map(|i| (i.message.payload, i.attempt))
                .collect();
            let first = delivery.items[0].message.payload;
            bus.complete(delivery.token, outcome(first), now).unwrap();
            Some((delivery.subscription, items))
        }

        fn drain(bus: &mut Bus<u32>, mut now: Instant) -> Vec<Handled> {
            let mut log = Vec::new();
            for _ in 0..10_000 {
                if let Some((sub, items)) = handle_one(bus, now) {
                    log.push((sub, items, now));
                } else if let Some(next) = bus.poll_timeout() {
                    now = now.max(next);
                    bus.handle_timeout(now);
                } else {
                    break;
                }
            }
            log
        }

        fn config() -> Config {
            Config {
                retain: 1,
                dead_letter_capacity: 3,
                retry: RetryPolicy {
                    max_attempts: 3,
                    backoff: Duration::from_millis(10),
                    factor: 2.0,
                    max_backoff: Duration::from_millis(50),
                    jitter: Jitter::Full,
                },
                ..Config::default()
            }
        }

        proptest! {
            #![proptest_config(ProptestConfig { cases: 128, ..ProptestConfig::default() })]
            #[test]
            fn a_restored_bus_behaves_exactly_like_the_original(ops in prop::collection::vec(op(), 1..60), through_json in any::<bool>()) {
                let mut bus: Bus<u32> = Bus::new(config()).unwrap();
                let mut now = Instant::from_millis(1);
                let mut payload = 0u32;
                for op in ops {
                    match op {
                        Op::Subscribe { pattern, relaxed, breaker, batched } => {
                            let options = SubscribeOptions {
                                ordering: if relaxed { OrderingMode::Relaxed } else { OrderingMode::Strict },
                                breaker: breaker.then_some(BreakerPolicy { failures: 2, cooldown: Duration::from_millis(30), failure_ratio: None }),
                                delivery: if batched {
                                    DeliveryStrategy::Batched { size: 2, max_wait: Duration::from_millis(15) }
                                } else {
                                    DeliveryStrategy::Immediate
                                },
                                capacity: Some(4),
                                overflow: Some(if pattern % 2 == 0 { Overflow::DropOldest } else { Overflow::DropNewest }),
                                ..SubscribeOptions::default()
                            };
                            bus.subscribe(PATTERNS[pattern], options, now).unwrap();
                        }
                        Op::Publish { topic, ttl } => {
                            payload += 1;
                            let options = PublishOptions { ttl: ttl.then_some(Duration::from_millis(25)), ..PublishOptions::default() };
                            bus.publish(TOPICS[topic], payload, options, now).unwrap();
                        }
                        Op::Deliver => {
                            handle_one(&mut bus, now);
                        }
                        Op::Advance(by) => {
                            now = now.saturating_add(Duration::from_millis(by));
                            bus.handle_timeout(now);
                        }
                    }
                }
                let snapshot = bus.snapshot(&SerdeCodec).unwrap();
                let snapshot = if through_json {
                    serde_json::from_str(&serde_json::to_string(&snapshot).unwrap()).unwrap()
                } else {
                    snapshot
                };
                let mut restored = Bus::restore(config(), snapshot, &SerdeCodec, bus.now).unwrap();
                let clock = bus.now;
                let original_log = drain(&mut bus, clock);
                let restored_log: Vec<_> = drain(&mut restored.bus, clock)
                    .into_iter()
                    .map(|(new, items, at)| {
                        let old = restored.subscriptions.iter().find(|(_, n)| *n == new).map(|(o, _)| *o).unwrap();
                        (old, items, at)
                    })
                    .collect();
                prop_assert_eq!(&original_log, &restored_log);
                let (a, b) = (bus.metrics(), restored.bus.metrics());
                prop_assert_eq!(a.totals, b.totals);
                prop_assert_eq!(a.topics, b.topics);
                prop_assert_eq!((a.dead_letters, a.dead_letters_evicted, a.expired), (b.dead_letters, b.dead_letters_evicted, b.expired));
                let dead_a: Vec<_> = bus.dead_letters().map(|d| (d.id, d.message.payload, d.attempts, d.reason)).collect();
                let dead_b: Vec<_> = restored.bus.dead_letters().map(|d| (d.id, d.message.payload, d.attempts, d.reason)).collect();
                prop_assert_eq!(dead_a, dead_b);
            }
        }
    }
}
